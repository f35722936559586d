"""2-d (dilated) neighbourhood attention in plain PyTorch, NATTEN's definition.

Each query pixel attends to the ``kernel_size`` x ``kernel_size`` pixels around it, taken every
``dilation`` pixels. Near the border the window is shifted inside the image (never zero-padded),
so every query sees exactly k² keys. With dilation d, the pixels split into d sub-grids by
index mod d, and the window lives on the query's sub-grid. A learned relative position bias
``rpb`` (heads, 2k-1, 2k-1) is indexed by the key-minus-query offset in sub-grid steps.

The neighbours are gathered once per axis as index tables, so the whole layer is a gather, a
batched dot product and a softmax — no Python loops over pixels.
"""

from __future__ import annotations

import functools

import torch


@functools.lru_cache(maxsize=64)
def neighbour_table(length: int, kernel_size: int, dilation: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(keys (L, k), bias (L, k))``: each position's k neighbours along one axis and their
    relative-position-bias indices (offset / dilation + k - 1)."""
    half = kernel_size // 2
    index = torch.arange(length)
    residue, sub = index % dilation, index // dilation
    sub_length = (length - residue + dilation - 1) // dilation  # positions in this residue's sub-grid
    start = (sub - half).clamp(min=0)
    start = torch.minimum(start, sub_length - kernel_size)  # shift the window inside the sub-grid
    keys_sub = start[:, None] + torch.arange(kernel_size)[None]  # (L, k) in sub-grid steps
    keys = keys_sub * dilation + residue[:, None]
    bias = keys_sub - sub[:, None] + kernel_size - 1
    return keys, bias


def neighborhood_scores(query: torch.Tensor, key: torch.Tensor, rpb: torch.Tensor, kernel_size: int,
                        dilation: int) -> torch.Tensor:
    """``query``/``key`` (B, heads, H, W, D) → scores (B, heads, H, W, k²) including the bias."""
    height, width = query.shape[2:4]
    keys_h, bias_h = neighbour_table(height, kernel_size, dilation)
    keys_w, bias_w = neighbour_table(width, kernel_size, dilation)
    # (B, heads, H, k, W, k, D): rows then columns of each query's window
    neighbours = key[:, :, keys_h.to(key.device)][:, :, :, :, keys_w.to(key.device)]
    scores = torch.einsum("bnhwd,bnhiwjd->bnhwij", query, neighbours)  # (B, heads, H, W, k, k)
    bias = rpb[:, bias_h.to(rpb.device)[:, None, :, None], bias_w.to(rpb.device)[None, :, None, :]]
    return (scores + bias.unsqueeze(0)).flatten(-2)  # bias (heads, H, W, k, k)


def neighborhood_context(weights: torch.Tensor, value: torch.Tensor, kernel_size: int,
                         dilation: int) -> torch.Tensor:
    """``weights`` (B, heads, H, W, k²), ``value`` (B, heads, H, W, D) → (B, heads, H, W, D)."""
    height, width = value.shape[2:4]
    keys_h, _ = neighbour_table(height, kernel_size, dilation)
    keys_w, _ = neighbour_table(width, kernel_size, dilation)
    neighbours = value[:, :, keys_h.to(value.device)][:, :, :, :, keys_w.to(value.device)]  # (B,n,H,k,W,k,D)
    weights = weights.unflatten(-1, (kernel_size, kernel_size))  # (B, heads, H, W, k, k)
    return torch.einsum("bnhwij,bnhiwjd->bnhwd", weights, neighbours)
