"""One attention function for every tower.

``F.scaled_dot_product_attention`` by default; the plain (eager) path is used when the caller
asks for the attention weights, or picks it for shapes where it is faster on CPU (short text).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import dropout_attention as _dropout_attention


def attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    dropout: float = 0.0,
    scale: float | None = None,
    output_attentions: bool = False,
    eager: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Attention over ``(B, H, T, D)`` tensors.

    ``mask`` is additive (0 where attended, a large negative number elsewhere), broadcastable
    to ``(B, H, Tq, Tk)``. Returns ``(output (B, H, Tq, D), weights or None)``.
    """
    if key.shape[0] != query.shape[0]:
        return _shared_keys_attention(query, key, value, mask, dropout=dropout, scale=scale,
                                      output_attentions=output_attentions, eager=eager)
    if not (output_attentions or eager):
        if dropout and _dropout_attention.applies(query, key, value, mask, dropout):
            # CPU training: SDPA's numbers and random stream, less kept for backward
            return _dropout_attention.dropout_attention(query, key, value, mask, dropout, scale), None
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout, scale=scale)
        return out, None
    scale = query.shape[-1] ** -0.5 if scale is None else scale
    scores = torch.matmul(query, key.transpose(-1, -2)) * scale  # (B, H, Tq, Tk)
    if mask is not None:
        scores = scores + mask
    weights = scores.softmax(dim=-1, dtype=torch.float32).to(query.dtype)
    if dropout:
        weights = F.dropout(weights, p=dropout)
    return torch.matmul(weights, value), (weights if output_attentions else None)


def _shared_keys_attention(query, key, value, mask, **options):
    """Queries of ``B * g`` rows over keys/values of ``B`` rows, row ``i`` of the keys serving query
    rows ``i*g … i*g+g-1`` (beam search's cross-attention: the beams of one input share its encoder
    output, so their keys are computed and stored once).

    The ``g`` query rows become ``g`` times as many query positions of one row, so one attention
    call reads each key once; masks must not vary over query positions (cross-attention's do not).
    """
    rows, heads, length, dim = query.shape
    group = rows // key.shape[0]
    if rows != group * key.shape[0]:
        raise ValueError(f"attention: {rows} query rows cannot share keys/values of {key.shape[0]} rows.")
    if mask is not None and mask.shape[0] != 1:
        if mask.shape[-2] != 1:  # a per-query-position mask cannot be folded; repeat the keys instead
            return attention(query, key.repeat_interleave(group, 0), value.repeat_interleave(group, 0), mask,
                             **options)
        mask = mask[::group]
    folded = query.view(key.shape[0], group, heads, length, dim).transpose(1, 2).reshape(
        key.shape[0], heads, group * length, dim)
    out, weights = attention(folded, key, value, mask, **options)
    unfold = (lambda t: t.view(key.shape[0], heads, group, length, t.shape[-1]).transpose(1, 2)
              .reshape(rows, heads, length, t.shape[-1]))
    return unfold(out), (None if weights is None else unfold(weights))


# Re-measured with torch 2.13 (issue 12, 2 threads, interleaved, same process): SDPA beats plain
# matmul + softmax at every CPU shape tried — 0.18x the time at ViT-B/32's 50 tokens (8 images),
# 0.2x at 12 tokens, 0.7-0.8x with a causal mask at 12 and 77 tokens, 0.28x at 197 tokens. The
# plain path copies the transposed q/k/v views for its matmuls; SDPA reads them as they are.
# So no shape prefers it now; the switch stays for a future kernel change.
EAGER_MAX_KEYS_CPU = 0


def prefer_eager(seq_len: int, device: torch.device) -> bool:
    """Whether the plain path is the faster choice for ``seq_len`` keys on ``device``."""
    return device.type == "cpu" and seq_len <= EAGER_MAX_KEYS_CPU


def padding_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """``(B, T)`` 1/0 mask → additive ``(B, 1, 1, T)`` mask in ``dtype`` (None stays None)."""
    if attention_mask is None:
        return None
    keep = attention_mask[:, None, None, :].to(torch.bool)
    return torch.zeros(keep.shape, dtype=dtype, device=keep.device).masked_fill(~keep, torch.finfo(dtype).min)


def causal_mask(length: int, dtype: torch.dtype, device=None) -> torch.Tensor:
    """Additive ``(1, 1, T, T)`` mask that hides future positions."""
    full = torch.full((length, length), torch.finfo(dtype).min, dtype=dtype, device=device)
    return full.triu(1)[None, None]


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    batch, length, width = x.shape
    return x.view(batch, length, num_heads, width // num_heads).transpose(1, 2)  # (B, H, T, D)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    batch, heads, length, dim = x.shape
    return x.transpose(1, 2).reshape(batch, length, heads * dim)  # (B, T, H*D)
