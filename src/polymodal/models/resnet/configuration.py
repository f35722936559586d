"""``ResNetConfig``: Transformers' field names and defaults (``microsoft/resnet-50``)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class ResNetConfig(PretrainedConfig):
    model_type = "resnet"

    num_channels: int = 3
    embedding_size: int = 64
    hidden_sizes: list = (256, 512, 1024, 2048)
    depths: list = (3, 4, 6, 3)
    layer_type: str = "bottleneck"
    hidden_act: str = "relu"
    downsample_in_first_stage: bool = False
    downsample_in_bottleneck: bool = False
    out_features: list | None = None
    out_indices: list | None = None

    def validate(self) -> None:
        self.hidden_sizes, self.depths = list(self.hidden_sizes), list(self.depths)
        if self.layer_type not in ("basic", "bottleneck"):
            raise ConfigError(f"layer_type={self.layer_type!r} must be 'basic' or 'bottleneck'.")
        if len(self.hidden_sizes) != len(self.depths) or not self.depths:
            raise ConfigError(f"hidden_sizes {self.hidden_sizes} and depths {self.depths} must have one entry per "
                              "stage.")
        if self.layer_type == "bottleneck" and any(h % 4 for h in self.hidden_sizes):
            raise ConfigError(f"hidden_sizes={self.hidden_sizes}: bottleneck stages need multiples of 4.")
