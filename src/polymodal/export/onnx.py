"""ONNX export through torch's TorchScript-based exporter.

``export_onnx(model, path)`` writes an ONNX graph with dynamic batch and length axes
(``dynamo=False``: the newer exporter needs ``onnxscript``). It needs the ``onnx`` package
(``pip install polymodal[onnx]``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import nn

from ..core.errors import InvalidInputError
from ..core.io import atomic_path
from .int8 import _Int8Layer

# Names of the dimensions that vary between calls, per input (dim 0 is always the batch).
_INPUT_AXES = {
    "input_values": {0: "batch", 1: "samples"},
    "attention_mask": {0: "batch", 1: "samples"},
    "input_features": {0: "batch"},
    "input_ids": {0: "text_batch", 1: "sequence"},
    "pixel_values": {0: "image_batch"},
}


def _check_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInputError(f"path must be a file path (str or os.PathLike), got {type(path).__name__}.")
    path = Path(path)
    if path.is_dir():
        raise InvalidInputError(f"path {str(path)!r} is a directory; give a file name such as {str(path / 'model.onnx')!r}.")
    return path


def default_inputs(model: nn.Module) -> dict[str, torch.Tensor]:
    """Example inputs for tracing, built from the model's config and ``main_input_name``."""
    config = getattr(model, "config", None)
    main = getattr(model, "main_input_name", None)
    if config is None or main is None:
        raise InvalidInputError(f"{type(model).__name__} is not a polymodal model (no config/main_input_name); "
                                "pass example_inputs={name: tensor} explicitly.")
    if main == "input_values" and getattr(config, "model_type", None) != "audio-spectrogram-transformer":
        return {"input_values": torch.randn(1, 16000)}  # one second at 16 kHz
    if main == "input_ids" and hasattr(config, "vision_config"):  # CLIP-like dual encoders
        text, vision = config.text_config, config.vision_config
        size = vision.image_size if isinstance(vision.image_size, int) else vision.image_size[0]
        return {"input_ids": torch.randint(0, text.vocab_size, (2, 7)),
                "pixel_values": torch.randn(1, getattr(vision, "num_channels", 3), size, size)}
    if main == "input_ids":
        return {"input_ids": torch.randint(0, config.vocab_size, (1, 7))}
    if main == "pixel_values":
        size = config.image_size if isinstance(config.image_size, int) else config.image_size[0]
        return {"pixel_values": torch.randn(1, getattr(config, "num_channels", 3), size, size)}
    raise InvalidInputError(f"No default example inputs for {type(model).__name__} (main input {main!r}); "
                            "pass example_inputs={name: tensor} explicitly.")


class _TupleOutputs(nn.Module):
    """Calls the model with keyword inputs and returns its tensor outputs as a flat tuple."""

    def __init__(self, model: nn.Module, input_names: list[str], output_names: list[str]):
        super().__init__()
        self.model, self.input_names, self.output_names = model, input_names, output_names

    def forward(self, *args):
        out = self.model(**dict(zip(self.input_names, args)), return_dict=True)
        return tuple(out[name] for name in self.output_names)


def _tensor_outputs(model: nn.Module, inputs: dict) -> list[str]:
    with torch.no_grad():
        out = model(**inputs, return_dict=True)
    return [name for name, value in out.items() if isinstance(value, torch.Tensor)]


def export_onnx(model: nn.Module, path, example_inputs: dict | None = None, opset: int = 17,
                dynamic_axes: bool = True) -> Path:
    """Write ``model`` as an ONNX graph at ``path`` (atomically) and return the path.

    ``example_inputs`` is a dict of input name → tensor used for tracing (built from the config
    when omitted). Graph inputs keep those names; outputs are the model output's tensor fields
    (``logits``, ``last_hidden_state``, ``logits_per_image`` …). With ``dynamic_axes`` the batch
    and length dimensions may change at run time. Trace-time Python branches are fixed: export
    with ``attention_mask`` in ``example_inputs`` if you will feed one.
    """
    try:
        import onnx  # noqa: F401  (the TorchScript exporter serialises through it)
    except ImportError as err:
        raise ImportError("export_onnx needs the onnx package: pip install 'polymodal[onnx]'") from err
    if not isinstance(model, nn.Module) or isinstance(model, torch.jit.ScriptModule):
        raise InvalidInputError(f"export_onnx expects a polymodal model (torch nn.Module), got {type(model).__name__}.")
    if any(type(m).__module__.startswith("torch.ao.nn.quantized") or isinstance(m, _Int8Layer) for m in model.modules()):
        raise InvalidInputError("export_onnx cannot export a torch-quantised model; export the float model and "
                                "quantise the ONNX file with onnxruntime.quantization.quantize_dynamic instead.")
    path = _check_path(path)
    inputs = default_inputs(model) if example_inputs is None else example_inputs
    if not isinstance(inputs, dict) or not all(isinstance(v, torch.Tensor) for v in inputs.values()):
        raise InvalidInputError("example_inputs must be a dict of input name -> torch.Tensor, "
                                f"got {type(inputs).__name__}.")
    was_training = model.training
    model.eval()
    try:
        input_names = list(inputs)
        output_names = _tensor_outputs(model, inputs)
        axes = None
        if dynamic_axes:
            axes = {name: _INPUT_AXES.get(name, {0: "batch"}) for name in input_names}
        with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
            # Shape checks on user input become constants in the trace; that is expected.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(_TupleOutputs(model, input_names, output_names), tuple(inputs.values()), tmp,
                              input_names=input_names, output_names=output_names, opset_version=opset,
                              dynamic_axes=axes, dynamo=False, do_constant_folding=True)
    finally:
        model.train(was_training)
    return path
