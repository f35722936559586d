"""The one rule for CPU inference fast paths, and a switch to turn them off.

Some torch kernels are faster on CPU but have no autograd, no autocast and no ONNX form: oneDNN's
fused linear (bias and GELU folded into the GEMM, ``nn/linear.py``) and wav2vec2's frames-first
convolution (strided views and batched GEMMs, ``models/wav2vec2/modeling.py``). Every such path
asks :func:`use_cpu_fast_path` first, so they all step aside in the same situations:

* the input is not a float32/bfloat16 CPU tensor, or a parameter has another dtype;
* autograd needs the result (grad mode on and the input or a parameter requires grad);
* autocast is on (the fused kernels would ignore it) or torch is tracing (ONNX export);
* :func:`cpu_fast_paths` turned them off (tests run both paths on the same input).

A new family uses a fast path by calling ``nn.linear.linear(layer, x, gelu=...)`` instead of
``layer(x)``; a new kernel of its own guards itself with ``use_cpu_fast_path(x, *params)``.
"""

from __future__ import annotations

import contextlib

import torch

_FAST_DTYPES = (torch.float32, torch.bfloat16)
_enabled = True


def use_cpu_fast_path(x: torch.Tensor, *params: torch.Tensor) -> bool:
    """Whether an inference-only CPU kernel may replace the autograd op on ``x`` (and ``params``)."""
    if not _enabled or x.device.type != "cpu" or x.dtype not in _FAST_DTYPES:
        return False
    if any(p.dtype != x.dtype for p in params):
        return False
    if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params)):
        return False  # the fast kernels have no backward
    if torch.jit.is_tracing():
        return False  # strided views and oneDNN ops have no ONNX form
    return not torch.is_autocast_enabled("cpu")


def enabled() -> bool:
    """Whether :func:`cpu_fast_paths` leaves the fast paths on (kernels with a backward of their own,
    like wav2vec2's channels-last positional convolution, ask only this)."""
    return _enabled


@contextlib.contextmanager
def cpu_fast_paths(enabled: bool):
    """Turn the CPU fast paths on or off inside a ``with`` block (the plain torch ops run instead)."""
    global _enabled
    previous, _enabled = _enabled, bool(enabled)
    try:
        yield
    finally:
        _enabled = previous
