"""``BioGptConfig``: Transformers' fields and defaults (microsoft/biogpt)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class BioGptConfig(PretrainedConfig):
    model_type = "biogpt"

    vocab_size: int = 42384
    hidden_size: int = 1024
    num_hidden_layers: int = 24
    num_attention_heads: int = 16
    intermediate_size: int = 4096
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 1024
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12  # declared by the reference but unused: its LayerNorms keep eps=1e-5
    scale_embedding: bool = True
    use_cache: bool = True
    layerdrop: float = 0.0
    activation_dropout: float = 0.0
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2
    tie_word_embeddings: bool = True

    def validate(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"hidden_size={self.hidden_size} must be divisible by num_attention_heads={self.num_attention_heads}."
            )
