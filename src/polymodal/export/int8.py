"""int8 linear and convolution layers over oneDNN's quantised kernels (VNNI / AMX on x86).

Weights are int8, symmetric, one scale per output channel; activations are uint8, one scale and
zero point per tensor: fixed from calibration ("static") or measured on every call ("dynamic").
The kernels (``torch.ops.onednn.qlinear_pointwise`` / ``qconv_pointwise``, the ones torch's x86
inductor quantiser lowers to) accumulate in int32 and write float32 with the bias (and GELU)
applied, so a layer is a drop-in replacement for ``nn.Linear`` / ``nn.Conv1d`` / ``nn.Conv2d``.

Outlier channels. A trained network often has a few input channels far larger than the rest (a
trained wav2vec2's conv stack: a few up to ~40, most below 1). One uint8 scale per tensor is then
set by those few and the others get a level or two — crushed, and a layer norm over channels
further on scales their error back up (31% top-1 agreement on a trained wav2vec2). As in
LLM.int8() (Dettmers et al., 2022), such channels leave the int8 product: a channel whose |max|
exceeds ``OUTLIER_RATIO`` × the median channel's is an outlier, the others are quantised with a
scale that fits *them*, and the outliers' share is added in float (their few columns of the
dequantised weight: a thin GEMM). Dynamic layers find outliers on every call; static layers keep
the set found at calibration (``input_outliers``, a bool per input channel).

State-dict keys are the float layer's (``weight`` now int8, ``bias``) plus ``weight_scale`` and,
when static, ``input_scale`` / ``input_zero_point`` / ``input_outliers``; all are plain tensors,
so a quantised model saves to safetensors. The weight is packed into oneDNN's blocked layout on
first use (not a re-quantisation: the int8 numbers are the saved ones) and re-packed if the
weight is replaced. Where the oneDNN ops are missing (another device, a torch without them) the
same integer maths runs as float matmuls on dequantised tensors.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import InvalidInputError

_ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.onednn, "qlinear_pointwise")
_QMAX = 127  # symmetric int8 weights: [-127, 127] keeps the scale exact for ±max

# A channel is an outlier when its |max| exceeds this many times the median channel's: the other
# channels then keep at least 255 / 8 ≈ 32 uint8 levels each (a random-weight or well-normalised
# layer has max / median ≈ 1.5–3 and never trips it).
OUTLIER_RATIO = 8.0
# At most this share of the channels runs in float (the thin float GEMM stays ~1% of the layer).
MAX_OUTLIER_FRACTION = 1 / 16
# Fewer input channels than this (a patch embedding's RGB or mel input): one range, no split.
MIN_OUTLIER_CHANNELS = 16
# Dynamic layers look for outliers on this many rows (tokens / frames), evenly spaced: outlier
# channels are systematic (large on nearly every row), and torch's per-channel min/max over all
# rows costs 10-100x a whole-tensor min/max (100 ms for AST's 2428 x 3072 feed-forward input).
SAMPLE_ROWS = 64


def _cpu_has(*checks: str) -> bool:
    cpu = getattr(torch, "cpu", None)
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX). A checkpoint saved
    with bf16 attention runs it in bf16 there; elsewhere bf16 GEMMs are emulated, slower than
    float32, so it runs float32."""
    return _cpu_has("_is_avx512_bf16_supported", "_is_amx_tile_supported")


def bf16_attention_pays() -> bool:
    """Whether ``quantize`` picks bf16 attention by default: only with AMX tiles, where torch's CPU
    flash attention multiplies bf16 blocks on them. With AVX-512 BF16 alone (AMD Zen 4, 2 threads,
    AST-base's 2 x 12 heads x 1214 tokens) bf16 SDPA measured 1.05x float32's time (64.5 vs 61.5
    ms, interleaved medians): float32 is already near the FMA peak there, so bf16 buys no speed."""
    return _cpu_has("_is_amx_tile_supported")


# How attention over int8 q / k / v projections is computed: their kernels write that dtype and
# SDPA runs in it. The error bf16 adds (~0.4% relative on the attention output) is below int8's own.
ATTENTION_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def weight_to_int8(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-output-channel symmetric int8: (out, ...) float → (int8 weight, float32 scale (out,))."""
    w = weight.detach().float()
    scale = w.abs().amax(dim=tuple(range(1, w.dim()))).clamp(min=1e-12) / _QMAX  # (out,)
    q = torch.round(w / scale.view(-1, *[1] * (w.dim() - 1))).clamp_(-_QMAX, _QMAX).to(torch.int8)
    return q, scale


def range_to_qparams(low: float, high: float) -> tuple[float, int]:
    """uint8 affine parameters covering [low, high] and zero exactly: (scale, zero_point)."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = (high - low) / 255.0
    if not scale > 0.0 or scale != scale:  # all zeros (or NaN): any scale represents them
        return 1.0, 0
    zero_point = int(round(-low / scale))
    return scale, min(max(zero_point, 0), 255)


def channel_ranges(x: torch.Tensor, axis: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel (min, max) of ``x`` over every dimension but ``axis``: two (C,) tensors."""
    rows = x.movedim(axis, -1).reshape(-1, x.shape[axis])  # (N, C); a view when channels are last
    return _fold(rows, torch.minimum), _fold(rows, torch.maximum)


def _fold(rows: torch.Tensor, op) -> torch.Tensor:
    """``op``-reduce (N, C) rows to (C,) by halving: elementwise kernels, several times faster
    than torch's reduction over the leading dimension."""
    while rows.shape[0] > 1:
        half = rows.shape[0] // 2
        folded = op(rows[:half], rows[half:2 * half])
        if rows.shape[0] % 2:
            folded[:1] = op(folded[:1], rows[-1:])
        rows = folded
    return rows[0]


def find_outliers(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor | None:
    """Sorted indices of the outlier channels given per-channel ranges (see the module doc), or None."""
    channels = low.numel()
    if channels < MIN_OUTLIER_CHANNELS:
        return None
    peak = torch.maximum(high, -low).float()  # (C,)
    count = int((peak > OUTLIER_RATIO * peak.median()).sum())
    if count == 0:
        return None
    keep = min(count, max(1, int(channels * MAX_OUTLIER_FRACTION)))
    return peak.topk(keep).indices.sort().values


def split_qparams(low: torch.Tensor, high: torch.Tensor, outliers: torch.Tensor | None) -> tuple[float, int]:
    """uint8 parameters covering every channel's range except the outliers'."""
    if outliers is not None:
        low, high = low.clone(), high.clone()
        low[outliers], high[outliers] = 0.0, 0.0
    return range_to_qparams(float(low.min()), float(high.max()))


def _quantize_u8(x: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
    """float → uint8 ``clamp(round(x / scale) + zero_point, 0, 255)`` of a contiguous ``x``."""
    with warnings.catch_warnings():
        # The quantised-tensor API is deprecated, but its quantise kernel is the fastest one-pass
        # float → uint8 conversion torch has (3x faster than round/clamp/cast on this CPU).
        warnings.simplefilter("ignore")
        q = torch.quantize_per_tensor(x, scale, zero_point, torch.quint8)
    # Its bytes *are* the uint8 values: view them (``int_repr()`` would copy, at 10x the cost).
    return torch.empty(0, dtype=torch.uint8).set_(q.untyped_storage(), q.storage_offset(), q.shape, q.stride())


def input_range_qparams(x: torch.Tensor) -> tuple[float, int]:
    """uint8 parameters covering this tensor's own range (one range, no outlier split)."""
    low, high = torch.aminmax(x)
    return range_to_qparams(float(low), float(high))


class InputQParams(NamedTuple):
    """How an input is quantised: per-tensor uint8 scale and zero point, outlier channels kept float."""

    scale: float
    zero_point: int
    outliers: torch.Tensor | None = None  # channel indices, sorted

    def key(self) -> tuple:
        return self.scale, self.zero_point, None if self.outliers is None else tuple(self.outliers.tolist())


def sampled_outliers(x: torch.Tensor, axis: int) -> torch.Tensor | None:
    """Dynamic mode: outlier channels of ``x`` judged on ``SAMPLE_ROWS`` evenly spaced rows."""
    if x.shape[axis] < MIN_OUTLIER_CHANNELS:
        return None
    rows = x.movedim(axis, -1).reshape(-1, x.shape[axis])  # (N, C)
    if rows.shape[0] > SAMPLE_ROWS:
        rows = rows.index_select(0, torch.linspace(0, rows.shape[0] - 1, SAMPLE_ROWS).long())
    return find_outliers(_fold(rows, torch.minimum), _fold(rows, torch.maximum))


def measure_qparams(x: torch.Tensor, axis: int, split: bool = True) -> InputQParams:
    """Dynamic mode: outlier channels (when ``split``), then the exact range of ``x`` without them."""
    outliers = sampled_outliers(x, axis) if split else None
    if outliers is None:
        return InputQParams(*input_range_qparams(x))
    return InputQParams(*input_range_qparams(x.index_fill(axis, outliers, 0.0)), outliers)


class QuantizedInput(NamedTuple):
    values: torch.Tensor  # uint8, the float input's shape; outlier channels hold the zero point
    qparams: InputQParams
    outlier_values: torch.Tensor | None  # float32 (..., k) along ``axis``: the outlier channels
    axis: int


def quantize_input(x: torch.Tensor, static_qparams: InputQParams | None, axis: int = -1,
                   split: bool = True) -> QuantizedInput:
    """uint8 copy of ``x`` (contiguous) with the static parameters, or parameters measured on ``x``."""
    flat = x.float().contiguous()
    if static_qparams is not None:
        outliers = static_qparams.outliers
        values = _quantize_u8(flat, static_qparams.scale, static_qparams.zero_point)
        if outliers is None:
            return QuantizedInput(values, static_qparams, None, axis)
        values.index_fill_(axis, outliers, static_qparams.zero_point)  # the zero point stands for 0.0
        return QuantizedInput(values, static_qparams, flat.index_select(axis, outliers), axis)
    outliers = sampled_outliers(flat, axis) if split else None
    if outliers is None:
        qparams = InputQParams(*input_range_qparams(flat))
        return QuantizedInput(_quantize_u8(flat, qparams.scale, qparams.zero_point), qparams, None, axis)
    picked = flat.index_select(axis, outliers)
    if (torch.is_grad_enabled() and flat.requires_grad) or (flat.is_inference() and not torch.is_inference_mode_enabled()):
        flat = flat.index_fill(axis, outliers, 0.0)  # a tensor we may not write to: copy it
        restore = False
    else:
        # Zero the outlier channels in place for the range and the int8 product, then put them
        # back: a copy of a large activation costs ~10x the two strided passes.
        flat.index_fill_(axis, outliers, 0.0)
        restore = True
    try:
        qparams = InputQParams(*input_range_qparams(flat), outliers)
        values = _quantize_u8(flat, qparams.scale, qparams.zero_point)
    finally:
        if restore:
            flat.index_copy_(axis, outliers, picked)
    return QuantizedInput(values, qparams, picked, axis)


def fake_quantize(x: torch.Tensor, qparams: InputQParams, axis: int) -> torch.Tensor:
    """The input the int8 kernel sees plus the float outliers, as floats (the fallback's maths)."""
    scale, zero_point, outliers = qparams
    out = (torch.round(x / scale) + zero_point).clamp_(0, 255).sub_(zero_point).mul_(scale)
    if outliers is not None:
        out.index_copy_(axis, outliers, x.index_select(axis, outliers))
    return out


class _Int8Layer(nn.Module):
    """Shared state of the int8 layers: int8 weight, its scales, the input's quantisation."""

    split_outliers = True  # grouped convolutions: False (an input channel feeds one group only)

    def _init_buffers(self, weight_shape: tuple[int, ...], bias: bool, static: bool, outliers: bool = True) -> None:
        self.register_buffer("weight", torch.zeros(weight_shape, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(weight_shape[0]))
        self.bias = nn.Parameter(torch.zeros(weight_shape[0]), requires_grad=False) if bias else None
        self.static = static
        if static:
            self.register_buffer("input_scale", torch.ones(()))
            self.register_buffer("input_zero_point", torch.zeros((), dtype=torch.int32))
            # Absent in format-1 checkpoints (written before outlier channels were split).
            if outliers and self.split_outliers:
                self.register_buffer("input_outliers", torch.zeros(weight_shape[1], dtype=torch.bool))
        self._packed, self._packed_key = None, None

    def _load_float(self, layer: nn.Module) -> None:
        q, scale = weight_to_int8(layer.weight)
        self.weight.copy_(q)
        self.weight_scale.copy_(scale)
        if self.bias is not None:
            self.bias.data.copy_(layer.bias.detach().float())

    def set_input_range(self, low, high) -> None:
        """Static mode: fix the input's quantisation from a calibrated range — floats (one range),
        or per-input-channel tensors of shape (C,), from which outlier channels are split off."""
        if isinstance(low, torch.Tensor) and low.dim() == 1:
            outliers = find_outliers(low, high) if hasattr(self, "input_outliers") else None
            scale, zero_point = split_qparams(low, high, outliers)
        else:
            outliers = None
            scale, zero_point = range_to_qparams(float(low), float(high))
        self.input_scale.fill_(scale)
        self.input_zero_point.fill_(zero_point)
        self._mark_outliers(outliers)

    def _mark_outliers(self, outliers: torch.Tensor | None) -> None:
        """Record calibrated outlier input channels in ``input_outliers`` (layers that keep the set)."""
        if hasattr(self, "input_outliers"):
            self.input_outliers.zero_()
            if outliers is not None:
                self.input_outliers[outliers] = True

    def _static_outliers(self) -> torch.Tensor | None:
        """Sorted indices of the calibrated outlier channels, or None; re-read when the mask changes
        (a load_state_dict writes into it)."""
        mask = getattr(self, "input_outliers", None)
        if mask is None:
            return None
        key = (mask.data_ptr(), mask._version)
        if getattr(self, "_outliers_key", None) != key:
            self._outliers = mask.nonzero().flatten() if bool(mask.any()) else None
            self._outliers_key = key
        return self._outliers

    def _static_qparams(self) -> InputQParams | None:
        if not self.static:
            return None
        return InputQParams(float(self.input_scale), int(self.input_zero_point), self._static_outliers())

    def _packed_weight(self, pack) -> torch.Tensor:
        key = (self.weight.data_ptr(), self.weight._version)
        if self._packed_key != key:
            self._packed, self._packed_key = pack(), key
        return self._packed

    def _zero_points(self) -> torch.Tensor:
        return torch.zeros(self.weight.shape[0], dtype=torch.long)

    def _use_onednn(self, x: torch.Tensor) -> bool:
        if torch.jit.is_tracing():
            raise InvalidInputError("An int8 polymodal model cannot be traced for ONNX; export the float model.")
        return _ONEDNN and x.device.type == "cpu"

    def _dequantized_weight(self, channels: torch.Tensor | None = None) -> torch.Tensor:
        """Float weight (only the given input channels' slices when ``channels`` is given)."""
        weight = self.weight if channels is None else self.weight.index_select(1, channels)
        return weight.float() * self.weight_scale.view(-1, *[1] * (self.weight.dim() - 1))


class Int8Linear(_Int8Layer):
    """``nn.Linear`` with int8 weights and uint8 activations (static or dynamic)."""

    fuses_gelu = True  # nn.linear.linear(layer, x, gelu=True) passes GELU to the kernel
    fuses_residual = True  # nn.linear.linear(layer, x, residual=r) adds r in the kernel
    # The dtype the kernel writes (None: the input's). The quantiser sets attention projections
    # to bf16 for bf16 attention (ATTENTION_DTYPES).
    output_dtype: torch.dtype | None = None
    # Attention's q / k / v (set by the quantiser): in ``forward_shared`` their weights run as one
    # stacked GEMM (AST-base: 0.86x the time of three 768-wide ones), each output a column slice.
    stacked = False

    def __init__(self, in_features: int, out_features: int, bias: bool = True, static: bool = False,
                 outliers: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._init_buffers((out_features, in_features), bias, static, outliers)

    @classmethod
    def from_float(cls, layer: nn.Linear, static: bool = False) -> Int8Linear:
        new = cls(layer.in_features, layer.out_features, layer.bias is not None, static)
        new._load_float(layer)
        return new

    def forward(self, x: torch.Tensor, gelu: bool = False, residual: torch.Tensor | None = None) -> torch.Tensor:
        """``layer(x)``, then GELU when ``gelu``, then ``+ residual`` when given."""
        shape = (*x.shape[:-1], self.out_features)
        dtype = self.output_dtype or x.dtype
        if not self._use_onednn(x):
            x2 = x.reshape(-1, self.in_features).float()  # (N, in)
            qparams = self._static_qparams() or measure_qparams(x2, -1)
            out = F.linear(fake_quantize(x2, qparams, -1), self._dequantized_weight(), self.bias)
            out = (F.gelu(out) if gelu else out).reshape(shape)
            return (out if residual is None else out + residual).to(dtype)
        if residual is not None and (dtype != torch.float32 or not _fusable_residual(residual, shape, gelu)):
            return self.forward(x, gelu) + residual
        out = self._int8_forward(quantize_input(x, self._static_qparams()), gelu, residual, dtype)
        return out.view(shape)

    def _int8_forward(self, quantized: QuantizedInput, gelu: bool = False, residual: torch.Tensor | None = None,
                      dtype: torch.dtype = torch.float32, output_qparams: InputQParams | None = None) -> torch.Tensor:
        """(N, out) from a quantised input: float32 or bf16 (``dtype``), or uint8 with
        ``output_qparams`` (the next layer's input quantisation). GELU and the residual add run
        in the kernel unless outliers are added after; a residual needs float32 output."""
        qx, (scale, zero_point, outliers), picked, _ = quantized
        fused = "gelu" if gelu and outliers is None else "none"
        packed = self._packed_weight(lambda: torch.ops.onednn.qlinear_prepack(self.weight, None))
        kernel_dtype = torch.float32 if outliers is not None else dtype
        out_scale, out_zero_point = (1.0, 0) if output_qparams is None else output_qparams[:2]
        if output_qparams is not None:
            kernel_dtype = torch.uint8
        args = (qx.view(-1, self.in_features), scale, zero_point, packed, self.weight_scale, self._zero_points())
        if residual is not None:
            # oneDNN's binary post-op: out = x·Wᵀ + b + residual in one pass, a new tensor (the
            # residual is left as it is: the caller may still hold it, e.g. as a hidden state).
            out = torch.ops.onednn.qlinear_pointwise.binary(
                *args, residual.reshape(-1, self.out_features), self.bias, out_scale, out_zero_point, kernel_dtype,
                1.0, 0, "add", 1.0, "none", [], "")
        else:
            out = torch.ops.onednn.qlinear_pointwise(
                *args, self.bias, out_scale, out_zero_point, kernel_dtype, fused, [],
                "none" if fused == "gelu" else "")
        if outliers is None:
            return out
        # The outlier channels' share in float: (N, k) @ (k, out), k a few channels.
        out.addmm_(picked.view(-1, outliers.numel()), self._dequantized_weight(outliers).t())
        return (torch.ops.aten.gelu_(out) if gelu else out).to(dtype)

    @staticmethod
    def forward_shared(x: torch.Tensor, layers) -> tuple[torch.Tensor, ...] | None:
        """Several int8 projections of one input (attention's q, k, v) with one quantise pass;
        None when they cannot share it (another kind of layer, different static ranges)."""
        first = layers[0]
        if not all(isinstance(layer, Int8Linear) for layer in layers) or not first._use_onednn(x):
            return None
        qparams = [layer._static_qparams() for layer in layers]
        if len({None if q is None else q.key() for q in qparams}) != 1:
            return None
        quantized = quantize_input(x, qparams[0])  # dynamic: measured once, outliers found once
        dtypes = {layer.output_dtype or x.dtype for layer in layers}
        if all(layer.stacked for layer in layers) and quantized.qparams.outliers is None and len(dtypes) == 1:
            return _stacked_forward(layers, quantized, dtypes.pop(), x.shape[:-1])
        return tuple(layer._int8_forward(quantized, dtype=layer.output_dtype or x.dtype).view(
            *x.shape[:-1], layer.out_features) for layer in layers)

    @staticmethod
    def forward_gelu_chain(fc1: nn.Module, fc2: nn.Module, x: torch.Tensor,
                           residual: torch.Tensor | None = None) -> torch.Tensor | None:
        """``fc2(gelu(fc1(x))) + residual`` with fc1's kernel writing uint8 in fc2's static input
        quantisation: the wide hidden activation (AST-base: 2428 × 3072) is never written as
        float nor quantised in a pass of its own. None when the pair cannot chain (dynamic,
        outlier channels on either input, not the oneDNN kernels): the caller runs them apart."""
        if not (isinstance(fc1, Int8Linear) and isinstance(fc2, Int8Linear) and fc1.static and fc2.static
                and fc1._use_onednn(x)):
            return None
        inner, outer = fc1._static_qparams(), fc2._static_qparams()
        if inner.outliers is not None or outer.outliers is not None:
            return None
        shape = (*x.shape[:-1], fc2.out_features)
        if residual is not None and not _fusable_residual(residual, shape, False):
            return None
        hidden = fc1._int8_forward(quantize_input(x, inner), gelu=True, output_qparams=outer)  # uint8
        out = fc2._int8_forward(QuantizedInput(hidden, outer, None, -1), residual=residual)
        return out.view(shape).to(x.dtype)

    def extra_repr(self) -> str:
        mode = "static" if self.static else "dynamic"
        dtype = "" if self.output_dtype is None else f", {str(self.output_dtype).replace('torch.', '')} output"
        return f"in_features={self.in_features}, out_features={self.out_features}, int8, {mode}{dtype}"


def _stacked_forward(layers, quantized: QuantizedInput, dtype: torch.dtype, lead: tuple) -> tuple[torch.Tensor, ...]:
    """The layers' outputs from one GEMM over their stacked weights (packed once, re-packed when a
    weight, scale or bias changes); each output is a view of its columns."""
    first = layers[0]
    key = tuple((t.data_ptr(), t._version) for layer in layers
                for t in (layer.weight, layer.weight_scale, layer.bias) if t is not None)
    if getattr(first, "_stacked_key", None) != key:
        weight = torch.cat([layer.weight for layer in layers])
        bias = None if all(layer.bias is None for layer in layers) else torch.cat([
            layer.bias.detach() if layer.bias is not None else torch.zeros(layer.out_features) for layer in layers])
        first._stacked = (torch.ops.onednn.qlinear_prepack(weight, None),
                          torch.cat([layer.weight_scale for layer in layers]), bias)
        first._stacked_key = key
    packed, scales, bias = first._stacked
    qx, (scale, zero_point, _), _, _ = quantized
    width = scales.numel()
    out = torch.ops.onednn.qlinear_pointwise(
        qx.view(-1, qx.shape[-1]), scale, zero_point, packed, scales, torch.zeros(width, dtype=torch.long), bias,
        1.0, 0, dtype, "none", [], "")
    outputs, start = [], 0
    for layer in layers:
        outputs.append(out[:, start:start + layer.out_features].view(*lead, layer.out_features))
        start += layer.out_features
    return tuple(outputs)


def _fusable_residual(residual: torch.Tensor, shape: tuple, gelu: bool) -> bool:
    """oneDNN's add post-op needs a float32 residual of the output's shape (and no GELU after it)."""
    return not gelu and residual.dtype == torch.float32 and tuple(residual.shape) == tuple(shape)


class _Int8Conv(_Int8Layer):
    """``nn.Conv1d`` / ``nn.Conv2d`` (zero padding; grouped too) with int8 weights and uint8 activations."""

    dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding, dilation,
                 bias: bool = True, static: bool = False, outliers: bool = True, groups: int = 1):
        super().__init__()
        as_tuple = (lambda v: (v,) * self.dims if isinstance(v, int) else tuple(v))
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = as_tuple(kernel_size), as_tuple(stride)
        self.padding, self.dilation = as_tuple(padding), as_tuple(dilation)
        # The float share of an outlier channel would need a grouped conv of its own; grouped
        # layers (wav2vec2's positional conv) keep one range per tensor.
        self.split_outliers = groups == 1
        self._init_buffers((out_channels, in_channels // groups, *self.kernel_size), bias, static, outliers)

    @classmethod
    def from_float(cls, layer: nn.Module, static: bool = False) -> _Int8Conv:
        """From a float conv; a weight-normed one (a parametrisation) is quantised as the weight it computes."""
        new = cls(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                  layer.dilation, layer.bias is not None, static, groups=layer.groups)
        new._load_float(layer)
        return new

    def _conv_args(self) -> tuple[list[int], list[int], list[int], int]:
        return list(self.stride), list(self.padding), list(self.dilation), self.groups

    def _float_conv(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        conv = F.conv1d if self.dims == 1 else F.conv2d
        return conv(x, weight, bias, *self._conv_args())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._use_onednn(x):
            xf = x.float()
            qparams = self._static_qparams() or measure_qparams(xf, 1, self.split_outliers)
            return self._float_conv(fake_quantize(xf, qparams, 1), self._dequantized_weight(), self.bias).to(x.dtype)
        # Quantise channels-last memory as it lies (wav2vec2's frames-first conv stack): a
        # contiguous copy of the transposed view would cost as much as the int8 conv itself.
        channels_last = x.movedim(1, -1)
        last = channels_last.is_contiguous()
        quantized = quantize_input(channels_last if last else x, self._static_qparams(), -1 if last else 1,
                                   self.split_outliers)
        qx, (scale, zero_point, outliers), picked, axis = quantized
        qx = qx.movedim(-1, 1) if last else qx
        args = self._conv_args()
        packed = self._packed_weight(lambda: torch.ops.onednn.qconv_prepack(
            self.weight, self.weight_scale, scale, zero_point, *args, None))
        out = torch.ops.onednn.qconv_pointwise(qx, scale, zero_point, packed, self.weight_scale, self._zero_points(),
                                               self.bias, *args, 1.0, 0, torch.float32, "none", [], "")
        if outliers is not None:  # the outlier channels' share: a float conv over k input channels
            out.add_(self._float_conv(picked.movedim(-1, 1) if last else picked, self._dequantized_weight(outliers),
                                      None))
        return out.to(x.dtype)

    def extra_repr(self) -> str:
        mode = "static" if self.static else "dynamic"
        groups = f", groups={self.groups}" if self.groups != 1 else ""
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}{groups}, int8, {mode}")


class Int8Conv1d(_Int8Conv):
    dims = 1


class Int8Conv2d(_Int8Conv):
    dims = 2


INT8_CLASSES = {nn.Linear: Int8Linear, nn.Conv1d: Int8Conv1d, nn.Conv2d: Int8Conv2d}
