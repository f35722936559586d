"""Activation functions by the names configs use (``hidden_act``)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..core.errors import ConfigError


class QuickGELU(nn.Module):
    """CLIP's sigmoid approximation of GELU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class NewGELU(nn.Module):
    """The tanh approximation of GELU (``gelu_new``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


_ACTIVATIONS = {
    "gelu": lambda: nn.GELU(),
    "gelu_new": NewGELU,
    "gelu_pytorch_tanh": lambda: nn.GELU(approximate="tanh"),
    "quick_gelu": QuickGELU,
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,  # MobileNetV2 (issue 15)
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def get_activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ConfigError(f"hidden_act={name!r} is not supported; use one of {sorted(_ACTIVATIONS)}.")
    return _ACTIVATIONS[name]()
