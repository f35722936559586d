"""CPU deployment: int8 quantisation (saved as safetensors) and ONNX export.

- :func:`quantize` — int8 linear and convolution layers on oneDNN's VNNI/AMX kernels, static
  (calibrated) or dynamic activations; the result saves and loads with ``save_pretrained`` /
  ``from_pretrained``. ``polymodal quantize MODEL_DIR OUT_DIR`` does the same from the shell.
- :func:`export_onnx` — an ONNX graph of the float model.
- :func:`quantize_dynamic` — torch.ao's older dynamic int8 (linear layers only, not saveable).

Names are imported on first use, so the CLI can reach ``polymodal.export.cli`` without torch.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "quantize_dynamic": "dynamic",
    "Int8Conv1d": "int8", "Int8Conv2d": "int8", "Int8Linear": "int8", "Int8FrameConv1d": "int8_frames",
    "default_inputs": "onnx", "export_onnx": "onnx",
    "QUANT_METHOD": "quantizer", "default_modules_to_not_convert": "quantizer",
    "prepare_quantized_model": "quantizer", "quantizable_layers": "quantizer",
    "quantize": "quantizer",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'polymodal.export' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_NAMES))
