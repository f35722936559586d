"""The weight initialisation most families share (Transformers writes it into each ``_init_weights``).

Only fresh models and heads a checkpoint lacks reach it (``from_pretrained`` skips init), so
it matters for training from scratch and for the seeded-init parity tests. Those tests compare
against Transformers' draws, so every option here keeps one random draw per weight, in the
order ``Module.apply`` visits modules — a family's init may add draws but never reorder them.
"""

from __future__ import annotations

import torch
from torch import nn

DENSE = (nn.Linear, nn.Conv2d)


def init_dense_and_norm(module: nn.Module, std: float, truncated: bool = False,
                        norms: tuple[type[nn.Module], ...] = (nn.LayerNorm,),
                        dense: tuple[type[nn.Module], ...] = DENSE, embeddings: bool = False) -> bool:
    """``dense`` weights ~ N(0, std) (``truncated``: torch's trunc_normal_, cut at ±2), zero biases;
    with ``embeddings``, ``nn.Embedding`` tables too, their padding row zeroed; ``norms`` as
    :func:`init_norm` sets them.

    Returns whether ``module`` was one of those, so a family goes on with ``elif`` for its own
    parameters. ``dense`` may hold any class with ``weight`` / ``bias`` (GPT-2's ``Conv1D``)."""
    if isinstance(module, dense):
        _draw(module.weight, std, truncated)
        _fill(getattr(module, "bias", None), 0.0)
        return True
    if embeddings and isinstance(module, nn.Embedding):
        _draw(module.weight, std, truncated)
        if module.padding_idx is not None:  # the pad token's vector starts (and, untrained, stays) zero
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
        return True
    if isinstance(module, norms):
        init_norm(module)
        return True
    return False


def init_norm(norm: nn.Module) -> None:
    """Weight 1, bias 0 — each only where the norm has it (RMSNorm: no bias; non-affine: neither);
    a batch norm also forgets its running statistics, as Transformers' init does."""
    _fill(getattr(norm, "weight", None), 1.0)
    _fill(getattr(norm, "bias", None), 0.0)
    if isinstance(norm, nn.modules.batchnorm._BatchNorm):
        norm.reset_running_stats()  # no-op without tracked statistics


def init_he_conv(conv: nn.Module, **kaiming) -> None:
    """He-normal weight (``kaiming``: torch's mode / nonlinearity options), zero bias if any."""
    nn.init.kaiming_normal_(conv.weight, **kaiming)
    _fill(getattr(conv, "bias", None), 0.0)


def _draw(weight: torch.Tensor, std: float, truncated: bool) -> None:
    (nn.init.trunc_normal_ if truncated else nn.init.normal_)(weight, mean=0.0, std=std)


def _fill(tensor: torch.Tensor | None, value: float) -> None:
    if tensor is not None:
        nn.init.constant_(tensor, value)
