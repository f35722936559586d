"""``linear(dropout(gelu(pre)))`` for CPU training, keeping only ``pre`` and a 1-byte mask.

A transformer MLP's second linear saves its input — the dropped GELU output, as large as the
hidden layer (7 MB per wav2vec2-base layer for 4 × 3 s) — while GELU's backward saves ``pre``,
the same size again. Here only ``pre`` and the dropout's keep mask are saved; backward
recomputes the GELU (cheap next to the GEMMs). The dropout noise is drawn as ``nn.Dropout``
draws it on CPU (``nn/dropout.py``), so outputs, gradients and the random stream are unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .dropout import apply_keep, keep_mask, kept_value


class _GeluDropoutLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pre, p: float, weight, bias):
        hidden = F.gelu(pre)
        keep = None
        if p > 0:
            keep = keep_mask(hidden, p)  # nn.Dropout's draw, as bools (nn/dropout.py)
            hidden = apply_keep(hidden, keep, kept_value(hidden, p), inplace=True)
        out = F.linear(hidden, weight, bias)
        ctx.save_for_backward(pre, weight, keep)
        ctx.p, ctx.has_bias = p, bias is not None
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        pre, weight, keep = ctx.saved_tensors
        kept = None if keep is None else keep * pre.new_ones(()).div_(1 - ctx.p)  # 0 or 1 / (1 - p)
        hidden = F.gelu(pre)
        if kept is not None:
            hidden.mul_(kept)
        rows = grad.reshape(-1, grad.shape[-1])
        dweight = rows.t().mm(hidden.reshape(-1, hidden.shape[-1])) if ctx.needs_input_grad[2] else None
        dbias = rows.sum(0) if ctx.has_bias and ctx.needs_input_grad[3] else None
        dpre = None
        if ctx.needs_input_grad[0]:
            dhidden = grad.matmul(weight)
            if kept is not None:
                dhidden.mul_(kept)
            dpre = torch.ops.aten.gelu_backward(dhidden, pre)
        return dpre, None, dweight, dbias


def applies(pre: torch.Tensor, layer: torch.nn.Linear) -> bool:
    """CPU float32 training (autograd on), no autocast, a plain ``nn.Linear``."""
    return (pre.device.type == "cpu" and pre.dtype == torch.float32 and torch.is_grad_enabled()
            and type(layer) is torch.nn.Linear and layer.weight.dtype == torch.float32
            and (pre.requires_grad or layer.weight.requires_grad) and not torch.is_autocast_enabled("cpu"))


def gelu_dropout_linear(pre: torch.Tensor, p: float, layer: torch.nn.Linear) -> torch.Tensor:
    """``layer(dropout(gelu(pre), p))`` in training (exact erf GELU)."""
    return _GeluDropoutLinear.apply(pre, p, layer.weight, layer.bias)
