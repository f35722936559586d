"""Disentangled attention, shared by DeBERTa and DeBERTa-v2.

Each score is content·content plus, per ``pos_att_type``, content→position (``c2p``: the query
against the embedding of its relative distance to the key) and position→content (``p2c``: the
key against the embedding of the distance seen from the other side). All three are divided by
``sqrt(head_dim * (1 + len(pos_att_type)))``.

The position terms are a ``(T, 2S)`` table per head (every token against every one of the 2S
relative-distance embeddings), then gathered at ``clamp(q - k + S, 0, 2S - 1)``. The sum of the
two terms is handed to SDPA as an additive bias together with the padding mask, so the content
scores, softmax and weighted sum stay in the fused kernel.

The versions differ only in where the pieces come from: v1 has one ``in_proj`` (q/k/v
interleaved per head) with separate query/value biases, a span of ``min(T, max_relative_positions)``
distances and optional "talking heads" (linear maps across heads before and after the
softmax); v2 has ``query_proj``/``key_proj``/``value_proj``, a fixed span (``position_buckets`` or
``max_relative_positions``) with log buckets beyond half of it, and may share the content
projections for the positions (``share_att_key``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class DebertaLayerNorm(nn.Module):
    """LayerNorm computed in float32 whatever the input dtype (v1's own module; same names)."""

    def __init__(self, size: int, eps: float = 1e-12):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size))
        self.variance_epsilon = eps

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        dtype = hidden_states.dtype
        if dtype == torch.float32:
            return F.layer_norm(hidden_states, hidden_states.shape[-1:], self.weight, self.bias, self.variance_epsilon)
        normed = F.layer_norm(hidden_states.float(), hidden_states.shape[-1:], None, None, self.variance_epsilon)
        return self.weight * normed.to(dtype) + self.bias


def log_bucket(relative: torch.Tensor, bucket_size: int, max_position: int) -> torch.Tensor:
    """v2's buckets: distances under ``bucket_size // 2`` kept, longer ones on a log scale (sign kept)."""
    sign = torch.sign(relative)
    mid = bucket_size // 2
    near = (relative < mid) & (relative > -mid)
    magnitude = torch.where(near, torch.tensor(mid - 1).type_as(relative), relative.abs())
    log_pos = torch.ceil(torch.log(magnitude / mid) / math.log((max_position - 1) / mid) * (mid - 1)) + mid
    return torch.where(magnitude <= mid, relative.type_as(log_pos), log_pos * sign)


def relative_positions(length: int, device, bucket_size: int = -1, max_position: int = -1) -> torch.Tensor:
    """``(T, T)`` query-minus-key distances (bucketed when both sizes are set)."""
    ids = torch.arange(length, dtype=torch.long, device=device)
    relative = ids[:, None] - ids[None, :]
    if bucket_size > 0 and max_position > 0:
        relative = log_bucket(relative, bucket_size, max_position)
    return relative.long()


def position_bias(query, key, pos_key, pos_query, relative, span: int, scale: float) -> torch.Tensor | float:
    """The c2p + p2c terms, ``(B, H, T, T)``; ``pos_key``/``pos_query`` are ``(H, 2S, D)`` or None.

    ``query``/``key`` are ``(B, H, T, D)``; ``relative`` the ``(T, T)`` distances.
    """
    batch, heads, length, _ = query.shape
    score = 0.0
    if pos_key is not None:  # content -> position
        index = torch.clamp(relative + span, 0, span * 2 - 1).expand(batch, heads, length, length)
        c2p = torch.matmul(query, pos_key.transpose(-1, -2))  # (B, H, T, 2S)
        score = score + torch.gather(c2p, -1, index) / scale
    if pos_query is not None:  # position -> content, seen from the key
        index = torch.clamp(-relative + span, 0, span * 2 - 1).expand(batch, heads, length, length)
        p2c = torch.matmul(key, pos_query.transpose(-1, -2))  # (B, H, T, 2S)
        score = score + torch.gather(p2c, -1, index).transpose(-1, -2) / scale
    return score


def pairwise_mask(attention_mask: torch.Tensor | None, dtype) -> torch.Tensor | None:
    """DeBERTa masks a pair when either token is padding: additive ``(B, 1, T, T)`` or None.

    A padding query then sees only masked keys, and its softmax is uniform, as in Transformers.
    """
    if attention_mask is None or bool(attention_mask.all()):
        return None
    keep = attention_mask.to(torch.bool)
    pair = keep[:, None, :, None] & keep[:, None, None, :]
    return torch.zeros(pair.shape, dtype=dtype, device=pair.device).masked_fill(~pair, torch.finfo(dtype).min)


def attend(query, key, value, bias, mask, scale: float, dropout: float, output_attentions: bool,
           head_logits_proj=None, head_weights_proj=None):
    """softmax(q·k / scale + bias + mask) · v over ``(B, H, T, D)``; returns (context, weights or None)."""
    # Under autograd a padding query's row must not pass gradients back (Transformers fills it, which
    # cuts them; an additive mask would not), so SDPA runs when there is no padding or no autograd.
    fused = mask is None or not torch.is_grad_enabled()
    if fused and not (output_attentions or head_logits_proj is not None):
        total = bias if mask is None else bias + mask
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=total if torch.is_tensor(total) else None,
                                                 dropout_p=dropout, scale=1.0 / scale)
        return context, None
    scores = torch.matmul(query, key.transpose(-1, -2)) / scale + bias
    if head_logits_proj is not None:  # talking heads: mix the heads' scores before masking
        scores = head_logits_proj(scores.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    if mask is not None:
        scores = scores.masked_fill(mask < 0, torch.finfo(scores.dtype).min)
    weights = scores.softmax(-1)
    if dropout:
        weights = F.dropout(weights, p=dropout)
    if head_weights_proj is not None:
        weights = head_weights_proj(weights.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    return torch.matmul(weights, value), (weights if output_attentions else None)
