"""Running a stack of layers (with gradient checkpointing) or of CNN stages, shared by every encoder."""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint


def run_layer(layer: torch.nn.Module, *args, checkpointed: bool = False, **kwargs):
    """Call ``layer``; with ``checkpointed`` its activations are recomputed in backward to save memory."""
    if checkpointed and torch.is_grad_enabled():
        return checkpoint(layer, *args, use_reentrant=False, **kwargs)
    return layer(*args, **kwargs)


def run_layers(layers, hidden_states, mask=None, output_attentions: bool = False,
               output_hidden_states: bool = False, checkpointed: bool = False):
    """Run a stack of ``layer(x, mask, output_attentions) -> (x, weights)`` layers.

    Returns ``(last, hidden_states or None, attentions or None)``; ``hidden_states`` starts with
    the input. Intermediate states are kept only when asked for, so inference frees them.
    """
    all_hidden = [hidden_states] if output_hidden_states else None
    all_weights = [] if output_attentions else None
    for layer in layers:
        hidden_states, weights = run_layer(layer, hidden_states, mask, output_attentions, checkpointed=checkpointed)
        if output_hidden_states:
            all_hidden.append(hidden_states)
        if output_attentions:
            all_weights.append(weights)
    return hidden_states, _tuple(all_hidden), _tuple(all_weights)


def run_stages(stages, x, output_hidden_states: bool = False):
    """Run ``stage(x) -> x`` stages in turn (a CNN backbone's): ``(last, hidden_states or None)``,
    ``hidden_states`` starting with the input, as Transformers' backbones return them."""
    hidden = [x] if output_hidden_states else None
    for stage in stages:
        x = stage(x)
        if hidden is not None:
            hidden.append(x)
    return x, _tuple(hidden)


def _tuple(items):
    return None if items is None else tuple(items)
