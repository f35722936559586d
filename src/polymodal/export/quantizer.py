"""int8 quantisation of a whole model (linear and convolution layers), saved and loaded as safetensors.

``quantize(model)`` returns a copy whose ``nn.Linear`` / ``nn.Conv1d`` / ``nn.Conv2d`` layers are
the int8 layers of :mod:`polymodal.export.int8`; with ``calibration_data`` the activation ranges
are measured once on those inputs (static), without it on every call (dynamic). The copy's config
gets a ``quantization_config``; ``save_pretrained`` writes int8 tensors and scales to safetensors,
and ``from_pretrained`` reads that config, builds the same int8 layers and loads the tensors as
they are — nothing is quantised again at load time.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..core.errors import ConfigError, InvalidInputError
from ..nn.fastpath import cpu_fast_paths
from .int8 import (
    ATTENTION_DTYPES,
    INT8_CLASSES,
    MAX_OUTLIER_FRACTION,
    OUTLIER_RATIO,
    Int8Linear,
    _Int8Layer,
    bf16_attention_pays,
    channel_ranges,
    native_bf16,
)
from .int8_frames import Int8FrameConv1d

QUANT_METHOD = "polymodal-int8"
SCHEMES = ("dynamic", "static")
# 1: per-tensor activations. 2: outlier input channels kept float (static layers save the set as
# ``input_outliers``). 3: wav2vec2-like conv stacks in int8 with one activation scale per output
# frame (``frame_scaled_modules``). Older checkpoints still load: format 1's static layers have no
# outlier set, formats 1-2 kept those conv stacks float (listed in ``modules_to_not_convert``).
FORMAT_VERSION = 3
# Layers with fewer inputs per output than this stay float: a wav2vec2 first conv reads 10 raw
# samples, where 8-bit input steps are audible noise, and costs little in float.
MIN_FAN_IN = 32


def _fan_in(layer: nn.Module) -> int:
    return layer.weight[0].numel()


def _float_type(layer: nn.Module) -> type:
    """The plain class of a layer: torch subclasses a parametrised (e.g. weight-normed) one on the fly."""
    return type(layer).__bases__[0] if parametrize.is_parametrized(layer) else type(layer)


def _quantizable(layer: nn.Module) -> bool:
    if _float_type(layer) not in INT8_CLASSES:
        return False
    if parametrize.is_parametrized(layer):
        # Weight norm (wav2vec2's positional conv): the int8 weight is the one it computes.
        if set(layer.parametrizations) != {"weight"}:
            return False
    elif "weight" not in layer._parameters:
        return False
    if isinstance(layer, nn.Linear):
        return True
    return layer.padding_mode == "zeros" and isinstance(layer.padding, tuple)


def _conv_stacks(model: nn.Module):
    """(name, module) of the conv feature encoders of wav2vec2-like models (Wav2Vec2, HuBERT,
    Data2Vec-Audio: a ``feature_extractor`` with ``conv_layers``)."""
    for name, module in model.named_modules():
        if name.rpartition(".")[2] == "feature_extractor" and hasattr(module, "conv_layers"):
            yield name, module


def default_modules_to_not_convert(model: nn.Module) -> list[str]:
    """What :func:`quantize` keeps float unless told otherwise: a wav2vec2-like conv stack with a
    layer that cannot run with per-frame activation scales (none of the released shapes).

    Why per frame: padded or silent frames leave that stack's output ~100x smaller than speech
    frames (on a trained model: per-frame std 0.005 vs 0.43), and ``feature_projection.layer_norm``
    normalises each frame by its own size. One int8 step per tensor that suits speech frames rounds
    the quiet ones to zero and the norm turns that into O(1) errors (any single conv layer in int8
    per tensor: 64-68% off after the norm, 9-12% top-1 agreement). :func:`frame_scaled_layers`
    gives those layers one scale per output frame instead; a stack it cannot cover stays float.
    """
    names = []
    for name, module in _conv_stacks(model):
        convs = [m for m in module.modules() if isinstance(m, nn.Conv1d) and _fan_in(m) >= MIN_FAN_IN]
        if not all(Int8FrameConv1d.supports(conv) for conv in convs):
            names.append(name)
    return names


def frame_scaled_layers(model: nn.Module, names: Iterable[str]) -> list[str]:
    """Of the layers being quantised, those of wav2vec2-like conv stacks: they run as
    :class:`~polymodal.export.int8_frames.Int8FrameConv1d`, one activation scale per output frame
    (see :func:`default_modules_to_not_convert` for why one scale per tensor fails there)."""
    stacks = tuple(name + "." for name, _ in _conv_stacks(model))
    return [name for name in names if name.startswith(stacks) and Int8FrameConv1d.supports(model.get_submodule(name))]


def quantizable_layers(model: nn.Module, modules_to_not_convert: Iterable[str] = ()) -> list[str]:
    """Names of the layers :func:`quantize` turns into int8 (skipping any under a listed name)."""
    skip = tuple(modules_to_not_convert)
    names = []
    for name, layer in model.named_modules():
        if not _quantizable(layer) or _fan_in(layer) < MIN_FAN_IN:
            continue
        if any(name == s or name.startswith(s + ".") or name.endswith("." + s) for s in skip):
            continue
        names.append(name)
    return names


def attention_projections(model: nn.Module) -> list[str]:
    """Names of the q / k / v projections whose attention runs in their output dtype: those a
    module lists in its ``attention_projections`` (ViT's, hence AST's and DeiT's, self-attention)."""
    names = []
    for name, module in model.named_modules():
        for child in getattr(type(module), "attention_projections", ()):
            names.append(f"{name}.{child}" if name else child)
    return names


def _resolve_attention_dtype(attention_dtype: str | None) -> str:
    """``None`` → bf16 where it is faster (AMX, ``bf16_attention_pays``), else float32; a name is checked."""
    if attention_dtype is None:
        return "bfloat16" if bf16_attention_pays() else "float32"
    if attention_dtype not in ATTENTION_DTYPES:
        raise InvalidInputError(f"attention_dtype must be one of {sorted(ATTENTION_DTYPES)} or None (bfloat16 on "
                                f"CPUs with AMX, else float32), got {attention_dtype!r}.")
    return attention_dtype


def _set_attention_dtype(model: nn.Module, attention_dtype: str) -> None:
    """Make the int8 attention projections write ``attention_dtype`` (float32: the input's dtype)."""
    dtype = None if attention_dtype == "float32" else ATTENTION_DTYPES[attention_dtype]
    for name in attention_projections(model):
        layer = model.get_submodule(name)
        if isinstance(layer, Int8Linear):
            layer.output_dtype = dtype
            layer.stacked = True  # one GEMM for q, k and v (Int8Linear.forward_shared)


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise InvalidInputError(f"quantize expects a torch nn.Module (a polymodal model), got {type(model).__name__}.")
    devices = {p.device.type for p in model.parameters()}
    if devices - {"cpu"}:
        raise InvalidInputError(f"int8 quantisation runs on CPU, but the model is on {sorted(devices)}; call model.cpu() first.")
    if any(p.dtype != torch.float32 for p in model.parameters() if p.is_floating_point()):
        raise InvalidInputError("quantize expects a float32 model; load it without torch_dtype or call model.float().")
    if any(isinstance(m, _Int8Layer) for m in model.modules()):
        raise InvalidInputError("The model is already quantised; quantise the float checkpoint instead.")


def _as_batches(model: nn.Module, calibration_data) -> list[dict]:
    """Calibration inputs as model keyword dicts: a tensor is the model's main input."""
    if isinstance(calibration_data, (torch.Tensor, dict)) or not isinstance(calibration_data, Iterable):
        calibration_data = [calibration_data]
    main = getattr(model, "main_input_name", "input_values")
    batches = []
    for item in calibration_data:
        if isinstance(item, torch.Tensor):
            item = {main: item}
        if not hasattr(item, "items") or not all(isinstance(v, torch.Tensor) for v in item.values()):
            raise InvalidInputError(
                "calibration_data must be a tensor, a dict of input name -> tensor (e.g. a processor's "
                f"BatchFeature with return_tensors='pt') or a list of them; got an item of type {type(item).__name__}.")
        batches.append(dict(item))
    if not batches:
        raise InvalidInputError("calibration_data is empty; pass a few typical inputs or omit it for dynamic int8.")
    return batches


def _calibrate(model: nn.Module, names: list[str], batches: list[dict]) -> dict[str, tuple]:
    """Per-input-channel (min, max) each named layer sees over the batches (float model)."""
    ranges: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def observe(name, axis):
        def hook(_module, args):
            low, high = channel_ranges(args[0].detach().float(), axis)
            old = ranges.get(name)
            ranges[name] = (low, high) if old is None else (torch.minimum(old[0], low), torch.maximum(old[1], high))
        return hook

    modules = dict(model.named_modules())
    handles = [modules[name].register_forward_pre_hook(observe(name, -1 if isinstance(modules[name], nn.Linear) else 1))
               for name in names]
    was_training = model.training
    try:
        # Fast paths call the kernels directly, past the hooks: run the plain layers instead.
        with torch.no_grad(), cpu_fast_paths(False):
            model.eval()
            for batch in batches:
                model(**batch)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    unused = [name for name in names if name not in ranges]
    if unused:
        raise InvalidInputError(f"The calibration inputs never reach {unused[:3]}...; pass inputs that run every "
                                "tower of the model (e.g. both text and images for CLIP), or quantise dynamically.")
    return ranges


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


def quantize(model: nn.Module, calibration_data=None, modules_to_not_convert: Iterable[str] | None = None,
             attention_dtype: str | None = None) -> nn.Module:
    """A copy of ``model`` with int8 linear and convolution layers (CPU; the original is unchanged).

    ``calibration_data``: a few typical inputs (a tensor for the main input, a dict of inputs,
    or a list of either) to fix each layer's activation range once (static int8, fastest); omit
    it to measure the range on every call (dynamic int8). ``modules_to_not_convert`` names
    layers (or parents of layers) to keep in float; ``None`` means
    :func:`default_modules_to_not_convert` (a wav2vec2-like conv stack), a list replaces it —
    ``default_modules_to_not_convert(model) + ["classifier"]`` adds to it, ``[]`` converts all.
    ``attention_dtype``: what attention over int8 q / k / v runs in (ViT-style self-attention:
    ViT, DeiT, AST) — ``"bfloat16"`` or ``"float32"``; ``None`` picks bf16 on CPUs with AMX
    (where it is faster; with AVX-512 BF16 alone it measured no faster) and float32 elsewhere.
    It is saved, and a loaded model runs the same way (float32 on a CPU without bf16 GEMMs,
    where bf16 would be slower).
    """
    _check_model(model)
    attention_dtype = _resolve_attention_dtype(attention_dtype)
    if modules_to_not_convert is None:
        modules_to_not_convert = default_modules_to_not_convert(model)
    skip = [modules_to_not_convert] if isinstance(modules_to_not_convert, str) else list(modules_to_not_convert)
    names = quantizable_layers(model, skip)
    if not names:
        raise InvalidInputError(f"{type(model).__name__} has no linear or convolution layer to quantise.")
    static = calibration_data is not None
    ranges = _calibrate(model, names, _as_batches(model, calibration_data)) if static else {}
    frame_scaled = frame_scaled_layers(model, names)
    quantized = copy.deepcopy(model).eval()
    for name in names:
        layer = quantized.get_submodule(name)
        cls = Int8FrameConv1d if name in frame_scaled else INT8_CLASSES[_float_type(layer)]
        new = cls.from_float(layer, static=static)
        if static:
            new.set_input_range(*ranges[name])
        _replace(quantized, name, new)
    _set_attention_dtype(quantized, attention_dtype)
    config = getattr(quantized, "config", None)
    if config is not None:
        config.quantization_config = {
            "quant_method": QUANT_METHOD, "format_version": FORMAT_VERSION,
            "activation_scheme": "static" if static else "dynamic",
            "weights": "int8, symmetric, per output channel",
            "activations": f"uint8, affine, per tensor; input channels above {OUTLIER_RATIO:g}x the median channel's "
                           f"|max| (at most {MAX_OUTLIER_FRACTION:.2%}) in float, found "
                           + ("at calibration" if static else "on every call"),
            # Absent before: float32. Read by prepare_quantized_model.
            "attention_dtype": attention_dtype,
            "modules_to_not_convert": skip, "modules": names,
        }
        # Format 3: these conv layers' activations have one scale per output frame (int8_frames).
        config.quantization_config["frame_scaled_modules"] = frame_scaled
    return quantized


def _empty_int8(layer: nn.Module, static: bool, version: int, frame_scaled: bool = False) -> nn.Module:
    """An int8 layer shaped like the float ``layer``, to receive saved int8 tensors."""
    if frame_scaled:
        return Int8FrameConv1d(layer.in_channels, layer.out_channels, layer.kernel_size[0], layer.stride[0],
                               layer.bias is not None, static)
    cls = INT8_CLASSES[_float_type(layer)]
    bias, outliers = layer.bias is not None, version >= 2
    if cls is Int8Linear:
        return cls(layer.in_features, layer.out_features, bias, static, outliers)
    return cls(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
               layer.dilation, bias, static, outliers, layer.groups)


def prepare_quantized_model(model: nn.Module, quantization_config: dict) -> None:
    """Swap in empty int8 layers where ``quantization_config`` says (``from_pretrained`` calls this)."""
    if not isinstance(quantization_config, dict) or quantization_config.get("quant_method") != QUANT_METHOD:
        method = quantization_config.get("quant_method") if isinstance(quantization_config, dict) else None
        raise ConfigError(f"config.json has quantization_config with quant_method {method!r}; polymodal loads only "
                          f"{QUANT_METHOD!r} checkpoints (written by polymodal.export.quantize or `polymodal "
                          "quantize`). Load the float checkpoint instead.")
    scheme = quantization_config.get("activation_scheme")
    if scheme not in SCHEMES:
        raise ConfigError(f"quantization_config.activation_scheme must be one of {SCHEMES}, got {scheme!r}.")
    version = quantization_config.get("format_version", 1)  # format 1 did not write it
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise ConfigError(f"quantization_config.format_version is {version!r}, but this polymodal reads int8 "
                          f"checkpoint formats 1 to {FORMAT_VERSION}; upgrade polymodal, or quantise the float "
                          "checkpoint again with this version.")
    frame_scaled = set(quantization_config.get("frame_scaled_modules", [])) if version >= 3 else set()
    for name in quantization_config.get("modules", []):
        try:
            layer = model.get_submodule(name)
        except AttributeError as err:
            raise ConfigError(f"quantization_config names a layer {name!r} that {type(model).__name__} does not "
                              "have; was the checkpoint saved from another architecture?") from err
        if _float_type(layer) not in INT8_CLASSES:
            raise ConfigError(f"quantization_config names {name!r}, a {type(layer).__name__}; only linear and "
                              "convolution layers are quantised.")
        if name in frame_scaled and not Int8FrameConv1d.supports(layer):
            raise ConfigError(f"quantization_config lists {name!r} in frame_scaled_modules, but it is not a "
                              "Conv1d without padding, dilation or groups; was the checkpoint saved from another "
                              "architecture?")
        _replace(model, name, _empty_int8(layer, scheme == "static", version, name in frame_scaled))
    attention_dtype = quantization_config.get("attention_dtype", "float32")  # absent: written before bf16
    if attention_dtype not in ATTENTION_DTYPES:
        raise ConfigError(f"quantization_config.attention_dtype must be one of {sorted(ATTENTION_DTYPES)}, got "
                          f"{attention_dtype!r}.")
    if attention_dtype == "bfloat16" and not native_bf16():
        attention_dtype = "float32"  # no bf16 GEMMs on this CPU: float32 is faster there, and closer
    _set_attention_dtype(model, attention_dtype)
