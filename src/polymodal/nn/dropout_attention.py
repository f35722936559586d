"""Attention with dropout for CPU training, keeping less for backward than SDPA does.

With dropout on, CPU ``scaled_dot_product_attention`` takes its math path, and autograd keeps
three float32 ``(B, H, Tq, Tk)`` tensors per layer: the softmax output, the dropout noise and the
dropped probabilities (about 13 MB per wav2vec2-base layer for a batch of 4 × 3 s). Here the
noise is drawn exactly as that path draws it (``bernoulli_`` on an empty float tensor, then
``div_(1 - p)``: the same random stream and the same output), but only the probabilities and a
1-byte keep mask are saved; backward rebuilds the dropped probabilities from them.
"""

from __future__ import annotations

import torch

from .dropout import apply_keep, keep_mask, kept_value


class _DropoutAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, mask, p: float, scale: float):  # (B, H, T, D) each
        scores = torch.matmul(q, k.transpose(-1, -2)).mul_(scale)  # (B, H, Tq, Tk)
        if mask is not None:
            scores.add_(mask)
        probs = torch.softmax(scores, dim=-1)
        del scores
        keep = keep_mask(probs, p)  # the draw of SDPA's math path, as bools (nn/dropout.py)
        out = torch.matmul(apply_keep(probs, keep, kept_value(probs, p)), v)
        ctx.save_for_backward(q, k, v, probs, keep)
        ctx.p, ctx.scale = p, scale
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        q, k, v, probs, keep = ctx.saved_tensors
        kept = keep * probs.new_ones(()).div_(1 - ctx.p)  # the noise again: 0 or 1 / (1 - p)
        dv = torch.matmul((probs * kept).transpose(-1, -2), grad)
        dprobs = torch.matmul(grad, v.transpose(-1, -2)).mul_(kept)
        # softmax backward: p · (dp − Σ dp·p), then the scale of the scores
        dscores = dprobs.sub_((dprobs * probs).sum(-1, keepdim=True)).mul_(probs).mul_(ctx.scale)
        dq = torch.matmul(dscores, k)
        dk = torch.matmul(dscores.transpose(-1, -2), q)
        return dq, dk, dv, None, None, None


def applies(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask, dropout: float) -> bool:
    """CPU float32 training with dropout, an additive mask (or none), autograd on."""
    if not (0.0 < dropout < 1.0) or query.device.type != "cpu" or not torch.is_grad_enabled():
        return False
    if any(t.dtype != torch.float32 for t in (query, key, value)) or torch.is_autocast_enabled("cpu"):
        return False
    if mask is not None and (mask.dtype != torch.float32 or mask.requires_grad):
        return False
    return query.requires_grad or key.requires_grad or value.requires_grad


def dropout_attention(query, key, value, mask, dropout: float, scale: float | None) -> torch.Tensor:
    scale = query.shape[-1] ** -0.5 if scale is None else scale
    return _DropoutAttention.apply(query, key, value, mask, dropout, scale)
