"""Wav2Vec2 / XLS-R: a convolutional feature encoder over raw audio, then a Transformer encoder.

Module names are the checkpoints' own (``feature_extractor.conv_layers.0.conv``,
``encoder.layers.0.attention.q_proj`` …), so ``load_state_dict`` is strict with no mapping table.
The two encoder variants of the papers share one layer class:

* post-norm (wav2vec2-base): layer norm *after* each residual block and once before the stack;
* pre-norm "stable layer norm" (XLS-R, XLSR-53, large-lv60): layer norm *before* each block
  and once after the stack.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import ConfigError, InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import CausalLMOutput, ModelOutput, SequenceClassifierOutput, model_forward, output_dataclass
from ...nn import fastpath, gelu_dropout_linear
from ...nn.activations import get_activation
from ...nn.attention import attention, merge_heads, padding_mask, split_heads
from ...nn.checkpointing import run_layer
from ...nn.dropout import Dropout
from ...nn.fastpath import use_cpu_fast_path
from ...nn.init import init_dense_and_norm
from ...nn.linear import linear as _linear  # oneDNN-fused bias/GELU on CPU inference
from ...nn.linear import linears
from .configuration import Wav2Vec2Config
from .specaugment import _compute_mask_indices

logger = logging.getLogger("polymodal")

@output_dataclass
class Wav2Vec2BaseModelOutput(ModelOutput):
    last_hidden_state: Any = None
    extract_features: Any = None
    hidden_states: Any = None
    attentions: Any = None


# --------------------------------------------------------------------------- feature encoder
_FRAME_SLICE = 2048  # frames per layer-norm call in the inference path
_INPLACE_ACTIVATIONS = {"gelu": torch.ops.aten.gelu_, "relu": torch.relu_}


class Wav2Vec2ConvLayer(nn.Module):
    """Conv1d → optional norm → activation. ``norm`` is "group" (first layer of base models),
    "layer" (every layer of large/XLS-R models) or None."""

    def __init__(self, config: Wav2Vec2Config, layer_id: int, norm: str | None):
        super().__init__()
        in_dim = config.conv_dim[layer_id - 1] if layer_id > 0 else 1
        out_dim = config.conv_dim[layer_id]
        self.conv = nn.Conv1d(in_dim, out_dim, config.conv_kernel[layer_id], stride=config.conv_stride[layer_id],
                              bias=config.conv_bias)
        self.norm = norm
        if norm == "group":  # one group per channel: each channel normalised over time (whole padded clip!)
            self.layer_norm = nn.GroupNorm(out_dim, out_dim, affine=True)
        elif norm == "layer":
            self.layer_norm = nn.LayerNorm(out_dim)
        self.activation = get_activation(config.feat_extract_activation)
        self.activation_name = config.feat_extract_activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, S) -> (B, C_out, S')
        x = self.conv(x)
        if self.norm == "group":
            x = self.layer_norm(x)
        elif self.norm == "layer":
            x = self.layer_norm(x.transpose(1, 2)).transpose(1, 2)  # normalise over channels
        return self.activation(x)

    def forward_inplace(self, x: torch.Tensor) -> torch.Tensor:
        """``forward`` without autograd: the activation overwrites the (norm's) output."""
        x = self.conv(x)
        if self.norm == "group":
            x = self.layer_norm(x)
        elif self.norm == "layer":
            x = self.layer_norm(x.transpose(1, 2)).transpose(1, 2)
        inplace = _INPLACE_ACTIVATIONS.get(self.activation_name)
        return inplace(x) if inplace is not None else self.activation(x)

    def forward_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Inference path, frames-first: (B, S, C_in) → (B, S', C_out), same maths as ``forward``.

        Norm and activation overwrite the conv output (there is no autograd graph to keep),
        a slice at a time; group-norm statistics are per channel and layer-norm statistics per
        frame, so each slice runs the very kernel ``forward`` runs, on the same numbers.
        """
        norm = getattr(self, "layer_norm", None)
        if self.norm == "group" and _folds_group_norm(self.conv, x):
            x = _conv_group_norm_frames(self.conv, norm, x)
            inplace = _INPLACE_ACTIVATIONS.get(self.activation_name)
            return inplace(x) if inplace is not None else self.activation(x)
        x = _conv_frames(self.conv, x)
        if self.norm == "group":
            _group_norm_frames_(x, norm)
        elif self.norm == "layer":
            for xs in x.split(_FRAME_SLICE, 1):
                xs.copy_(norm(xs))
        inplace = _INPLACE_ACTIVATIONS.get(self.activation_name)
        return inplace(x) if inplace is not None else self.activation(x)


def _group_norm_frames_(x: torch.Tensor, norm: nn.GroupNorm) -> None:
    """In-place per-channel GroupNorm of frames-first ``x`` (B, T, C), as torch's kernel does it:
    statistics in float32, then ``x * scale + shift`` with scale = γ/σ, shift = β − μ·scale."""
    # Two passes (sum, then centred squares a slice at a time) rather than torch.var_mean: its
    # Welford reduction over the middle dimension took 96 ms of a 4 x 5 s call (2 threads), this
    # 15 ms, within 3e-7 (relative) of float64 statistics.
    xf = x if x.dtype == torch.float32 else x.float()
    frames = xf.shape[1]
    mean = xf.sum(1, keepdim=True).div_(frames)  # (B, 1, C)
    var = torch.zeros_like(mean)
    for xs in xf.split(_FRAME_SLICE, 1):
        var.add_((xs - mean).square_().sum(1, keepdim=True))
    var.div_(frames)
    scale = torch.rsqrt(var + norm.eps) * norm.weight.float()  # (B, 1, C)
    shift = norm.bias.float() - mean * scale
    x.mul_(scale.to(x.dtype)).add_(shift.to(x.dtype))


_FOLD_MAX_TAPS = 64  # inputs per output (k · C_in) up to which a group norm is folded into the conv


def _folds_group_norm(conv: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``_conv_group_norm_frames`` applies: a float conv with few inputs per output
    (wav2vec2-base's first layer: 10 raw samples), no padding, dilation or groups."""
    return (type(conv) is nn.Conv1d and x.dtype == torch.float32 and conv.weight.dtype == torch.float32
            and conv.groups == 1 and conv.padding == (0,) and conv.dilation == (1,)
            and conv.in_channels * conv.kernel_size[0] <= _FOLD_MAX_TAPS and x.shape[1] >= conv.kernel_size[0])


def _conv_group_norm_frames(conv: nn.Conv1d, norm: nn.GroupNorm, x: torch.Tensor) -> torch.Tensor:
    """``conv`` then per-channel GroupNorm over time, as *one* batched GEMM: (B, S, C_in) → (B, S', C_out).

    Channel c's output is w_c · window + b_c, so its mean and variance over the frames follow
    from the windows' own mean μ and covariance Σ (k·C_in ≤ 64 numbers per window): mean
    w_c · μ + b_c, variance w_cᵀ Σ w_c, computed in float64 (exact where the two-pass statistics
    over the conv output were within 3e-7). The norm is then an affine map per channel, folded
    into each clip's weights and bias, so the large output (B, S', 512 for wav2vec2-base) is
    written once — instead of a conv (two GEMM passes), two statistics passes and the affine pass.
    """
    batch, frames_in, c_in = x.shape
    kernel, stride = conv.kernel_size[0], conv.stride[0]
    frames = (frames_in - kernel) // stride + 1
    x = x.contiguous()
    windows = x.as_strided((batch, frames, kernel * c_in), (frames_in * c_in, stride * c_in, 1), x.storage_offset())
    taps = conv.weight.permute(0, 2, 1).reshape(conv.out_channels, kernel * c_in).t()  # (k·C_in, C_out), tap-major
    exact = windows.double()  # (B, S', k·C_in): small (k·C_in ≤ 64)
    mean = exact.mean(1)  # (B, k·C_in)
    centred = exact - mean[:, None]
    covariance = centred.transpose(1, 2) @ centred / frames  # (B, k·C_in, k·C_in)
    taps64 = taps.double()
    variance = ((covariance @ taps64) * taps64).sum(1)  # (B, C_out): w_cᵀ Σ w_c
    scale = torch.rsqrt(variance + norm.eps) * norm.weight.double()  # (B, C_out)
    # (w·win + b − (w·μ + b)) · scale + β: the conv bias cancels.
    shift = norm.bias.double() - (mean @ taps64) * scale
    # The shift rides in the GEMM as a last weight row against a column of ones: the output is
    # written once (baddbmm with a broadcast bias first copies the bias into all of it). The
    # windows are copied for that column, but they are small (k·C_in + 1 numbers per frame).
    weights = torch.cat([taps64[None] * scale[:, None], shift[:, None]], 1).float()  # (B, k·C_in + 1, C_out)
    rows = torch.cat([windows, windows.new_ones(batch, frames, 1)], -1)  # (B, S', k·C_in + 1)
    return torch.bmm(rows, weights)


def _conv_frames(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """``conv`` on frames-first input as plain matmuls: (B, S, C_in) → (B, S', C_out).

    Output frame t reads input frames [t·s, t·s + k). With k ≤ 2s (every wav2vec2 layer:
    10/5, 3/2, 2/2) that is the block of s frames starting at t·s plus the first k − s frames
    of the next block; both are strided *views* of x, so the work is one or two batched GEMMs
    with no im2col buffer and no layout reorders (oneDNN's conv needs scratch space about the
    size of its input or output — the largest tensors of the model). Same sums in another order.
    """
    if not isinstance(conv, nn.Conv1d):  # an int8 conv (polymodal.export) runs its own kernel
        forward_frames = getattr(conv, "forward_frames", None)  # frames-first too: no layout copies
        return forward_frames(x) if forward_frames is not None else conv(x.transpose(1, 2)).transpose(1, 2)
    weight, kernel, stride = conv.weight, conv.kernel_size[0], conv.stride[0]
    batch, frames_in, c_in = x.shape
    if kernel > 2 * stride or conv.groups != 1 or conv.padding != (0,) or conv.dilation != (1,):
        return conv(x.transpose(1, 2)).transpose(1, 2).contiguous()
    x = x.contiguous()
    frames = (frames_in - kernel) // stride + 1
    taps = weight.permute(0, 2, 1).reshape(conv.out_channels, kernel * c_in).t()  # (k·C_in, C_out), tap-major
    first = min(kernel, stride) * c_in
    strides = (frames_in * c_in, stride * c_in, 1)
    head = x.as_strided((batch, frames, first), strides, x.storage_offset())  # (B, S', min(k,s)·C_in)
    out = torch.bmm(head, taps[:first].expand(batch, -1, -1))  # (B, S', C_out)
    if kernel > stride:
        tail = x.as_strided((batch, frames, (kernel - stride) * c_in), strides, x.storage_offset() + stride * c_in)
        out.baddbmm_(tail, taps[first:].expand(batch, -1, -1))
    return out if conv.bias is None else out.add_(conv.bias)


class Wav2Vec2FeatureEncoder(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        norms = ["group"] + [None] * (len(config.conv_dim) - 1) if config.feat_extract_norm == "group" \
            else ["layer"] * len(config.conv_dim)
        self.conv_layers = nn.ModuleList(Wav2Vec2ConvLayer(config, i, norm) for i, norm in enumerate(norms))
        self.gradient_checkpointing = False

    def _freeze_parameters(self) -> None:
        for param in self.parameters():
            param.requires_grad = False

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:  # (B, S) -> (B, C, T)
        if self.training and not self._needs_grad(input_values):
            # Fine-tuning with the encoder frozen: oneDNN's convolution is faster than the
            # frames-first GEMMs (0.55 s vs 0.71 s for 4 × 3 s on one thread), and its larger
            # scratch buffers come and go before the step's memory peak (backward), so speed wins.
            with torch.no_grad():
                return self._forward_conv(input_values, inplace=True)
        # bfloat16 keeps torch's convolution: the frames-first path was tuned and tested in float32.
        if input_values.dtype == torch.float32 and use_cpu_fast_path(input_values, *self.parameters()):
            x = input_values[:, :, None]  # (B, S, 1)
            for conv_layer in self.conv_layers:
                x = conv_layer.forward_frames(x)
            return x.transpose(1, 2)  # (B, C, T) view of frames-first memory
        return self._forward_conv(input_values)

    def _forward_conv(self, input_values: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """torch's convolutions, (B, S) → (B, C, T); ``inplace`` (no autograd) overwrites each
        norm output with its activation instead of allocating another buffer of that size."""
        x = input_values[:, None]  # (B, 1, S)
        checkpointed = self.gradient_checkpointing and self.training and not inplace
        for conv_layer in self.conv_layers:
            x = conv_layer.forward_inplace(x) if inplace else run_layer(conv_layer, x, checkpointed=checkpointed)
        return x

    def _needs_grad(self, input_values: torch.Tensor) -> bool:
        return torch.is_grad_enabled() and (input_values.requires_grad or any(p.requires_grad for p in self.parameters()))


class Wav2Vec2FeatureProjection(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.layer_norm = nn.LayerNorm(config.conv_dim[-1], eps=config.layer_norm_eps)
        self.projection = nn.Linear(config.conv_dim[-1], config.hidden_size)
        self.dropout = Dropout(config.feat_proj_dropout)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        normed = self.layer_norm(features)  # also returned: Transformers' `extract_features`
        return self.dropout(_linear(self.projection, normed)), normed


# --------------------------------------------------------------------------- transformer encoder
class Wav2Vec2PositionalConvEmbedding(nn.Module):
    """Relative positions from a wide grouped convolution with weight norm over the kernel axis."""

    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        kernel = config.num_conv_pos_embeddings
        conv = nn.Conv1d(config.hidden_size, config.hidden_size, kernel, padding=kernel // 2,
                         groups=config.num_conv_pos_embedding_groups)
        # Checkpoints store weight_g/weight_v (old torch) or parametrizations.weight.original0/1;
        # core/modeling.py renames the former to the latter on load.
        self.conv = nn.utils.parametrizations.weight_norm(conv, name="weight", dim=2)
        self.trim = 1 if kernel % 2 == 0 else 0  # an even kernel with padding k//2 yields one extra frame
        self.activation = get_activation(config.feat_extract_activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, H) -> (B, T, H)
        if _channels_last_conv_applies(self.conv, x):
            return self._forward_channels_last(x.contiguous())
        y = self.conv(x.transpose(1, 2))  # (B, H, T + trim)
        if self.trim:
            y = y[:, :, :-self.trim]
        return self.activation(y).transpose(1, 2)

    def _forward_channels_last(self, x: torch.Tensor) -> torch.Tensor:
        """The same convolution on frames-first memory, seen as a channels-last (B, H, 1, T) image.

        ``conv1d`` on the transposed (B, H, T) view first copies it to channels-first, where
        oneDNN runs this grouped, 128-wide convolution as im2col + GEMM; on channels-last memory
        it picks its direct (brgemm) kernels for forward and input gradient, and the output comes
        back frames-first with no transposes. 0.71-0.76x the time of forward + backward for
        4 x 3 s at wav2vec2-base size (1 and 2 threads, interleaved); the same sums in another
        order (~1e-6 relative).
        """
        conv = self.conv
        weight = conv.weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)  # weight norm applied here
        y = F.conv2d(x.transpose(1, 2).unsqueeze(2), weight, conv.bias, padding=(0, conv.padding[0]),
                     groups=conv.groups).squeeze(2).transpose(1, 2)  # (B, T + trim, H), contiguous
        if self.trim:
            y = y[:, :-self.trim]
        return self.activation(y)


def _channels_last_conv_applies(conv: nn.Module, x: torch.Tensor) -> bool:
    """A float32 CPU ``nn.Conv1d`` (weight-normed or not), not traced for export, no autocast."""
    return (isinstance(conv, nn.Conv1d) and x.device.type == "cpu" and x.dtype == torch.float32
            and conv.weight.dtype == torch.float32 and torch.backends.mkldnn.is_available()
            and fastpath.enabled() and not torch.jit.is_tracing() and not torch.is_autocast_enabled("cpu"))


class Wav2Vec2Attention(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        width = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.dropout = config.attention_dropout
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.q_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False):
        projections = linears(x, self.q_proj, self.k_proj, self.v_proj)
        q, k, v = (split_heads(t, self.num_heads) for t in projections)  # (B, H, T, D)
        out, weights = attention(q, k, v, mask, dropout=self.dropout if self.training else 0.0,
                                 output_attentions=output_attentions)
        return _linear(self.out_proj, merge_heads(out)), weights  # (B, T, H*D)


class Wav2Vec2FeedForward(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.intermediate_dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)
        self.fuse_gelu = config.hidden_act == "gelu"
        self.intermediate_dropout = Dropout(config.activation_dropout)
        self.output_dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.output_dropout = Dropout(config.hidden_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fuse_gelu and self.training and gelu_dropout_linear.applies(x, self.output_dense):
            # CPU training: the hidden layer is recomputed in backward, not kept (nn/gelu_dropout_linear.py)
            pre = self.intermediate_dense(x)
            hidden = gelu_dropout_linear.gelu_dropout_linear(pre, self.intermediate_dropout.p, self.output_dense)
            return self.output_dropout(hidden)
        if self.fuse_gelu:
            x = _linear(self.intermediate_dense, x, gelu=True)
        else:
            x = self.intermediate_act_fn(_linear(self.intermediate_dense, x))
        return self.output_dropout(_linear(self.output_dense, self.intermediate_dropout(x)))


class Wav2Vec2AttnAdapterLayer(nn.Module):
    """Small per-language bottleneck after each pre-norm layer (MMS checkpoints, adapter_attn_dim)."""

    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.norm = nn.LayerNorm(config.hidden_size)
        self.linear_1 = nn.Linear(config.hidden_size, config.adapter_attn_dim)
        self.act_fn = nn.ReLU()
        self.linear_2 = nn.Linear(config.adapter_attn_dim, config.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act_fn(self.linear_1(self.norm(x))))


class Wav2Vec2EncoderLayer(nn.Module):
    """One Transformer block; ``do_stable_layer_norm`` picks pre-norm over post-norm."""

    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.pre_norm = config.do_stable_layer_norm
        self.attention = Wav2Vec2Attention(config)
        self.dropout = Dropout(config.hidden_dropout)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.feed_forward = Wav2Vec2FeedForward(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        has_adapter = self.pre_norm and config.adapter_attn_dim is not None
        self.adapter_layer = Wav2Vec2AttnAdapterLayer(config) if has_adapter else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False):
        if self.pre_norm:
            h, weights = self.attention(self.layer_norm(x), mask, output_attentions)
            x = x + self.dropout(h)
            x = x + self.feed_forward(self.final_layer_norm(x))
            if self.adapter_layer is not None:
                x = x + self.adapter_layer(x)
        else:
            h, weights = self.attention(x, mask, output_attentions)
            x = self.layer_norm(x + self.dropout(h))
            x = self.final_layer_norm(x + self.feed_forward(x))
        return x, weights


class Wav2Vec2Encoder(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.pre_norm = config.do_stable_layer_norm
        self.layerdrop = config.layerdrop
        self.pos_conv_embed = Wav2Vec2PositionalConvEmbedding(config)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout)
        self.layers = nn.ModuleList(Wav2Vec2EncoderLayer(config) for _ in range(config.num_hidden_layers))
        self.gradient_checkpointing = False

    def forward(self, x, frame_mask=None, output_attentions=False, output_hidden_states=False):
        """``x`` (B, T, H), ``frame_mask`` (B, T) bool → (last (B, T, H), hidden states, attentions)."""
        if frame_mask is not None:  # padded frames must not leak into real ones through the conv
            x = x.masked_fill(~frame_mask[..., None], 0.0)
        x = x + self.pos_conv_embed(x)
        x = self.dropout(x if self.pre_norm else self.layer_norm(x))
        mask = None if frame_mask is None or bool(frame_mask.all()) else padding_mask(frame_mask, x.dtype)
        hidden, attentions = [], []
        for layer in self.layers:
            if self.training and self.layerdrop > 0 and torch.rand([]) < self.layerdrop:
                continue  # LayerDrop (Fan et al., 2019)
            if output_hidden_states and not hidden:
                hidden.append(x)
            x, weights = run_layer(layer, x, mask, output_attentions,
                                   checkpointed=self.gradient_checkpointing and self.training)
            hidden.append(x)
            attentions.append(weights)
        # As in Transformers 5, hidden_states[-1] of the pre-norm variant is taken before the final norm.
        last = self.layer_norm(x) if self.pre_norm else x
        return last, tuple(hidden) if output_hidden_states else None, tuple(attentions) if output_attentions else None


class Wav2Vec2AdapterLayer(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.conv = nn.Conv1d(config.output_hidden_size, 2 * config.output_hidden_size, config.adapter_kernel_size,
                              stride=config.adapter_stride, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T) -> (B, C, T / stride)
        return F.glu(self.conv(x), dim=1)


class Wav2Vec2Adapter(nn.Module):
    """Strided conv + GLU stack after the encoder (``add_adapter``), used for speech-to-text decoders."""

    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        if config.output_hidden_size != config.hidden_size:
            self.proj = nn.Linear(config.hidden_size, config.output_hidden_size)
            self.proj_layer_norm = nn.LayerNorm(config.output_hidden_size)
        else:
            self.proj = self.proj_layer_norm = None
        self.layers = nn.ModuleList(Wav2Vec2AdapterLayer(config) for _ in range(config.num_adapter_layers))
        self.layerdrop = config.layerdrop

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, H) -> (B, T', H_out)
        if self.proj is not None:
            x = self.proj_layer_norm(self.proj(x))
        x = x.transpose(1, 2)
        for layer in self.layers:
            if not self.training or torch.rand([]) > self.layerdrop:
                x = layer(x)
        return x.transpose(1, 2)


# --------------------------------------------------------------------------- pre-trained model base
class Wav2Vec2PreTrainedModel(PreTrainedModel):
    config_class = Wav2Vec2Config
    base_model_prefix = "wav2vec2"
    main_input_name = "input_values"
    supports_gradient_checkpointing = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Transformers' initialisation (only reached for fresh models and newly added heads)."""
        if init_dense_and_norm(module, self.config.initializer_range, dense=(nn.Linear,),
                               norms=(nn.LayerNorm, nn.GroupNorm)):
            return
        if isinstance(module, Wav2Vec2PositionalConvEmbedding):
            _init_weight_norm_conv(module.conv)
        elif isinstance(module, Wav2Vec2FeatureProjection):
            # Visited after its Linear got the normal draw: fairseq's uniform replaces it.
            bound = math.sqrt(1 / module.projection.in_features)
            nn.init.uniform_(module.projection.weight, -bound, bound)
            nn.init.uniform_(module.projection.bias, -bound, bound)
        elif isinstance(module, nn.Conv1d) and not nn.utils.parametrize.is_parametrized(module):
            nn.init.kaiming_normal_(module.weight)
            if module.bias is not None:
                bound = math.sqrt(module.groups / (module.in_channels * module.kernel_size[0]))
                nn.init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, Wav2Vec2Model) and module.masked_spec_embed is not None:
            nn.init.uniform_(module.masked_spec_embed)

    def _get_feat_extract_output_lengths(self, input_lengths, add_adapter: bool | None = None):
        """Frames produced from ``input_lengths`` samples (int or tensor) by the conv stack."""
        add_adapter = self.config.add_adapter if add_adapter is None else add_adapter
        for kernel, stride in zip(self.config.conv_kernel, self.config.conv_stride):
            input_lengths = _conv_out_length(input_lengths, kernel, stride)
        if add_adapter:
            for _ in range(self.config.num_adapter_layers):
                input_lengths = _conv_out_length(input_lengths, 1, self.config.adapter_stride)
        return input_lengths

    def _get_feature_vector_attention_mask(self, feature_vector_length: int, attention_mask: torch.Tensor,
                                           add_adapter: bool | None = None) -> torch.Tensor:
        """Sample-level mask (B, S) → frame-level bool mask (B, T): the first n_frames(valid samples) frames."""
        lengths = self._get_feat_extract_output_lengths(attention_mask.sum(-1), add_adapter=add_adapter).long()
        frames = torch.arange(feature_vector_length, device=attention_mask.device)
        return frames[None, :] < lengths[:, None]

    def padding_is_masked(self) -> bool:
        # A group-norm conv stack normalises each channel over the whole padded clip, so padding
        # changes the shorter clips even with a mask; the layer-norm stack works per frame.
        return self.config.feat_extract_norm == "layer"

    def freeze_feature_encoder(self) -> None:
        """Stop gradients through the conv stack (the usual fine-tuning recipe)."""
        self.base_model.feature_extractor._freeze_parameters()

    def freeze_base_model(self) -> None:
        """Train only the head: no gradients for any wav2vec2 weight."""
        for param in self.base_model.parameters():
            param.requires_grad = False

    def _min_input_samples(self) -> int:
        """Shortest input that yields one frame (the conv stack's receptive field)."""
        samples = 1
        for kernel, stride in reversed(list(zip(self.config.conv_kernel, self.config.conv_stride))):
            samples = (samples - 1) * stride + kernel
        return samples


def _conv_out_length(length, kernel: int, stride: int):
    if isinstance(length, torch.Tensor):
        return torch.div(length - kernel, stride, rounding_mode="floor") + 1
    return (length - kernel) // stride + 1


def _init_weight_norm_conv(conv: nn.Conv1d) -> None:
    # Init the direction (weight_v) and set the magnitude (weight_g) so that weight == weight_v.
    std = 2 * math.sqrt(1 / (conv.kernel_size[0] * conv.in_channels))
    weight_v = conv.parametrizations.weight.original1
    nn.init.normal_(weight_v, mean=0.0, std=std)
    conv.parametrizations.weight.original0.copy_(weight_v.norm(dim=(0, 1), keepdim=True))
    nn.init.constant_(conv.bias, 0.0)


# --------------------------------------------------------------------------- the models
class Wav2Vec2Model(Wav2Vec2PreTrainedModel):
    # The parts HuBERT and Data2Vec-Audio swap for their own; the checkpoint names stay the same.
    feature_projection_class = Wav2Vec2FeatureProjection
    encoder_class = Wav2Vec2Encoder
    supports_adapter = True  # HuBERT has no adapter, whatever its config says

    def __init__(self, config: Wav2Vec2Config):
        super().__init__(config)
        # Transformers calls the conv stack `feature_extractor` (not to be confused with the
        # preprocessing Wav2Vec2FeatureExtractor); the checkpoint keys keep that name.
        self.feature_extractor = Wav2Vec2FeatureEncoder(config)
        self.feature_projection = self.feature_projection_class(config)
        self.masked_spec_embed = None
        if config.mask_time_prob > 0.0 or config.mask_feature_prob > 0.0:
            self.masked_spec_embed = nn.Parameter(torch.empty(config.hidden_size))
        self.encoder = self.encoder_class(config)
        self.adapter = Wav2Vec2Adapter(config) if self.has_adapter(config) else None
        self._warned_group_norm_padding = False
        self.post_init()

    @model_forward
    def forward(self, input_values, attention_mask=None, mask_time_indices=None, output_attentions=None,
                output_hidden_states=None, return_dict=None):
        self._check_inputs(input_values, attention_mask)
        features = self.feature_extractor(input_values).transpose(1, 2)  # (B, T, C)
        frame_mask = None
        if attention_mask is not None:
            frame_mask = self._get_feature_vector_attention_mask(features.shape[1], attention_mask, add_adapter=False)
        hidden, features = self.feature_projection(features)
        hidden = self._mask_hidden_states(hidden, mask_time_indices, frame_mask)
        last, hidden_states, attentions = self.encoder(
            hidden, frame_mask, output_attentions, output_hidden_states,
        )
        if self.adapter is not None:
            last = self.adapter(last)
        output = Wav2Vec2BaseModelOutput(last, features, hidden_states, attentions)
        return output

    @classmethod
    def has_adapter(cls, config) -> bool:
        return cls.supports_adapter and bool(config.add_adapter)

    def _mask_hidden_states(self, hidden, mask_time_indices=None, frame_mask=None):
        """SpecAugment (Park et al., 2019): replace time spans by a learned vector, zero feature bands."""
        if not self.config.apply_spec_augment:
            return hidden
        batch, length, width = hidden.shape
        if mask_time_indices is None and self.training and self.config.mask_time_prob > 0:
            mask_time_indices = _compute_mask_indices(
                (batch, length), self.config.mask_time_prob, self.config.mask_time_length,
                attention_mask=frame_mask, min_masks=self.config.mask_time_min_masks, device=hidden.device)
        if mask_time_indices is not None:
            if self.masked_spec_embed is None:
                raise ConfigError("mask_time_indices was given but the model has no masked_spec_embed "
                                  "(mask_time_prob and mask_feature_prob are both 0 in its config).")
            time_mask = mask_time_indices.to(device=hidden.device, dtype=torch.bool)[..., None]  # (B, T, 1)
            hidden = torch.where(time_mask, self.masked_spec_embed.to(hidden.dtype), hidden)
        if self.training and self.config.mask_feature_prob > 0:
            feature_mask = _compute_mask_indices(
                (batch, width), self.config.mask_feature_prob, self.config.mask_feature_length,
                min_masks=self.config.mask_feature_min_masks, device=hidden.device)
            hidden = hidden.masked_fill(feature_mask[:, None, :], 0.0)  # (B, 1, H) over all frames
        return hidden

    def _check_inputs(self, input_values, attention_mask) -> None:
        _check_input_values(input_values, attention_mask, self._min_input_samples())
        if attention_mask is None or self.config.feat_extract_norm != "group" or self._warned_group_norm_padding:
            return
        if not bool(attention_mask.all()):
            self._warned_group_norm_padding = True
            message = (
                "This model uses feat_extract_norm='group': its first conv layer normalises each channel over the "
                "whole padded clip, so zero padding changes the outputs of the shorter examples even with an "
                "attention_mask (Transformers computes the same numbers). For exact per-clip results run clips "
                "one at a time or batch clips of similar length."
            )
            logger.warning(message)
            warnings.warn(message, stacklevel=2)


def _check_input_values(input_values, attention_mask, min_samples: int) -> None:
    if not isinstance(input_values, torch.Tensor):
        raise InvalidInputError(
            f"input_values must be a torch.Tensor of shape (batch, samples), got {type(input_values).__name__}. "
            "Use the feature extractor with return_tensors='pt', or torch.as_tensor(...)."
        )
    if input_values.dim() != 2:
        raise InvalidInputError(
            f"input_values must have shape (batch, samples), got {tuple(input_values.shape)}. For one clip use "
            "x[None]; for (batch, channels, samples) mix down to mono first."
        )
    if not input_values.is_floating_point():
        raise InvalidInputError(
            f"input_values must be floating point audio in [-1, 1], got dtype {input_values.dtype}. Convert integer "
            "PCM first (e.g. x.float() / 32768) or use the feature extractor."
        )
    if input_values.shape[0] == 0 or input_values.shape[1] == 0:
        raise InvalidInputError(f"input_values is empty (shape {tuple(input_values.shape)}); pass at least one clip.")
    if input_values.shape[1] < min_samples:
        raise InvalidInputError(
            f"input_values has {input_values.shape[1]} samples per clip, but the model's convolutional feature "
            f"encoder needs at least {min_samples} samples to produce one frame. Pad the audio with zeros."
        )
    if attention_mask is not None:
        if not isinstance(attention_mask, torch.Tensor) or attention_mask.shape != input_values.shape:
            got = tuple(attention_mask.shape) if isinstance(attention_mask, torch.Tensor) else type(attention_mask).__name__
            raise InvalidInputError(
                f"attention_mask must be a tensor with the shape of input_values {tuple(input_values.shape)}, got {got}."
            )
        too_short = (attention_mask.sum(-1) < min_samples).nonzero().flatten().tolist()
        if too_short:
            raise InvalidInputError(
                f"Examples {too_short} of the batch have fewer than {min_samples} unmasked samples (the smallest "
                "input that yields one frame); drop them or pad them to that length."
            )


class Wav2Vec2ForCTC(Wav2Vec2PreTrainedModel):
    # The base model class; it is registered under `base_model_prefix` (the checkpoints' prefix).
    base_model_class = Wav2Vec2Model

    def __init__(self, config: Wav2Vec2Config, target_lang: str | None = None):
        super().__init__(config)
        if config.vocab_size is None:
            raise ConfigError(f"vocab_size is not set; load with {type(self).__name__}.from_pretrained(path, "
                              "vocab_size=N) where N is the size of the tokenizer's vocabulary.")
        if target_lang is not None:
            raise ConfigError("target_lang (MMS adapter weights per language) is not supported by polymodal yet.")
        setattr(self, self.base_model_prefix, self.base_model_class(config))
        self.dropout = Dropout(config.final_dropout)
        width = config.output_hidden_size if self.base_model_class.has_adapter(config) else config.hidden_size
        self.lm_head = nn.Linear(width, config.vocab_size)
        self.post_init()

    @model_forward
    def forward(self, input_values, attention_mask=None, labels=None, mask_time_indices=None,
                output_attentions=None, output_hidden_states=None, return_dict=None):
        if labels is not None and labels.max() >= self.config.vocab_size:
            raise InvalidInputError(f"labels contain id {int(labels.max())} but vocab_size is "
                                    f"{self.config.vocab_size}; every label must be < vocab_size (or -100).")
        outputs = self.base_model(input_values, attention_mask, mask_time_indices, output_attentions,
                                  output_hidden_states, return_dict=True)
        logits = _linear(self.lm_head, self.dropout(outputs.last_hidden_state))  # (B, T, V)
        loss = None
        if labels is not None:
            samples = attention_mask.sum(-1) if attention_mask is not None else \
                torch.full(input_values.shape[:1], input_values.shape[1], device=input_values.device)
            loss = self._ctc_loss(logits, labels, self._get_feat_extract_output_lengths(samples).long())
        output = CausalLMOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return output

    def _ctc_loss(self, logits, labels, logit_lengths):
        blank = self.config.pad_token_id
        keep = (labels != -100) & (labels != blank)  # padding in labels is -100 (or the blank id)
        # CTC needs float32 log-probabilities: bf16/fp16 underflow over long alignments, and autocast
        # would otherwise hand ctc_loss a low-precision tensor.
        with torch.autocast(logits.device.type, enabled=False):
            log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # (T, B, V)
            return F.ctc_loss(log_probs, labels.masked_select(keep), logit_lengths, keep.sum(-1), blank=blank,
                              reduction=self.config.ctc_loss_reduction, zero_infinity=self.config.ctc_zero_infinity)


class Wav2Vec2ForSequenceClassification(Wav2Vec2PreTrainedModel):
    base_model_class = Wav2Vec2Model  # see Wav2Vec2ForCTC

    def __init__(self, config: Wav2Vec2Config):
        super().__init__(config)
        if self.base_model_class.has_adapter(config):
            raise ConfigError(f"{type(self).__name__} does not support add_adapter=True; "
                              "set add_adapter=False in the config.")
        setattr(self, self.base_model_prefix, self.base_model_class(config))
        if config.use_weighted_layer_sum:
            num_layers = config.num_hidden_layers + 1  # the layers' outputs plus their input
            self.layer_weights = nn.Parameter(torch.full((num_layers,), 1.0 / num_layers))
        self.projector = nn.Linear(config.hidden_size, config.classifier_proj_size)
        self.classifier = nn.Linear(config.classifier_proj_size, config.num_labels)
        self.post_init()

    @model_forward
    def forward(self, input_values, attention_mask=None, labels=None, mask_time_indices=None,
                output_attentions=None, output_hidden_states=None, return_dict=None):
        want_hidden = output_hidden_states
        outputs = self.base_model(input_values, attention_mask, mask_time_indices, output_attentions,
                                  want_hidden or self.config.use_weighted_layer_sum, return_dict=True)
        hidden = outputs.last_hidden_state
        if self.config.use_weighted_layer_sum:
            stacked = torch.stack(outputs.hidden_states, dim=1)  # (B, L+1, T, H)
            weights = self.layer_weights.softmax(-1).view(-1, 1, 1)
            hidden = (stacked * weights).sum(dim=1)
        pooled = self._pool(_linear(self.projector, hidden), attention_mask)  # (B, P)
        logits = _linear(self.classifier, pooled)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))
        output = SequenceClassifierOutput(loss, logits, outputs.hidden_states if want_hidden else None,
                                          outputs.attentions)
        return output

    def _pool(self, hidden: torch.Tensor, attention_mask) -> torch.Tensor:
        """Mean over real (unpadded) frames: (B, T, P) → (B, P)."""
        if attention_mask is None:
            return hidden.mean(dim=1)
        frame_mask = self._get_feature_vector_attention_mask(hidden.shape[1], attention_mask)
        hidden = hidden.masked_fill(~frame_mask[..., None], 0.0)
        return hidden.sum(dim=1) / frame_mask.sum(dim=1, keepdim=True).to(hidden.dtype)
