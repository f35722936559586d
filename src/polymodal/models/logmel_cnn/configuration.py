"""Configuration of the log-mel CNN classifier."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class LogMelClassifierConfig(PretrainedConfig):
    """A stack of 1-D convolutions over time (mel bins as channels), mean+max pooled.

    It is small (~0.3M parameters by default) and trains in seconds on a CPU, which makes it
    the default model of the demo and of ``polymodal train`` when no checkpoint is given.
    """

    model_type = "logmel_cnn"
    num_mel_bins: int = 80
    conv_dim: list = [128, 128, 128, 128]
    conv_kernel: list = [5, 5, 5, 5]
    conv_stride: list = [2, 2, 2, 2]
    hidden_dropout: float = 0.1
    final_dropout: float = 0.2
    spec_augment: bool = True
    mask_time_width: int = 20
    mask_feature_width: int = 10
    initializer_range: float = 0.02

    def validate(self) -> None:
        if not (len(self.conv_dim) == len(self.conv_kernel) == len(self.conv_stride)):
            raise ConfigError(
                f"conv_dim ({len(self.conv_dim)}), conv_kernel ({len(self.conv_kernel)}) and conv_stride "
                f"({len(self.conv_stride)}) must have the same length."
            )
        if self.num_mel_bins < 1:
            raise ConfigError(f"num_mel_bins must be positive, got {self.num_mel_bins}.")
