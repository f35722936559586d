"""``ConvBertConfig``: Transformers' field names and defaults (ConvBERT-base's sizes)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class ConvBertConfig(PretrainedConfig):
    model_type = "convbert"

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2
    embedding_size: int = 768
    head_ratio: int = 2
    conv_kernel_size: int = 9
    num_groups: int = 1
    classifier_dropout: float | None = None
    is_decoder: bool = False
    add_cross_attention: bool = False
    tie_word_embeddings: bool = True

    @property
    def conv_heads(self) -> int:
        """Heads of each kind: ``num_attention_heads // head_ratio`` (at least one)."""
        return max(self.num_attention_heads // self.head_ratio, 1)

    def validate(self) -> None:
        if self.hidden_size % (2 * self.conv_heads):
            raise ConfigError(
                f"hidden_size={self.hidden_size} must split into {self.conv_heads} attention + {self.conv_heads} "
                f"convolution heads of equal size (num_attention_heads={self.num_attention_heads} // "
                f"head_ratio={self.head_ratio}); pick sizes where hidden_size % (2 * heads) == 0."
            )
        if self.conv_kernel_size % 2 == 0:
            raise ConfigError(f"conv_kernel_size={self.conv_kernel_size} must be odd (the span is centred on the "
                              "token).")
        for name in ("hidden_size", "intermediate_size"):
            if getattr(self, name) % self.num_groups:
                raise ConfigError(f"{name}={getattr(self, name)} must be a multiple of num_groups={self.num_groups}.")
        if self.is_decoder or self.add_cross_attention:
            raise ConfigError("is_decoder/add_cross_attention=True: polymodal's ConvBERT is an encoder only; "
                              "set both to False.")
