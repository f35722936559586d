"""int8 linear and convolution layers over oneDNN's quantised kernels (VNNI / AMX on x86).

Weights are int8, symmetric, one scale per output channel; activations are uint8, one scale and
zero point per tensor: fixed from calibration ("static") or measured on every call ("dynamic").
The kernels (``torch.ops.onednn.qlinear_pointwise`` / ``qconv_pointwise``, the ones torch's x86
inductor quantiser lowers to) accumulate in int32 and write float32 with the bias (and GELU)
applied, so a layer is a drop-in replacement for ``nn.Linear`` / ``nn.Conv1d`` / ``nn.Conv2d``.

State-dict keys are the float layer's (``weight`` now int8, ``bias``) plus ``weight_scale`` and,
when static, ``input_scale`` / ``input_zero_point``; all are plain tensors, so a quantised model
saves to safetensors. The weight is packed into oneDNN's blocked layout on first use (not a
re-quantisation: the int8 numbers are the saved ones) and re-packed if the weight is replaced.
Where the oneDNN ops are missing (another device, a torch without them) the same integer maths
runs as float matmuls on dequantised tensors.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import InvalidInputError

_ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.onednn, "qlinear_pointwise")
_QMAX = 127  # symmetric int8 weights: [-127, 127] keeps the scale exact for ±max


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
    """Dynamic mode: uint8 parameters covering this tensor's own range."""
    low, high = torch.aminmax(x)
    return range_to_qparams(float(low), float(high))


def quantize_input(x: torch.Tensor, static_qparams: tuple[float, int] | None) -> tuple[torch.Tensor, float, int]:
    """(uint8 x, scale, zero point) of ``x`` (contiguous result): static parameters, or x's own range."""
    flat = x.float().contiguous()
    scale, zero_point = static_qparams or input_range_qparams(flat)
    return _quantize_u8(flat, scale, zero_point), scale, zero_point


class _Int8Layer(nn.Module):
    """Shared state of the int8 layers: int8 weight, its scales, the input's quantisation."""

    def _init_buffers(self, weight_shape: tuple[int, ...], bias: bool, static: bool) -> None:
        self.register_buffer("weight", torch.zeros(weight_shape, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(weight_shape[0]))
        self.bias = nn.Parameter(torch.zeros(weight_shape[0]), requires_grad=False) if bias else None
        self.static = static
        if static:
            self.register_buffer("input_scale", torch.ones(()))
            self.register_buffer("input_zero_point", torch.zeros((), dtype=torch.int32))
        self._packed, self._packed_key = None, None

    def _load_float(self, layer: nn.Module) -> None:
        q, scale = weight_to_int8(layer.weight)
        self.weight.copy_(q)
        self.weight_scale.copy_(scale)
        if self.bias is not None:
            self.bias.data.copy_(layer.bias.detach().float())

    def set_input_range(self, low: float, high: float) -> None:
        """Static mode: fix the input's uint8 scale and zero point from a calibrated range."""
        scale, zero_point = range_to_qparams(low, high)
        self.input_scale.fill_(scale)
        self.input_zero_point.fill_(zero_point)

    def _static_qparams(self) -> tuple[float, int] | None:
        return (float(self.input_scale), int(self.input_zero_point)) if self.static else None

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

    def _dequantized_weight(self) -> torch.Tensor:
        return self.weight.float() * self.weight_scale.view(-1, *[1] * (self.weight.dim() - 1))

    @staticmethod
    def _fake_quantize(x: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
        """The input the int8 kernel sees, as floats (the fallback's exact equivalent)."""
        return (torch.round(x / scale) + zero_point).clamp_(0, 255).sub_(zero_point).mul_(scale)


class Int8Linear(_Int8Layer):
    """``nn.Linear`` with int8 weights and uint8 activations (static or dynamic)."""

    fuses_gelu = True  # nn.linear.linear(layer, x, gelu=True) passes GELU to the kernel

    def __init__(self, in_features: int, out_features: int, bias: bool = True, static: bool = False):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._init_buffers((out_features, in_features), bias, static)

    @classmethod
    def from_float(cls, layer: nn.Linear, static: bool = False) -> Int8Linear:
        new = cls(layer.in_features, layer.out_features, layer.bias is not None, static)
        new._load_float(layer)
        return new

    def forward(self, x: torch.Tensor, gelu: bool = False) -> torch.Tensor:
        shape = (*x.shape[:-1], self.out_features)
        if not self._use_onednn(x):
            x2 = x.reshape(-1, self.in_features).float()  # (N, in)
            scale, zero_point = self._static_qparams() or input_range_qparams(x2)
            out = F.linear(self._fake_quantize(x2, scale, zero_point), self._dequantized_weight(), self.bias)
            return (F.gelu(out) if gelu else out).reshape(shape).to(x.dtype)
        return self._int8_forward(quantize_input(x, self._static_qparams()), gelu).view(shape).to(x.dtype)

    def _int8_forward(self, quantized: tuple[torch.Tensor, float, int], gelu: bool = False) -> torch.Tensor:
        qx, scale, zero_point = quantized
        packed = self._packed_weight(lambda: torch.ops.onednn.qlinear_prepack(self.weight, None))
        return torch.ops.onednn.qlinear_pointwise(
            qx.view(-1, self.in_features), scale, zero_point, packed, self.weight_scale, self._zero_points(),
            self.bias, 1.0, 0, torch.float32, "gelu" if gelu else "none", [], "none" if gelu else "")

    @staticmethod
    def forward_shared(x: torch.Tensor, layers) -> tuple[torch.Tensor, ...] | None:
        """Several int8 projections of one input (attention's q, k, v) with one quantise pass;
        None when they cannot share it (another kind of layer, different static ranges)."""
        first = layers[0]
        if not all(isinstance(layer, Int8Linear) for layer in layers) or not first._use_onednn(x):
            return None
        qparams = {layer._static_qparams() for layer in layers}
        if len(qparams) != 1:
            return None
        quantized = quantize_input(x, qparams.pop())
        return tuple(layer._int8_forward(quantized).view(*x.shape[:-1], layer.out_features).to(x.dtype)
                     for layer in layers)

    def extra_repr(self) -> str:
        mode = "static" if self.static else "dynamic"
        return f"in_features={self.in_features}, out_features={self.out_features}, int8, {mode}"


class _Int8Conv(_Int8Layer):
    """``nn.Conv1d`` / ``nn.Conv2d`` (no groups, zero padding) with int8 weights and uint8 activations."""

    dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding, dilation,
                 bias: bool = True, static: bool = False):
        super().__init__()
        as_tuple = (lambda v: (v,) * self.dims if isinstance(v, int) else tuple(v))
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = as_tuple(kernel_size), as_tuple(stride)
        self.padding, self.dilation = as_tuple(padding), as_tuple(dilation)
        self._init_buffers((out_channels, in_channels, *self.kernel_size), bias, static)

    @classmethod
    def from_float(cls, layer: nn.Module, static: bool = False) -> _Int8Conv:
        new = cls(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                  layer.dilation, layer.bias is not None, static)
        new._load_float(layer)
        return new

    def _conv_args(self) -> tuple[list[int], list[int], list[int], int]:
        return list(self.stride), list(self.padding), list(self.dilation), 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._use_onednn(x):
            scale, zero_point = self._static_qparams() or input_range_qparams(x.float())
            conv = F.conv1d if self.dims == 1 else F.conv2d
            out = conv(self._fake_quantize(x.float(), scale, zero_point), self._dequantized_weight(), self.bias,
                       *self._conv_args())
            return out.to(x.dtype)
        # Quantise channels-last memory as it lies (wav2vec2's frames-first conv stack): a
        # contiguous copy of the transposed view would cost as much as the int8 conv itself.
        channels_last = x.movedim(1, -1)
        source = channels_last if channels_last.is_contiguous() else x
        qx, scale, zero_point = quantize_input(source, self._static_qparams())
        qx = qx.movedim(-1, 1) if source is channels_last else qx
        args = self._conv_args()
        packed = self._packed_weight(lambda: torch.ops.onednn.qconv_prepack(
            self.weight, self.weight_scale, scale, zero_point, *args, None))
        out = torch.ops.onednn.qconv_pointwise(qx, scale, zero_point, packed, self.weight_scale, self._zero_points(),
                                               self.bias, *args, 1.0, 0, torch.float32, "none", [], "")
        return out.to(x.dtype)

    def extra_repr(self) -> str:
        mode = "static" if self.static else "dynamic"
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, int8, {mode}")


class Int8Conv1d(_Int8Conv):
    dims = 1


class Int8Conv2d(_Int8Conv):
    dims = 2


INT8_CLASSES = {nn.Linear: Int8Linear, nn.Conv1d: Int8Conv1d, nn.Conv2d: Int8Conv2d}
