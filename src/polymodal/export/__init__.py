"""CPU deployment: int8 quantisation (saved as safetensors) and ONNX export.

- :func:`quantize` — int8 linear and convolution layers on oneDNN's VNNI/AMX kernels, static
  (calibrated) or dynamic activations; the result saves and loads with ``save_pretrained`` /
  ``from_pretrained``. ``polymodal quantize MODEL_DIR OUT_DIR`` does the same from the shell.
- :func:`export_onnx` — an ONNX graph of the float model.
- :func:`quantize_dynamic` — torch.ao's older dynamic int8 (linear layers only, not saveable).
"""

from .dynamic import quantize_dynamic
from .int8 import Int8Conv1d, Int8Conv2d, Int8Linear
from .onnx import default_inputs, export_onnx
from .quantize import QUANT_METHOD, prepare_quantized_model, quantizable_layers, quantize

__all__ = [
    "QUANT_METHOD",
    "Int8Conv1d",
    "Int8Conv2d",
    "Int8Linear",
    "default_inputs",
    "export_onnx",
    "prepare_quantized_model",
    "quantizable_layers",
    "quantize",
    "quantize_dynamic",
]
