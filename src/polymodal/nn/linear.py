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

_FUSED_LINEAR = getattr(torch.ops.mkldnn, "_linear_pointwise", None) if torch.backends.mkldnn.is_available() else None
_FUSED_DTYPES = (torch.float32, torch.bfloat16)


def _can_fuse(x: torch.Tensor, weight: torch.Tensor) -> bool:
    if _FUSED_LINEAR is None or x.device.type != "cpu" or x.dtype not in _FUSED_DTYPES or x.dtype != weight.dtype:
        return False
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
        return False  # no backward for the fused kernel
    if torch.jit.is_tracing():
        return False  # ONNX export traces the graph: the oneDNN op has no ONNX form
    return not torch.is_autocast_enabled("cpu")


def linear(layer: nn.Linear, x: torch.Tensor, gelu: bool = False) -> torch.Tensor:
    """``layer(x)``, then exact (erf) GELU when ``gelu``; fused through oneDNN on CPU inference."""
    # A dynamically quantised Linear (torch.ao) has ``weight()`` as a method, not a tensor: call it.
    if isinstance(layer, nn.Linear) and _can_fuse(x, layer.weight):
        return _FUSED_LINEAR(x, layer.weight, layer.bias, "gelu" if gelu else "none", [], "none" if gelu else "")
    x = layer(x)
    return F.gelu(x) if gelu else x
