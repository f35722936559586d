"""ALIGN configs: a BERT text tower, an EfficientNet vision tower, and the pair.

Field names and defaults are Transformers' (kakaobrain/align-base: BERT-base text encoder,
EfficientNet-B7 image encoder, 640-d joint space).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError
from ..bert.configuration import check_heads

_POOLING_TYPES = ("mean", "max")
# Per-stage lists of the EfficientNet vision tower; they must all have one entry per stage.
_STAGE_LISTS = ("kernel_sizes", "in_channels", "out_channels", "strides", "num_block_repeats", "expand_ratios")


class AlignTextConfig(PretrainedConfig):
    """The BERT text encoder of ALIGN (defaults: BERT-base)."""

    model_type = "align_text_model"

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
    pad_token_id: int | None = 0

    def validate(self) -> None:
        check_heads(self)


class AlignVisionConfig(PretrainedConfig):
    """The EfficientNet image encoder of ALIGN (defaults: EfficientNet-B7)."""

    model_type = "align_vision_model"

    num_channels: int = 3
    image_size: int = 600
    width_coefficient: float = 2.0
    depth_coefficient: float = 3.1
    depth_divisor: int = 8
    kernel_sizes: list = [3, 3, 5, 3, 5, 5, 3]
    in_channels: list = [32, 16, 24, 40, 80, 112, 192]
    out_channels: list = [16, 24, 40, 80, 112, 192, 320]
    depthwise_padding: list = []
    strides: list = [1, 2, 2, 2, 1, 2, 1]
    num_block_repeats: list = [1, 2, 2, 3, 3, 4, 1]
    expand_ratios: list = [1, 6, 6, 6, 6, 6, 6]
    squeeze_expansion_ratio: float = 0.25
    hidden_act: str = "swish"
    hidden_dim: int = 2560
    pooling_type: str = "mean"
    initializer_range: float = 0.02
    batch_norm_eps: float = 0.001
    batch_norm_momentum: float = 0.99
    drop_connect_rate: float = 0.2

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Derived, as in Transformers: the number of MBConv blocks after depth scaling.
        self.num_hidden_layers = sum(self.round_repeats(n) for n in self.num_block_repeats)

    def round_repeats(self, repeats: int) -> int:
        """Blocks in a stage after scaling its depth by ``depth_coefficient``."""
        return int(math.ceil(self.depth_coefficient * repeats))

    def round_filters(self, num_channels: int) -> int:
        """Channels after scaling by ``width_coefficient``, rounded to ``depth_divisor``."""
        divisor = self.depth_divisor
        scaled = num_channels * self.width_coefficient
        rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
        # EfficientNet's rule: never round down by more than 10%.
        if rounded < 0.9 * scaled:
            rounded += divisor
        return int(rounded)

    def validate(self) -> None:
        for name in _STAGE_LISTS + ("depthwise_padding",):
            setattr(self, name, list(getattr(self, name)))
        lengths = {name: len(getattr(self, name)) for name in _STAGE_LISTS}
        if len(set(lengths.values())) != 1:
            raise ConfigError(
                f"The per-stage lists of AlignVisionConfig must have equal lengths (one entry per stage); got {lengths}."
            )
        if any(s not in (1, 2) for s in self.strides):
            raise ConfigError(f"strides must each be 1 or 2 (EfficientNet's padding rules); got {self.strides}.")
        if self.pooling_type not in _POOLING_TYPES:
            raise ConfigError(f"pooling_type={self.pooling_type!r} is not one of {_POOLING_TYPES}.")


class AlignConfig(PretrainedConfig):
    """Text config, vision config, the joint projection size and the initial temperature."""

    model_type = "align"
    sub_configs: ClassVar[dict[str, type]] = {"text_config": AlignTextConfig, "vision_config": AlignVisionConfig}

    text_config: Any = None
    vision_config: Any = None
    projection_dim: int = 640
    temperature_init_value: float = 1.0
    initializer_range: float = 0.02

    @classmethod
    def from_text_vision_configs(
        cls, text_config: AlignTextConfig, vision_config: AlignVisionConfig, **kwargs
    ) -> "AlignConfig":
        """Transformers 4.x spelling of ``AlignConfig(text_config=…, vision_config=…)`` (both accepted)."""
        return cls(text_config=text_config.to_dict(), vision_config=vision_config.to_dict(), **kwargs)
