"""``MobileNetV2Config``: Transformers' field names and defaults (``google/mobilenet_v2_1.0_224``)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class MobileNetV2Config(PretrainedConfig):
    model_type = "mobilenet_v2"

    num_channels: int = 3
    image_size: int = 224
    depth_multiplier: float = 1.0
    depth_divisible_by: int = 8
    min_depth: int = 8
    expand_ratio: float = 6.0
    output_stride: int = 32
    first_layer_is_expansion: bool = True
    finegrained_output: bool = True
    hidden_act: str = "relu6"
    tf_padding: bool = True
    classifier_dropout_prob: float = 0.8
    initializer_range: float = 0.02
    layer_norm_eps: float = 0.001
    semantic_loss_ignore_index: int = 255

    def validate(self) -> None:
        if self.depth_multiplier <= 0:
            raise ConfigError(f"depth_multiplier={self.depth_multiplier} must be greater than zero.")
        if not 0.0 <= self.classifier_dropout_prob <= 1.0:
            raise ConfigError(f"classifier_dropout_prob={self.classifier_dropout_prob} must be a probability.")
        if self.output_stride not in (8, 16, 32):
            raise ConfigError(f"output_stride={self.output_stride} must be 8, 16 or 32.")
