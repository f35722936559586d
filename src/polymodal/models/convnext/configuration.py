"""``ConvNextConfig``: Transformers' field names and defaults (``facebook/convnext-tiny-224``)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class ConvNextConfig(PretrainedConfig):
    model_type = "convnext"

    num_channels: int = 3
    patch_size: int = 4
    num_stages: int = 4
    hidden_sizes: list = (96, 192, 384, 768)
    depths: list = (3, 3, 9, 3)
    hidden_act: str = "gelu"
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    layer_scale_init_value: float = 1e-6
    drop_path_rate: float = 0.0
    image_size: int = 224
    out_features: list | None = None
    out_indices: list | None = None

    def validate(self) -> None:
        self.hidden_sizes, self.depths = list(self.hidden_sizes), list(self.depths)
        if not len(self.hidden_sizes) == len(self.depths) == self.num_stages:
            raise ConfigError(f"hidden_sizes {self.hidden_sizes} and depths {self.depths} must each have "
                              f"num_stages={self.num_stages} entries.")
        if not 0.0 <= self.drop_path_rate < 1.0:
            raise ConfigError(f"drop_path_rate={self.drop_path_rate} must be in [0, 1).")
