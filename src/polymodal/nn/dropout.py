"""Dropout that keeps a 1-byte mask for backward on CPU, with ``nn.Dropout``'s exact numbers.

On CPU, ``torch.nn.functional.dropout`` multiplies the input by a float32 noise tensor
(``bernoulli_`` then ``div_(1 - p)``) and autograd keeps that float tensor until backward: 4
bytes per activation. For a wav2vec2-base training step (4 × 3 s) the saved dropout noise is
about 130 MB of the ~640 MB of saved activations. Here the noise is drawn the same way (so the
random stream, the output and the gradients are bit-for-bit those of ``nn.Dropout``), but only
``noise != 0`` is kept; backward rebuilds the noise from it. Elsewhere (CUDA, eval, p = 0 or 1)
this is plain ``F.dropout``.

The keep mask is drawn straight into a bool tensor (``keep_mask``): torch's scalar ``bernoulli_``
draws one double per element whatever the output dtype (serial kernel; MKL's one seed per call on
Intel), so the mask and the random stream are those of the float32 draw, without writing a float32
noise tensor, dividing it and comparing it to zero (three passes fewer per dropout in training).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def keep_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """``torch.empty_like(x).bernoulli_(1 - p) != 0`` (``nn.Dropout``'s draw on CPU), as bools."""
    return torch.empty(x.shape, dtype=torch.bool, device=x.device).bernoulli_(1 - p)


def kept_value(x: torch.Tensor, p: float) -> torch.Tensor:
    """The noise's kept value ``1 / (1 - p)``, rounded as ``noise.div_(1 - p)`` rounds it (0-dim)."""
    return x.new_ones(()).div_(1 - p)


def apply_keep(x: torch.Tensor, keep: torch.Tensor, scale: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """``x * noise`` with noise = ``keep * scale``, bit for bit: ``x * 1.0 * s`` is ``x * s`` and ``x * 0.0``
    keeps the sign of zero (and NaN) as the float multiply does; no float noise tensor is made."""
    return (x.mul_(keep) if inplace else x.mul(keep)).mul_(scale)


class _CompactDropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float) -> torch.Tensor:
        keep = keep_mask(x, p)
        ctx.save_for_backward(keep)
        ctx.scale = kept_value(x, p)
        return apply_keep(x, keep, ctx.scale)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (mask,) = ctx.saved_tensors
        return apply_keep(grad, mask, ctx.scale), None


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    if not training or p == 0.0 or p == 1.0 or x.device.type != "cpu" or not torch.is_grad_enabled():
        return F.dropout(x, p, training)
    if not x.requires_grad:
        return F.dropout(x, p, training)  # nothing to save
    return _CompactDropout.apply(x, p)


class Dropout(nn.Dropout):
    """``nn.Dropout`` (same arguments, no parameters) with a compact saved mask on CPU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inplace:
            return super().forward(x)
        return dropout(x, self.p, self.training)
