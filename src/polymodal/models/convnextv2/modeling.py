"""ConvNeXt-V2: ConvNeXt's network with a GRN step after the block's GELU (no layer scale)."""

from __future__ import annotations

import torch
from torch import nn

from ...nn.linear import linear
from ..convnext.modeling import ConvNextForImageClassification, ConvNextLayer, ConvNextModel, ConvNextPreTrainedModel
from .configuration import ConvNextV2Config


class ConvNextV2GRN(nn.Module):
    """Global Response Normalization: scale each channel by its spatial L2 norm relative to the
    mean over channels, ``x + gamma * (x * N(x)) + beta`` on (B, H, W, C) input."""

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.bias = nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norms = torch.linalg.vector_norm(x, ord=2, dim=(1, 2), keepdim=True)  # (B, 1, 1, C)
        relative = norms / (norms.mean(dim=-1, keepdim=True) + 1e-6)
        return self.weight * (x * relative) + self.bias + x


class ConvNextV2Layer(ConvNextLayer):
    def __init__(self, config, dim: int, drop_path: float = 0.0):
        super().__init__(config, dim, drop_path)
        self.grn = ConvNextV2GRN(4 * dim)

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        return linear(self.pwconv2, self.grn(self.expand(x)))


class ConvNextV2PreTrainedModel(ConvNextPreTrainedModel):
    config_class = ConvNextV2Config
    base_model_prefix = "convnextv2"
    layer_class = ConvNextV2Layer


class ConvNextV2Model(ConvNextV2PreTrainedModel, ConvNextModel):
    pass


class ConvNextV2ForImageClassification(ConvNextV2PreTrainedModel, ConvNextForImageClassification):
    base_model_class = ConvNextV2Model
