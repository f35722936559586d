"""torch's dynamic int8 for ``nn.Linear`` only (torch.ao, deprecated upstream): kept for old code.

:func:`polymodal.export.quantize` supersedes it: int8 convolutions too, static or dynamic
activations, oneDNN VNNI/AMX kernels, and checkpoints that save to safetensors.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from ..core.errors import InvalidInputError

_QUANT_DTYPES = (torch.qint8, torch.float16)


def quantize_dynamic(model: nn.Module, dtype: torch.dtype = torch.qint8) -> nn.Module:
    """A copy of ``model`` whose ``nn.Linear`` layers run as dynamically quantised int8 (CPU only).

    Convolutions, norms and embeddings stay float32. The original model is left unchanged.
    """
    if not isinstance(model, nn.Module):
        raise InvalidInputError(f"quantize_dynamic expects a torch nn.Module (a polymodal model), got {type(model).__name__}.")
    if dtype not in _QUANT_DTYPES:
        raise InvalidInputError(f"dtype must be torch.qint8 or torch.float16, got {dtype}.")
    devices = {p.device.type for p in model.parameters()}
    if devices - {"cpu"}:
        raise InvalidInputError(f"quantize_dynamic runs on CPU only, but the model is on {sorted(devices)}; call model.cpu() first.")
    if any(p.dtype != torch.float32 for p in model.parameters() if p.is_floating_point()):
        raise InvalidInputError("quantize_dynamic expects a float32 model; load it without torch_dtype or call model.float().")
    quantized = copy.deepcopy(model).eval()
    with warnings.catch_warnings():
        # torch.ao.quantization warns that it is deprecated in favour of torchao (not a dependency here).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.ao.quantization.quantize_dynamic(quantized, {nn.Linear}, dtype=dtype, inplace=True)
    return quantized
