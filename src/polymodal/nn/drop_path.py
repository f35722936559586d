"""Stochastic depth (Huang et al., 2016): drop a whole example's residual branch while training.

The random draw matches Transformers' (``floor(keep + rand)`` over a (B, 1, …) shape) so a seeded
training step gives the same mask in both libraries.
"""

from __future__ import annotations

import torch
from torch import nn


def drop_path(x: torch.Tensor, drop_prob: float = 0.0, training: bool = False) -> torch.Tensor:
    if drop_prob == 0.0 or not training:
        return x
    keep = 1.0 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # one draw per example, broadcast over the rest
    mask = torch.floor(keep + torch.rand(shape, dtype=x.dtype, device=x.device))
    return x / keep * mask


class DropPath(nn.Module):
    """Module form of :func:`drop_path` (Transformers' ``…DropPath`` classes; no parameters)."""

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return drop_path(hidden_states, self.drop_prob, self.training)

    def extra_repr(self) -> str:
        return f"p={self.drop_prob}"
