"""``BitConfig``: Transformers' field names and defaults (``google/bit-50``)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class BitConfig(PretrainedConfig):
    model_type = "bit"

    num_channels: int = 3
    embedding_size: int = 64
    hidden_sizes: list = (256, 512, 1024, 2048)
    depths: list = (3, 4, 6, 3)
    layer_type: str = "preactivation"
    hidden_act: str = "relu"
    global_padding: str | None = None
    num_groups: int = 32
    drop_path_rate: float = 0.0
    embedding_dynamic_padding: bool = False
    output_stride: int = 32
    width_factor: int = 1
    out_features: list | None = None
    out_indices: list | None = None

    def validate(self) -> None:
        self.hidden_sizes, self.depths = list(self.hidden_sizes), list(self.depths)
        if self.global_padding is not None:
            self.global_padding = self.global_padding.upper()
            if self.global_padding not in ("SAME", "VALID"):
                raise ConfigError(f"global_padding={self.global_padding!r} must be None, 'SAME' or 'VALID'.")
        if self.layer_type not in ("preactivation", "bottleneck"):
            raise ConfigError(f"layer_type={self.layer_type!r} must be 'preactivation' or 'bottleneck'.")
        if len(self.hidden_sizes) != len(self.depths):
            raise ConfigError(f"hidden_sizes {self.hidden_sizes} and depths {self.depths} need one entry per stage.")
