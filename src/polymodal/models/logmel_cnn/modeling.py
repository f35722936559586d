"""The log-mel CNN classifier.

Input: log-mel ``input_features`` ``(batch, mel, frames)`` as produced by
``WhisperFeatureExtractor``. Mel bins are the channels of 1-D convolutions over time
(batch norm, GELU), followed by mean and max pooling over time and a linear classifier.
In training mode a light SpecAugment (one time band and one frequency band per example,
set to the example's mean) makes it robust to unseen voices.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.errors import InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import SequenceClassifierOutput, model_forward
from ...nn.init import init_dense_and_norm, init_he_conv
from .configuration import LogMelClassifierConfig


class ConvBlock(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, kernel: int, stride: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(in_dim, out_dim, kernel, stride=stride, padding=kernel // 2)
        self.norm = nn.BatchNorm1d(out_dim)
        self.activation = nn.GELU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.activation(self.norm(self.conv(x))))


def _band_mask(batch: int, size: int, width: int, generator=None, device=None) -> torch.Tensor:
    """(batch, size) bool mask with one random band of up to ``width`` positions per row."""
    widths = torch.randint(0, width + 1, (batch, 1), generator=generator, device=device)
    starts = (torch.rand((batch, 1), generator=generator, device=device) * (size - widths).clamp(min=1)).long()
    positions = torch.arange(size, device=device)[None]
    return (positions >= starts) & (positions < starts + widths)


class LogMelClassifierForSequenceClassification(PreTrainedModel):
    config_class = LogMelClassifierConfig
    base_model_prefix = "encoder"
    main_input_name = "input_features"
    supports_gradient_checkpointing = False

    def __init__(self, config: LogMelClassifierConfig):
        super().__init__(config)
        dims = [config.num_mel_bins, *config.conv_dim]
        self.encoder = nn.Sequential(*[
            ConvBlock(dims[i], dims[i + 1], config.conv_kernel[i], config.conv_stride[i], config.hidden_dropout)
            for i in range(len(config.conv_dim))
        ])
        self.dropout = nn.Dropout(config.final_dropout)
        self.classifier = nn.Linear(2 * config.conv_dim[-1], config.num_labels)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Conv1d):
            init_he_conv(module)
        else:
            init_dense_and_norm(module, self.config.initializer_range, dense=(nn.Linear,), norms=(nn.BatchNorm1d,))

    def _check(self, features: torch.Tensor) -> None:
        if not isinstance(features, torch.Tensor) or features.dim() != 3:
            shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
            raise InvalidInputError(
                f"input_features must be a (batch, mel, frames) tensor, got {shape}. "
                "Make it with WhisperFeatureExtractor(..., return_tensors='pt')."
            )
        if features.shape[1] != self.config.num_mel_bins:
            raise InvalidInputError(
                f"input_features has {features.shape[1]} mel bins but the model expects {self.config.num_mel_bins}."
            )

    def _augment(self, features: torch.Tensor) -> torch.Tensor:
        batch, mels, frames = features.shape
        time = _band_mask(batch, frames, self.config.mask_time_width, device=features.device)  # (B, T)
        freq = _band_mask(batch, mels, self.config.mask_feature_width, device=features.device)  # (B, M)
        fill = features.mean(dim=(1, 2), keepdim=True)
        masked = time[:, None, :] | freq[:, :, None]  # (B, M, T)
        return torch.where(masked, fill, features)

    @model_forward
    def forward(self, input_features: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, output_hidden_states: bool | None = None,
                return_dict: bool | None = None, **kwargs) -> SequenceClassifierOutput:
        self._check(input_features)
        if self.training and self.config.spec_augment:
            input_features = self._augment(input_features)
        hidden = self.encoder(input_features)  # (B, C, T)
        pooled = torch.cat([hidden.mean(dim=-1), hidden.amax(dim=-1)], dim=-1)  # (B, 2C)
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.float(), labels.view(-1))
        output = SequenceClassifierOutput(loss=loss, logits=logits,
                                          hidden_states=(hidden,) if output_hidden_states else None)
        return output
