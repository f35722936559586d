"""Gradient checkpointing for a stack of layers, shared by every encoder."""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint


def run_layer(layer: torch.nn.Module, *args, checkpointed: bool = False, **kwargs):
    """Call ``layer``; with ``checkpointed`` its activations are recomputed in backward to save memory."""
    if checkpointed and torch.is_grad_enabled():
        return checkpoint(layer, *args, use_reentrant=False, **kwargs)
    return layer(*args, **kwargs)
