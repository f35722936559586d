"""T5-style relative position buckets (also used by its descendants: mT5, LongT5, UMT5 …)."""

from __future__ import annotations

import math

import torch


def relative_position_bucket(relative_position: torch.Tensor, bidirectional: bool = True, num_buckets: int = 32,
                             max_distance: int = 128) -> torch.Tensor:
    """Map ``key - query`` distances to bucket ids.

    Half the buckets count small distances exactly; the rest grow logarithmically up to
    ``max_distance`` (anything farther shares the last bucket). Bidirectional buckets spend half
    of the ids on keys after the query; a causal decoder only looks back.
    """
    buckets = torch.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (relative_position > 0).long() * num_buckets
        distance = relative_position.abs()
    else:
        distance = -torch.clamp(relative_position, max=0)
    max_exact = num_buckets // 2
    is_small = distance < max_exact
    # log-spaced buckets for distances in [max_exact, max_distance)
    large = max_exact + (
        torch.log(distance.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).long()
    large = torch.clamp(large, max=num_buckets - 1)
    return buckets + torch.where(is_small, distance, large)


def relative_positions(query_length: int, key_length: int, past: int = 0, device=None) -> torch.Tensor:
    """``(Tq, Tk)`` matrix of ``key position - query position`` (queries start at ``past``)."""
    query = torch.arange(query_length, device=device)[:, None] + past
    key = torch.arange(key_length, device=device)[None, :]
    return key - query
