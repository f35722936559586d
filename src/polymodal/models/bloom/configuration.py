"""``BloomConfig``: Transformers' fields and defaults (the tiny test size Transformers ships)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class BloomConfig(PretrainedConfig):
    model_type = "bloom"
    attribute_map = {"num_hidden_layers": "n_layer", "num_attention_heads": "n_head"}

    vocab_size: int = 250880
    hidden_size: int = 64
    n_layer: int = 2
    n_head: int = 8
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    use_cache: bool = True
    bos_token_id: int | None = 1
    eos_token_id: int | None = 2
    pad_token_id: int | None = None
    apply_residual_connection_post_layernorm: bool = False
    hidden_dropout: float = 0.0
    attention_dropout: float = 0.0
    pretraining_tp: int = 1
    slow_but_exact: bool = False
    tie_word_embeddings: bool = True

    @staticmethod
    def _rename_legacy(kwargs: dict) -> dict:
        if "n_embed" in kwargs:  # the bigscience checkpoints' old name for hidden_size
            kwargs["hidden_size"] = kwargs.pop("n_embed")
        return PretrainedConfig._rename_legacy(kwargs)

    def validate(self) -> None:
        if self.hidden_size % self.n_head:
            raise ConfigError(f"hidden_size={self.hidden_size} must be divisible by n_head={self.n_head}.")
