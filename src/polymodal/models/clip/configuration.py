"""CLIP configs: ``CLIPTextConfig``, ``CLIPVisionConfig`` and the composite ``CLIPConfig``.

Field names and defaults are Transformers' (``openai/clip-vit-base-patch32``). The composite
config keeps ``from_text_vision_configs`` (Transformers 5 removed it in favour of passing the
two configs to the constructor; both spellings work here).
"""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError
from ..bert.configuration import check_heads


class CLIPTextFields(PretrainedConfig):
    """The fields CLIP's text config shares with X-CLIP's (which has no ``projection_dim``)."""

    vocab_size: int = 49408
    hidden_size: int = 512
    intermediate_size: int = 2048
    num_hidden_layers: int = 12
    num_attention_heads: int = 8
    max_position_embeddings: int = 77
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    attention_dropout: float = 0.0
    initializer_range: float = 0.02
    initializer_factor: float = 1.0
    pad_token_id: int | None = 1
    bos_token_id: int | None = 49406
    eos_token_id: int | None = 49407

    def validate(self) -> None:
        check_heads(self)


class CLIPTextConfig(CLIPTextFields):
    model_type = "clip_text_model"

    projection_dim: int = 512


class CLIPVisionFields(PretrainedConfig):
    """The fields CLIP's vision config shares with X-CLIP's (which has no ``projection_dim``)."""

    hidden_size: int = 768
    intermediate_size: int = 3072
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    num_channels: int = 3
    image_size: int = 224
    patch_size: int = 32
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    attention_dropout: float = 0.0
    initializer_range: float = 0.02
    initializer_factor: float = 1.0

    def validate(self) -> None:
        check_heads(self)
        if self.patch_size <= 0 or self.image_size < self.patch_size:
            raise ConfigError(
                f"patch_size={self.patch_size} must be positive and at most image_size={self.image_size}."
            )


class CLIPVisionConfig(CLIPVisionFields):
    model_type = "clip_vision_model"

    projection_dim: int = 512


class TextVisionConfig(PretrainedConfig):
    """A config made of a text and a vision config (CLIP, AltCLIP, and their relatives)."""

    def __init__(self, **kwargs):
        # Configs written before Transformers 4.27 carry `text_config_dict` / `vision_config_dict`;
        # their values win over `text_config` / `vision_config`, as in Transformers.
        for name in ("text_config", "vision_config"):
            legacy = kwargs.pop(f"{name}_dict", None)
            if legacy is not None:
                current = kwargs.get(name) or {}
                current = current.to_dict() if isinstance(current, PretrainedConfig) else dict(current)
                kwargs[name] = {**current, **legacy}
        super().__init__(**kwargs)

    @classmethod
    def from_text_vision_configs(cls, text_config: PretrainedConfig, vision_config: PretrainedConfig, **kwargs):
        """Build the composite config from a text config and a vision config (objects or dicts)."""
        return cls(text_config=_copy_config(text_config), vision_config=_copy_config(vision_config), **kwargs)


def _copy_config(config):
    return config.copy() if isinstance(config, PretrainedConfig) else dict(config)


class CLIPConfig(TextVisionConfig):
    model_type = "clip"
    sub_configs = {"text_config": CLIPTextConfig, "vision_config": CLIPVisionConfig}

    text_config: CLIPTextConfig | None = None
    vision_config: CLIPVisionConfig | None = None
    projection_dim: int = 512
    logit_scale_init_value: float = 2.6592
    initializer_factor: float = 1.0
