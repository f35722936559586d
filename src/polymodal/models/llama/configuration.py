"""``LlamaConfig`` (Llama 1-3, Code Llama): Transformers' fields and defaults (llama-7b).

RoPE settings arrive as Transformers 5's ``rope_parameters`` or 4.x's ``rope_theta`` +
``rope_scaling``; both become one ``rope_parameters`` dict here (written back that way, with
``rope_theta`` kept for 4.x readers).
"""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError
from ...nn.rotary import standardize_rope_parameters


class LlamaConfig(PretrainedConfig):
    model_type = "llama"

    vocab_size: int = 32000
    hidden_size: int = 4096
    intermediate_size: int = 11008
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int | None = None
    hidden_act: str = "silu"
    max_position_embeddings: int = 2048
    initializer_range: float = 0.02
    rms_norm_eps: float = 1e-6
    use_cache: bool = True
    pad_token_id: int | None = None
    bos_token_id: int | None = 1
    eos_token_id: int | None = 2
    pretraining_tp: int = 1
    tie_word_embeddings: bool = False
    rope_parameters: dict | None = None
    attention_bias: bool = False
    attention_dropout: float = 0.0
    mlp_bias: bool = False
    head_dim: int | None = None

    def validate(self) -> None:
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.head_dim is None:
            if self.hidden_size % self.num_attention_heads:
                raise ConfigError(
                    f"hidden_size={self.hidden_size} must be divisible by num_attention_heads={self.num_attention_heads}."
                )
            self.head_dim = self.hidden_size // self.num_attention_heads
        if self.num_attention_heads % self.num_key_value_heads:
            raise ConfigError(
                f"num_attention_heads={self.num_attention_heads} must be a multiple of "
                f"num_key_value_heads={self.num_key_value_heads} (grouped-query attention)."
            )
        values = {k: getattr(self, k, None) for k in ("rope_parameters", "rope_scaling", "rope_theta")}
        self.rope_parameters = standardize_rope_parameters(values)
        self.__dict__.pop("rope_scaling", None)
        self.rope_theta = self.rope_parameters["rope_theta"]
