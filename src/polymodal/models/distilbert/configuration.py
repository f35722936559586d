"""``DistilBertConfig``: Transformers' field names (``dim``, ``n_layers`` …) and defaults."""

from __future__ import annotations

from typing import ClassVar

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class DistilBertConfig(PretrainedConfig):
    model_type = "distilbert"
    # The generic names the rest of the library (and Transformers) use
    attribute_map: ClassVar[dict[str, str]] = {"hidden_size": "dim", "num_attention_heads": "n_heads",
                                               "num_hidden_layers": "n_layers"}

    vocab_size: int = 30522
    max_position_embeddings: int = 512
    sinusoidal_pos_embds: bool = False
    n_layers: int = 6
    n_heads: int = 12
    dim: int = 768
    hidden_dim: int = 4 * 768
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation: str = "gelu"
    initializer_range: float = 0.02
    qa_dropout: float = 0.1
    seq_classif_dropout: float = 0.2
    pad_token_id: int | None = 0
    eos_token_id: int | None = None
    bos_token_id: int | None = None
    tie_word_embeddings: bool = True

    def validate(self) -> None:
        if self.n_heads <= 0 or self.dim % self.n_heads:
            raise ConfigError(f"dim={self.dim} is not a multiple of n_heads={self.n_heads}; pick sizes that divide.")
