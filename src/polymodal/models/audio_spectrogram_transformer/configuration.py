"""``ASTConfig``: the hyper-parameters of Audio Spectrogram Transformer checkpoints.

Field names and defaults are Transformers' (``MIT/ast-finetuned-audioset-10-10-0.4593``): a
ViT-Base encoder over 16×16 patches of a 1024-frame, 128-bin log-mel spectrogram, cut with
overlapping strides of 10 along both axes.
"""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class ASTConfig(PretrainedConfig):
    model_type = "audio-spectrogram-transformer"

    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    patch_size: int = 16
    qkv_bias: bool = True
    frequency_stride: int = 10
    time_stride: int = 10
    max_length: int = 1024
    num_mel_bins: int = 128

    @property
    def patch_grid(self) -> tuple[int, int]:
        """(frequency, time) patch counts: the conv's output size along each spectrogram axis."""
        frequency = (self.num_mel_bins - self.patch_size) // self.frequency_stride + 1
        time = (self.max_length - self.patch_size) // self.time_stride + 1
        return frequency, time

    @property
    def num_tokens(self) -> int:
        """Sequence length of the encoder: every patch plus the cls and distillation tokens."""
        frequency, time = self.patch_grid
        return frequency * time + 2

    def validate(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"hidden_size={self.hidden_size} must be divisible by num_attention_heads={self.num_attention_heads}."
            )
        for name in ("patch_size", "frequency_stride", "time_stride", "max_length", "num_mel_bins"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name}={value!r} must be a positive int.")
        for name in ("num_mel_bins", "max_length"):
            if getattr(self, name) < self.patch_size:
                raise ConfigError(
                    f"{name}={getattr(self, name)} is smaller than patch_size={self.patch_size}; the spectrogram "
                    "must hold at least one patch along each axis."
                )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}={value!r} must be a probability between 0 and 1.")
