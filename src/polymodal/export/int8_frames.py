"""int8 1-D convolution with one activation scale per output frame (wav2vec2-like conv stacks).

Why not the per-tensor ``Int8Conv1d``: padded or silent frames leave a wav2vec2 conv stack's
activations ~100x smaller than speech frames, and the feature projection's layer norm later
scales every frame back to unit size. One uint8 step per tensor that suits speech rounds the
quiet frames to zero, and the norm turns that into O(1) errors (9-12% top-1 agreement on a
trained model with any one conv layer int8). Here each output frame's input window gets its own
scale, so a quiet frame keeps the relative precision of a loud one.

How, with the per-tensor oneDNN kernel. The input is frames-first (B, T, C) and contiguous, so the
receptive field of output frame t, ``x[b, s·t : s·t + k, :]``, is one contiguous k·C slice: the
im2col matrix is an ``as_strided`` *view* (row stride s·C). Each row is divided by its own peak
m_t = max |x| over the window (a max-pool of the per-frame peaks), quantised with one fixed scale
(1/127, zero point 128), multiplied by the int8 weight in ``qlinear`` and the output row
multiplied back by m_t: per-row activation scales, exactly, on the per-tensor kernel. The input
channel axis keeps the outlier split of :mod:`polymodal.export.int8` (a few channels far above the
rest would otherwise set every row's peak): those channels are left out of the peaks and the int8
product and added in float.

Layout of the saved tensors is ``nn.Conv1d``'s (``weight`` int8 (out, in, k), ``weight_scale``,
``bias``; static layers also ``input_outliers``), so checkpoints stay plain safetensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import InvalidInputError
from .int8 import _Int8Layer, _quantize_u8, find_outliers, sampled_outliers

_LEVELS = 127.0  # each row's peak maps to ±127 around the zero point 128: uint8 [1, 255]
_ZERO_POINT = 128
_TINY = 1e-30  # an all-zero window (digital silence): any positive peak gives zeros
# Windows are divided by their peaks and quantised this many rows at a time: the float rows stay
# in cache, where one pass over all of them allocates (and page-faults) a float copy 1.5x the size
# of the input (k / s) — 3-5x slower for wav2vec2-base's second layer (4 x 5 s, one thread).
# 512 rows (3 MB of float for k·C = 1536): 128-512 were alike on one thread; with two threads on
# a loaded machine, smaller chunks (more, shorter parallel regions) were 2-5x slower.
_CHUNK_ROWS = 512


class Int8FrameConv1d(_Int8Layer):
    """``nn.Conv1d`` (no padding, dilation or groups; kernel ≤ 2 × stride, as in every wav2vec2
    conv layer) with int8 weights and one uint8 activation scale per output frame."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, bias: bool = True,
                 static: bool = False):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = int(kernel_size), int(stride)
        self.register_buffer("weight", torch.zeros(out_channels, in_channels, self.kernel_size, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels), requires_grad=False) if bias else None
        self.static = static
        if static:  # the scales are measured per frame on every call; calibration fixes the outlier set only
            self.register_buffer("input_outliers", torch.zeros(in_channels, dtype=torch.bool))
        self._packed, self._packed_key = None, None

    @staticmethod
    def supports(layer: nn.Module) -> bool:
        """Whether a float conv has the shape this layer computes."""
        return (isinstance(layer, nn.Conv1d) and layer.groups == 1 and layer.padding == (0,)
                and layer.dilation == (1,) and layer.kernel_size[0] <= 2 * layer.stride[0])

    @classmethod
    def from_float(cls, layer: nn.Conv1d, static: bool = False) -> Int8FrameConv1d:
        if not cls.supports(layer):
            raise InvalidInputError(f"Int8FrameConv1d needs a Conv1d without padding, dilation or groups and "
                                    f"kernel <= 2 x stride; got {layer}.")
        new = cls(layer.in_channels, layer.out_channels, layer.kernel_size[0], layer.stride[0],
                  layer.bias is not None, static)
        new._load_float(layer)
        return new

    def set_input_range(self, low: torch.Tensor, high: torch.Tensor) -> None:
        """Static mode: fix the outlier input channels from calibrated per-channel ranges (C,)."""
        self._mark_outliers(find_outliers(low, high) if isinstance(low, torch.Tensor) and low.dim() == 1 else None)

    def _outlier_channels(self, x: torch.Tensor) -> torch.Tensor | None:
        return self._static_outliers() if self.static else sampled_outliers(x, -1)

    def _taps(self) -> torch.Tensor:
        """int8 weight as (out, k·in), tap-major: the im2col row's layout."""
        return self.weight.permute(0, 2, 1).reshape(self.out_channels, -1).contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, S) -> (B, C_out, S')
        return self.forward_frames(x.transpose(1, 2)).transpose(1, 2)

    def forward_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Frames-first: (B, T, C_in) → (B, T', C_out) float32 (the wav2vec2 inference path's layout)."""
        onednn = self._use_onednn(x)  # (refuses ONNX tracing)
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise InvalidInputError(f"Int8FrameConv1d expects frames-first input (batch, frames, {self.in_channels}); "
                                    f"got shape {tuple(x.shape)}.")
        batch, frames, channels = x.shape
        kernel, stride = self.kernel_size, self.stride
        if frames < kernel:
            raise InvalidInputError(f"The input has {frames} frames, fewer than this convolution's kernel ({kernel}); "
                                    "pass a longer input.")
        out_frames = (frames - kernel) // stride + 1
        x = x.float().contiguous()
        outliers = self._outlier_channels(x)
        picked, restore = None, False
        if outliers is not None:
            picked = x.index_select(-1, outliers)
            if (torch.is_grad_enabled() and x.requires_grad) or (x.is_inference() and not torch.is_inference_mode_enabled()):
                x = x.index_fill(-1, outliers, 0.0)  # a tensor we may not write to: copy it
            else:
                # Zero the outlier channels in place for the peaks and the int8 product, put them
                # back after (as int8.quantize_input does): a copy would cost about as much as the GEMM.
                x.index_fill_(-1, outliers, 0.0)
                restore = True
        try:
            # Per-frame peak from amax and amin: each is a fast vectorised reduction over the
            # channels, where abs().amax() or an inf-norm is ~10x slower on this CPU.
            peak = torch.maximum(x.amax(-1), x.amin(-1).neg_())  # (B, T)
            scale = F.max_pool1d(peak[:, None], kernel, stride)[:, 0].clamp_(min=_TINY)  # (B, T'): window peaks
            windows = x.as_strided((batch, out_frames, kernel * channels), (frames * channels, stride * channels, 1),
                                   x.storage_offset())
            inverse = (_LEVELS / scale)[..., None]  # rows × this lie in [-127, 127]
            if onednn:
                rows = _quantized_rows(windows, inverse)  # (B·T', k·C) uint8
            else:
                rows = torch.mul(windows, inverse).view(-1, kernel * channels)  # float, rounded in _matmul
        finally:
            if restore:  # the rows are a copy now: x can have its outlier channels back
                x.index_copy_(-1, outliers, picked)
        out = self._matmul(rows, onednn)  # (B·T', C_out): Σ round(row) · w
        out = out.view(batch, out_frames, self.out_channels).mul_((scale / _LEVELS)[..., None])
        if self.bias is not None:
            out.add_(self.bias)
        if outliers is not None:  # the outlier channels' share: a float conv over a few input channels
            weight = self._dequantized_weight(outliers)  # (out, k_out, kernel)
            out.add_(F.conv1d(picked.transpose(1, 2), weight, None, stride).transpose(1, 2))
        return out

    def _matmul(self, rows: torch.Tensor, onednn: bool) -> torch.Tensor:
        """(N, k·C) rows divided by their peaks (× 127; uint8 around the zero point 128 for oneDNN,
        float otherwise) → (N, C_out) float32: the rounded rows times the dequantised weight."""
        if onednn:
            packed = self._packed_weight(lambda: torch.ops.onednn.qlinear_prepack(self._taps(), None))
            return torch.ops.onednn.qlinear_pointwise(rows, 1.0, _ZERO_POINT, packed, self.weight_scale,
                                                      self._zero_points(), None, 1.0, 0, torch.float32, "none",
                                                      [], "")
        # Without the oneDNN ops: the same integer maths as float matmuls.
        rounded = torch.round(rows).clamp_(-_ZERO_POINT, 255 - _ZERO_POINT)
        return F.linear(rounded, self._taps().float() * self.weight_scale[:, None])

    def extra_repr(self) -> str:
        mode = "static" if self.static else "dynamic"
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"int8, one activation scale per output frame, {mode} outliers")


def _quantized_rows(windows: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """uint8 ``round(windows × inverse) + 128`` as one (B·T', k·C) matrix, ``_CHUNK_ROWS`` rows at a time."""
    batch, out_frames, width = windows.shape
    out = torch.empty(batch * out_frames, width, dtype=torch.uint8)
    for b in range(batch):
        for start in range(0, out_frames, _CHUNK_ROWS):
            chunk = torch.mul(windows[b, start:start + _CHUNK_ROWS], inverse[b, start:start + _CHUNK_ROWS])
            first = b * out_frames + start
            out[first:first + chunk.shape[0]].copy_(_quantize_u8(chunk, 1.0, _ZERO_POINT))
    return out
