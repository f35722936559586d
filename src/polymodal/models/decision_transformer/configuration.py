"""``DecisionTransformerConfig``: Transformers' fields and defaults (the Hopper checkpoints' shape).

The GPT-2 backbone's fields keep GPT-2's names, except the width, which is ``hidden_size`` here
(``n_embd`` is an alias so the GPT-2 modules read it unchanged).
"""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class DecisionTransformerConfig(PretrainedConfig):
    model_type = "decision_transformer"
    attribute_map = {
        "max_position_embeddings": "n_positions",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
        "n_embd": "hidden_size",
    }

    state_dim: int = 17
    act_dim: int = 4
    hidden_size: int = 128
    max_ep_len: int = 4096
    action_tanh: bool = True
    vocab_size: int = 1
    n_positions: int = 1024
    n_layer: int = 3
    n_head: int = 1
    n_inner: int | None = None
    activation_function: str = "relu"
    resid_pdrop: float = 0.1
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    scale_attn_weights: bool = True
    use_cache: bool = True
    bos_token_id: int | None = 50256
    eos_token_id: int | None = 50256
    scale_attn_by_inverse_layer_idx: bool = False
    reorder_and_upcast_attn: bool = False
    add_cross_attention: bool = False

    def validate(self) -> None:
        if self.hidden_size % self.n_head:
            raise ConfigError(f"hidden_size={self.hidden_size} must be divisible by n_head={self.n_head}.")
        if self.add_cross_attention:
            raise ConfigError("add_cross_attention=True is not supported.")
