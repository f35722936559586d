"""``ViTConfig``: Transformers' field names and defaults (``google/vit-base-patch16-224``)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


def pair(value) -> tuple[int, int]:
    """An int or a (height, width) pair → (height, width)."""
    return (int(value[0]), int(value[1])) if isinstance(value, (list, tuple)) else (int(value), int(value))


class ViTConfig(PretrainedConfig):
    model_type = "vit"

    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    image_size: int = 224
    patch_size: int = 16
    num_channels: int = 3
    qkv_bias: bool = True
    encoder_stride: int = 16
    pooler_output_size: int | None = None
    pooler_act: str = "tanh"

    def validate(self) -> None:
        if not self.pooler_output_size:
            self.pooler_output_size = self.hidden_size
        validate_vit_fields(self)

    @property
    def num_patches(self) -> int:
        (h, w), (ph, pw) = pair(self.image_size), pair(self.patch_size)
        return (h // ph) * (w // pw)


def validate_vit_fields(config) -> None:
    """Checks shared by ViT-like configs (ViT, DeiT, BEiT): messages name the field."""
    if config.hidden_size % config.num_attention_heads:
        raise ConfigError(
            f"hidden_size={config.hidden_size} must be divisible by num_attention_heads={config.num_attention_heads}."
        )
    for name in ("image_size", "patch_size"):
        value = getattr(config, name)
        try:
            sizes = pair(value)
        except (TypeError, ValueError, IndexError):
            raise ConfigError(f"{name}={value!r} must be an int or a (height, width) pair.") from None
        if min(sizes) < 1:
            raise ConfigError(f"{name}={value!r} must be positive.")
    if min(pair(config.image_size)) < max(pair(config.patch_size)):
        raise ConfigError(f"image_size={config.image_size} is smaller than patch_size={config.patch_size}.")
    for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
        value = getattr(config, name)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{name}={value!r} must be a probability between 0 and 1.")
