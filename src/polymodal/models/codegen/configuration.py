"""``CodeGenConfig``: Transformers' fields and defaults (codegen-6B-mono shape)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError

MP_NUM = 4  # the fused q/v/k projection is stored as 4 model-parallel shards (TPU training layout)


class CodeGenConfig(PretrainedConfig):
    model_type = "codegen"
    attribute_map = {
        "max_position_embeddings": "n_positions",
        "hidden_size": "n_embd",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
    }

    vocab_size: int = 50400
    n_positions: int = 2048
    n_ctx: int = 2048
    n_embd: int = 4096
    n_layer: int = 28
    n_head: int = 16
    rotary_dim: int | None = 64
    n_inner: int | None = None
    activation_function: str = "gelu_new"
    resid_pdrop: float = 0.0
    embd_pdrop: float = 0.0
    attn_pdrop: float = 0.0
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    use_cache: bool = True
    bos_token_id: int | None = 50256
    eos_token_id: int | None = 50256
    tie_word_embeddings: bool = False

    def validate(self) -> None:
        if self.n_embd % self.n_head:
            raise ConfigError(f"n_embd={self.n_embd} must be divisible by n_head={self.n_head}.")
        if self.n_head % MP_NUM:
            raise ConfigError(f"n_head={self.n_head} must be a multiple of {MP_NUM} (CodeGen's fused q/k/v layout).")
