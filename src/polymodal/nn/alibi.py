"""ALiBi (Press et al., 2021, "Train Short, Test Long"): a per-head linear bias on attention scores
instead of position embeddings. Used by BLOOM (and MPT, Falcon-style models)."""

from __future__ import annotations

import math

import torch


def alibi_slopes(num_heads: int, device=None) -> torch.Tensor:
    """The paper's geometric slopes ``2^(-8i/n)``; for a head count that is not a power of two the
    extra heads take every other slope of the next power of two (the reference's rule)."""
    closest = 2 ** math.floor(math.log2(num_heads))
    base = torch.tensor(2 ** (-(2 ** -(math.log2(closest) - 3))), device=device, dtype=torch.float32)
    slopes = torch.pow(base, torch.arange(1, 1 + closest, device=device, dtype=torch.int32))
    if closest != num_heads:
        extra_base = torch.tensor(2 ** (-(2 ** -(math.log2(2 * closest) - 3))), device=device, dtype=torch.float32)
        remaining = min(closest, num_heads - closest)
        extra = torch.pow(extra_base, torch.arange(1, 1 + 2 * remaining, 2, device=device, dtype=torch.int32))
        slopes = torch.cat([slopes, extra])
    return slopes


def alibi_bias(attention_mask: torch.Tensor, num_heads: int, dtype: torch.dtype) -> torch.Tensor:
    """``(B, H, 1, K)`` bias ``slope_h * position_k``, positions counted over real tokens only.

    Adding ``slope * key_position`` rather than ``-slope * |query - key|`` is the same after the
    softmax (it shifts each query's row by a constant); counting over the mask keeps a left-padded
    row's biases equal to the unpadded row's.
    """
    mask = attention_mask.long()
    positions = ((mask.cumsum(-1) - 1) * mask)[:, None, None, :]  # (B, 1, 1, K)
    slopes = alibi_slopes(num_heads, attention_mask.device)[None, :, None, None]  # (1, H, 1, 1)
    return (slopes * positions).to(dtype)
