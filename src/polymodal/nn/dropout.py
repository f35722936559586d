"""Dropout that keeps a 1-byte mask for backward on CPU, with ``nn.Dropout``'s exact numbers.

On CPU, ``torch.nn.functional.dropout`` multiplies the input by a float32 noise tensor
(``bernoulli_`` then ``div_(1 - p)``) and autograd keeps that float tensor until backward: 4
bytes per activation. For a wav2vec2-base training step (4 × 3 s) the saved dropout noise is
about 130 MB of the ~640 MB of saved activations. Here the noise is drawn the same way (so the
random stream, the output and the gradients are bit-for-bit those of ``nn.Dropout``), but only
``noise != 0`` is kept; backward rebuilds the noise from it. Elsewhere (CUDA, eval, p = 0 or 1)
this is plain ``F.dropout``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _CompactDropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float) -> torch.Tensor:
        noise = torch.empty_like(x).bernoulli_(1 - p)  # the draw F.dropout makes on CPU
        noise.div_(1 - p)
        ctx.save_for_backward(noise != 0)
        ctx.scale = noise.new_ones(()).div_(1 - p)  # the kept value, rounded as in the noise
        return x * noise

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (mask,) = ctx.saved_tensors
        return grad * (mask * ctx.scale), None


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
