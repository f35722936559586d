"""``nn.Linear`` (optionally followed by exact GELU) with oneDNN's fused kernel on CPU inference.

oneDNN's linear folds the bias (and the GELU) into the GEMM. On CPU inference it is clearly
faster than torch's default BLAS path (which does not pick its AVX-512 kernels on every CPU):
an AST-base forward went from 7.0 s to 5.1 s on one thread, same sums to ~1e-6. It has no
autograd support and ignores autocast, so training and autocast keep ``nn.Linear``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .fastpath import use_cpu_fast_path

_FUSED_LINEAR = getattr(torch.ops.mkldnn, "_linear_pointwise", None) if torch.backends.mkldnn.is_available() else None


def linear(layer: nn.Linear, x: torch.Tensor, gelu: bool = False,
           residual: torch.Tensor | None = None) -> torch.Tensor:
    """``layer(x)``, then exact (erf) GELU when ``gelu``, then ``+ residual`` when given; fused
    through oneDNN on CPU inference (the residual add as the GEMM's post-op: one pass less over
    the activations, the same float32 sums)."""
    # A quantised Linear (torch.ao, or polymodal's int8) is not an nn.Linear: it is called as is.
    if _FUSED_LINEAR is not None and isinstance(layer, nn.Linear) and use_cpu_fast_path(x, layer.weight):
        if residual is not None and not gelu and _fusable_residual(residual, x, layer):
            return _FUSED_LINEAR.binary(x, residual, layer.weight, layer.bias, "add")
        out = _FUSED_LINEAR(x, layer.weight, layer.bias, "gelu" if gelu else "none", [], "none" if gelu else "")
    elif gelu and getattr(layer, "fuses_gelu", False):  # an int8 layer applies GELU in its own kernel
        out = layer(x, gelu=True)
    elif residual is not None and getattr(layer, "fuses_residual", False):  # ... and the residual add
        return layer(x, residual=residual)
    else:
        out = layer(x)
        out = F.gelu(out) if gelu else out
    return out if residual is None else out + residual


def _fusable_residual(residual: torch.Tensor, x: torch.Tensor, layer: nn.Linear) -> bool:
    """oneDNN's sum post-op needs the residual in the output's exact shape and dtype."""
    return (residual.dtype == x.dtype and residual.device == x.device
            and residual.shape == (*x.shape[:-1], layer.out_features))


def gelu_mlp(fc1: nn.Module, fc2: nn.Module, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
    """``fc2(gelu(fc1(x))) + residual`` (a transformer's feed-forward block, dropout off).

    Layers that can hand the hidden activation from one kernel to the next in a cheaper form say
    so with a ``forward_gelu_chain(fc1, fc2, x, residual)`` static method (polymodal's static
    int8 linear writes it as the uint8 the second layer reads); otherwise two ``linear`` calls.
    """
    chain = getattr(type(fc1), "forward_gelu_chain", None)
    out = chain(fc1, fc2, x, residual) if chain is not None else None
    return out if out is not None else linear(fc2, linear(fc1, x, gelu=True), residual=residual)


def linears(x: torch.Tensor, *layers: nn.Module) -> tuple[torch.Tensor, ...]:
    """``linear(layer, x)`` for several layers reading one input (attention's q, k and v).

    Layers that can share work on a common input say so with a ``forward_shared(x, layers)``
    static method (polymodal's int8 linear quantises ``x`` once for all of them).
    """
    shared = getattr(type(layers[0]), "forward_shared", None)
    outputs = shared(x, layers) if shared is not None else None
    return outputs if outputs is not None else tuple(linear(layer, x) for layer in layers)
