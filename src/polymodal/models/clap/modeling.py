"""CLAP: an HTSAT audio encoder and a RoBERTa text encoder in one space (Wu et al., 2023).

The audio side is HTSAT (Chen et al., 2022): the log-mel spectrogram, batch-normalised per mel
bin, is folded into a square "image" (``spec_size`` x ``spec_size``), cut into patches and run
through a Swin transformer — attention inside ``window_size`` x ``window_size`` windows with a
learned relative-position bias, every other block on windows shifted by half a window, and a
patch merge (2x2 → 1, channels x2) between stages. With ``enable_fusion`` the patch embedding
also sees three local crops of a long clip and mixes them in with an attentional feature
fusion block (``is_longer`` says which clips are long). The pooled output is the mean over
the last stage.

The text side is ``models/bert``'s RoBERTa encoder unchanged (tanh pooler on ``<s>``). Each
side ends in a two-layer projection; ``logits_per_audio`` and ``logits_per_text`` have their own
learned temperatures (``logit_scale_a`` / ``logit_scale_t``).

Submodule names are Transformers' checkpoint keys (``audio_model.audio_encoder.layers.0.blocks.1
.attention.self.relative_position_bias_table`` …), so weights load with one ``load_state_dict``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import ConfigError, InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import (
    BaseModelOutputWithPooling,
    ModelOutput,
    model_forward,
    output_dataclass,
)
from ...nn.activations import get_activation
from ...nn.attention import attention, merge_heads, split_heads
from ...nn.checkpointing import run_layer
from ...nn.drop_path import drop_path
from ...nn.init import init_dense_and_norm
from ...nn.losses import contrastive_loss
from ..bert.modeling import BertEmbeddings, RobertaModel
from .configuration import ClapAudioConfig, ClapConfig, ClapTextConfig


# --------------------------------------------------------------------------- outputs
@output_dataclass
class ClapOutput(ModelOutput):
    loss: Any = None
    logits_per_audio: Any = None
    logits_per_text: Any = None
    text_embeds: Any = None
    audio_embeds: Any = None
    text_model_output: Any = None
    audio_model_output: Any = None


@output_dataclass
class ClapTextModelOutput(ModelOutput):
    text_embeds: Any = None
    last_hidden_state: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class ClapAudioModelOutput(ModelOutput):
    audio_embeds: Any = None
    last_hidden_state: Any = None
    hidden_states: Any = None
    attentions: Any = None



def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


# --------------------------------------------------------------------------- Swin window helpers
def window_partition(x: torch.Tensor, size: int) -> torch.Tensor:
    """(B, H, W, C) → (B * windows, size * size, C), windows in row-major order."""
    batch, height, width, channels = x.shape
    x = x.view(batch, height // size, size, width // size, size, channels).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, size * size, channels)


def relative_position_index(size: int) -> torch.Tensor:
    """(N, N) index into the (2*size - 1)² bias table for every pair of positions in a window."""
    coords = torch.stack(torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")).flatten(1)  # (2, N)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (size - 1)  # (N, N, 2), from 0
    return relative[..., 0] * (2 * size - 1) + relative[..., 1]


def shifted_window_mask(height: int, width: int, size: int, shift: int) -> torch.Tensor:
    """(windows, N, N) additive mask for shifted windows: -100 between tokens that the cyclic
    shift brought together from different regions of the map (Swin's recipe), else 0."""
    def regions(length):  # 0 | 1 | 2: before the last window, inside it before the shift, the wrapped part
        index = torch.arange(length)
        return (index >= length - size).long() + (index >= length - shift).long()

    labels = (regions(height)[:, None] * 3 + regions(width)[None, :]).float()  # (H, W)
    labels = window_partition(labels[None, :, :, None], size)[..., 0]  # (windows, N)
    different = labels[:, None, :] != labels[:, :, None]
    return torch.zeros(different.shape).masked_fill(different, -100.0)


def window_order(height: int, width: int, size: int, shift: int) -> torch.Tensor:
    """(H*W,) flat row-major positions listed window by window after a cyclic shift of ``-shift``:
    ``x.index_select(1, order)`` equals Swin's ``roll`` + ``window_partition`` of ``x`` (B, H*W, C)."""
    grid = torch.arange(height * width).view(1, height, width, 1)
    if shift:
        grid = torch.roll(grid, shifts=(-shift, -shift), dims=(1, 2))
    return window_partition(grid, size).flatten()


# --------------------------------------------------------------------------- patch embedding (+ fusion)
class ClapAudioAFFBlock(nn.Module):
    """Attentional feature fusion (Dai et al., 2021): a sigmoid gate from local (1x1 convs) and
    global (pooled) context decides, per position, how much of each input to keep."""

    def __init__(self, config: ClapAudioConfig):
        super().__init__()
        channels = config.patch_embeds_hidden_size
        inner = int(channels // config.aff_block_r)
        self.local_att = nn.Sequential(
            nn.Conv2d(channels, inner, kernel_size=1), nn.BatchNorm2d(inner), nn.ReLU(inplace=True),
            nn.Conv2d(inner, channels, kernel_size=1), nn.BatchNorm2d(channels),
        )
        self.global_att = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, inner, kernel_size=1), nn.BatchNorm2d(inner), nn.ReLU(inplace=True),
            nn.Conv2d(inner, channels, kernel_size=1), nn.BatchNorm2d(channels),
        )
        self.sigmoid = nn.Sigmoid()

    def forward(self, hidden_states, residual):
        both = hidden_states + residual
        gate = self.sigmoid(self.local_att(both) + self.global_att(both))
        return 2 * hidden_states * gate + 2 * residual * (1 - gate)


class ClapAudioPatchEmbed(nn.Module):
    def __init__(self, config: ClapAudioConfig):
        super().__init__()
        self.img_size = _pair(config.spec_size)
        patch_size, self.patch_stride = _pair(config.patch_size), _pair(config.patch_stride)
        self.grid_size = (self.img_size[0] // self.patch_stride[0], self.img_size[1] // self.patch_stride[1])
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.flatten = config.flatten_patch_embeds
        self.enable_fusion = config.enable_fusion
        padding = ((patch_size[0] - self.patch_stride[0]) // 2, (patch_size[1] - self.patch_stride[1]) // 2)
        scale = 4 if self.enable_fusion and config.fusion_type == "channel_map" else 1
        width = config.patch_embeds_hidden_size
        self.proj = nn.Conv2d(config.patch_embed_input_channels * scale, width, kernel_size=patch_size,
                              stride=self.patch_stride, padding=padding)
        self.norm = nn.LayerNorm(width) if config.enable_patch_layer_norm else nn.Identity()
        if self.enable_fusion:
            self.fusion_model = ClapAudioAFFBlock(config)
            # The three local crops lie side by side in time, so this conv strides 3x as far in time.
            self.mel_conv2d = nn.Conv2d(config.patch_embed_input_channels, width,
                                        kernel_size=(patch_size[0], patch_size[1] * 3),
                                        stride=(self.patch_stride[0], self.patch_stride[1] * 3), padding=padding)

    def forward(self, hidden_states: torch.Tensor, is_longer_idx: torch.Tensor | None = None) -> torch.Tensor:
        height, width = hidden_states.shape[-2:]
        if (height, width) != self.img_size:
            raise InvalidInputError(
                f"Input audio size ({height}*{width}) doesn't match model ({self.img_size[0]}*{self.img_size[1]}); "
                "compute input_features with this model's ClapFeatureExtractor."
            )
        if self.enable_fusion:
            hidden_states = self._fuse(hidden_states, is_longer_idx)
        else:
            hidden_states = self.proj(hidden_states)
        if self.flatten:
            hidden_states = hidden_states.flatten(2).transpose(1, 2)  # (B, h*w, C)
        return self.norm(hidden_states)

    def _fuse(self, mels: torch.Tensor, longer: torch.Tensor | None) -> torch.Tensor:
        """Channel 0 is the whole clip (shrunk); channels 1-3 are three crops of a long clip."""
        global_states = self.proj(mels[:, 0:1])  # (B, C, h, w)
        if longer is None or len(longer) == 0:
            return global_states
        local = mels[longer, 1:]  # (b, 3, H, W)
        count, crops, height, width = local.shape
        local = self.mel_conv2d(local.reshape(count * crops, 1, height, width))  # (b*3, C, h, w')
        _, channels, rows, cols = local.shape
        local = local.view(count, crops, channels, rows, cols).permute(0, 2, 3, 1, 4).flatten(3)  # (b, C, h, 3w')
        local = F.pad(local, (0, global_states.shape[-1] - local.shape[-1]))
        fused = self.fusion_model(global_states[longer], local)
        return global_states.index_copy(0, longer, fused)


# --------------------------------------------------------------------------- Swin blocks
class ClapAudioSelfAttention(nn.Module):
    def __init__(self, config: ClapAudioConfig, dim: int, num_heads: int, window_size: int):
        super().__init__()
        self.num_attention_heads = num_heads
        self.attention_head_size = dim // num_heads
        self.window_size = _pair(window_size)
        size = self.window_size[0]
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * size - 1) ** 2, num_heads))
        # Persistent, as in the published checkpoints.
        self.register_buffer("relative_position_index", relative_position_index(size))
        self.query = nn.Linear(dim, dim, bias=config.qkv_bias)
        self.key = nn.Linear(dim, dim, bias=config.qkv_bias)
        self.value = nn.Linear(dim, dim, bias=config.qkv_bias)
        self.dropout_p = config.attention_probs_dropout_prob

    def _qkv(self, windows: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Query, key and value from one matmul: with stage 1's 96 channels, one (C, 3C) product
        runs ~1.8x faster than three (C, C) ones; the weights are concatenated per call (cheap)."""
        projections = (self.query, self.key, self.value)
        if not all(isinstance(p, nn.Linear) for p in projections):  # e.g. int8-quantised: no weight tensor
            return tuple(p(windows) for p in projections)
        weight = torch.cat([p.weight for p in projections])
        bias = None if self.query.bias is None else torch.cat([p.bias for p in projections])
        return F.linear(windows, weight, bias).chunk(3, dim=-1)

    def position_bias(self) -> torch.Tensor:
        """(H, N, N) learned bias for every pair of positions inside a window."""
        tokens = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]  # (N*N, H)
        return bias.view(tokens, tokens, -1).permute(2, 0, 1)

    def forward(self, windows, shift_mask=None, output_attentions=False):
        """Attention inside each window: ``windows`` (B * nW, N, C) → (B * nW, N, C).

        Plain attention (matmul + softmax), not SDPA: for 64-token windows under an additive
        bias it is as fast in float32 and twice as fast in bfloat16 on CPU, and the per-window
        mask broadcasts over the batch instead of being copied for every clip.
        """
        heads, tokens = self.num_attention_heads, windows.shape[1]
        groups = 1 if shift_mask is None else shift_mask.shape[0]  # windows with a mask of their own
        query, key, value = (
            split_heads(part, heads).view(-1, groups, heads, tokens, self.attention_head_size)
            for part in self._qkv(windows)
        )  # (B * nW / groups, groups, H, N, D)
        mask = self.position_bias().to(query.dtype)  # (H, N, N)
        if shift_mask is not None:
            mask = mask + shift_mask.to(query.dtype)[:, None]  # (nW, H, N, N)
        context, weights = attention(query, key, value, mask, dropout=self.dropout_p if self.training else 0.0,
                                     output_attentions=output_attentions, eager=True)
        if weights is not None:
            weights = weights.flatten(0, 1)  # (B * nW, H, N, N), as Transformers returns them
        return merge_heads(context.flatten(0, 1)), weights


class ClapAudioSelfOutput(nn.Module):
    def __init__(self, config: ClapAudioConfig, dim: int):
        super().__init__()
        self.dense = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, hidden_states):
        return self.dropout(self.dense(hidden_states))


class ClapAudioAttention(nn.Module):
    def __init__(self, config: ClapAudioConfig, dim: int, num_heads: int, window_size: int):
        super().__init__()
        self.self = ClapAudioSelfAttention(config, dim, num_heads, window_size)
        self.output = ClapAudioSelfOutput(config, dim)

    def forward(self, windows, shift_mask=None, output_attentions=False):
        context, weights = self.self(windows, shift_mask, output_attentions)
        return self.output(context), weights


class ClapAudioIntermediate(nn.Module):
    def __init__(self, config: ClapAudioConfig, dim: int):
        super().__init__()
        self.dense = nn.Linear(dim, int(config.mlp_ratio * dim))
        self.intermediate_act_fn = get_activation(config.hidden_act)

    def forward(self, hidden_states):
        return self.intermediate_act_fn(self.dense(hidden_states))


class ClapAudioOutput(nn.Module):
    def __init__(self, config: ClapAudioConfig, dim: int):
        super().__init__()
        self.dense = nn.Linear(int(config.mlp_ratio * dim), dim)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states):
        return self.dropout(self.dense(hidden_states))


class ClapAudioLayer(nn.Module):
    """Pre-norm Swin block: x + window-attention(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: ClapAudioConfig, dim: int, input_resolution: tuple[int, int], num_heads: int,
                 drop_path_rate: float = 0.0, shift_size: int = 0):
        super().__init__()
        self.input_resolution = input_resolution
        self.window_size, self.shift_size = config.window_size, shift_size
        if min(input_resolution) <= self.window_size:  # one window covers the map: nothing to shift
            self.window_size, self.shift_size = min(input_resolution), 0
        if self.window_size != config.window_size:
            raise ConfigError(
                f"A stage of this HTSAT works on a {input_resolution[0]}x{input_resolution[1]} map, smaller than "
                f"window_size={config.window_size}; lower window_size or depths, or raise spec_size."
            )
        self.drop_path_rate = drop_path_rate
        self.layernorm_before = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.attention = ClapAudioAttention(config, dim, num_heads, config.window_size)
        self.layernorm_after = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.intermediate = ClapAudioIntermediate(config, dim)
        self.output = ClapAudioOutput(config, dim)
        self.padded_resolution = tuple(math.ceil(n / self.window_size) * self.window_size for n in input_resolution)
        mask = None
        if self.shift_size:
            mask = shifted_window_mask(*self.padded_resolution, self.window_size, self.shift_size)
        self.register_buffer("shift_mask", mask, persistent=False)
        order = window_order(*self.padded_resolution, self.window_size, self.shift_size)
        self.register_buffer("window_order", order, persistent=False)
        self.register_buffer("map_order", torch.argsort(order), persistent=False)

    def forward(self, hidden_states: torch.Tensor, output_attentions: bool = False):
        height, width = self.input_resolution
        batch, _, channels = hidden_states.shape
        x = self.layernorm_before(hidden_states)
        if self.padded_resolution != self.input_resolution:  # to whole windows
            x = F.pad(x.view(batch, height, width, channels), (0, 0, 0, -width % self.window_size,
                                                                0, -height % self.window_size)).flatten(1, 2)
        # Shift + partition in one gather, and back in one: (B, H'*W', C) <-> (B * nW, N, C)
        windows = x.index_select(1, self.window_order).view(-1, self.window_size**2, channels)
        attended, weights = self.attention(windows, self.shift_mask, output_attentions)
        x = attended.view(batch, -1, channels).index_select(1, self.map_order)  # (B, H'*W', C), row-major
        if self.padded_resolution != self.input_resolution:
            x = x.view(batch, *self.padded_resolution, channels)[:, :height, :width].reshape(batch, -1, channels)
        hidden_states = hidden_states + drop_path(x, self.drop_path_rate, self.training)
        mlp = self.output(self.intermediate(self.layernorm_after(hidden_states)))
        return hidden_states + drop_path(mlp, self.drop_path_rate, self.training), weights


class ClapAudioPatchMerging(nn.Module):
    """2x2 neighbouring tokens → one token of twice the channels."""

    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, hidden_states: torch.Tensor, input_dimensions: tuple[int, int]) -> torch.Tensor:
        height, width = input_dimensions
        batch, _, channels = hidden_states.shape
        x = hidden_states.view(batch, height, width, channels)
        x = F.pad(x, (0, 0, 0, width % 2, 0, height % 2))
        rows, cols = x.shape[1] // 2, x.shape[2] // 2
        # Swin's channel order is (row 0, col 0), (row 1, col 0), (row 0, col 1), (row 1, col 1).
        x = x.view(batch, rows, 2, cols, 2, channels).permute(0, 1, 3, 4, 2, 5)  # (B, h, w, col, row, C)
        return self.reduction(self.norm(x.reshape(batch, rows * cols, 4 * channels)))


class ClapAudioStage(nn.Module):
    def __init__(self, config: ClapAudioConfig, dim: int, input_resolution, depth: int, num_heads: int,
                 drop_path: list[float], downsample: bool):
        super().__init__()
        self.input_resolution = input_resolution
        self.blocks = nn.ModuleList([
            ClapAudioLayer(config, dim, input_resolution, num_heads, drop_path[i],
                           shift_size=0 if i % 2 == 0 else config.window_size // 2)
            for i in range(depth)
        ])
        self.downsample = ClapAudioPatchMerging(dim) if downsample else None
        self.gradient_checkpointing = False

    def forward(self, hidden_states: torch.Tensor, output_attentions: bool = False):
        """→ (output, output before the patch merge, attentions of the stage's last block)."""
        weights = None
        for block in self.blocks:
            hidden_states, weights = run_layer(block, hidden_states, output_attentions,
                                               checkpointed=self.gradient_checkpointing and self.training)
        before = hidden_states
        if self.downsample is not None:
            hidden_states = self.downsample(before, self.input_resolution)
        return hidden_states, before, weights


# --------------------------------------------------------------------------- HTSAT encoder
class ClapAudioEncoder(nn.Module):
    def __init__(self, config: ClapAudioConfig):
        super().__init__()
        self.config = config
        self.num_layers = len(config.depths)
        self.patch_embed = ClapAudioPatchEmbed(config)
        self.enable_fusion = config.enable_fusion
        self.patch_stride = self.patch_embed.patch_stride
        self.spec_size = config.spec_size
        self.freq_ratio = config.spec_size // config.num_mel_bins
        self.num_features = config.encoder_width
        rates = torch.linspace(0, config.drop_path_rate, sum(config.depths)).tolist()
        grid = self.patch_embed.grid_size
        self.input_resolutions = [(grid[0] // 2**i, grid[1] // 2**i) for i in range(self.num_layers)]
        starts = [sum(config.depths[:i]) for i in range(self.num_layers + 1)]
        self.layers = nn.ModuleList([
            ClapAudioStage(config, config.patch_embeds_hidden_size * 2**i, self.input_resolutions[i],
                           config.depths[i], config.num_attention_heads[i], rates[starts[i]:starts[i + 1]],
                           downsample=i < self.num_layers - 1)
            for i in range(self.num_layers)
        ])
        self.batch_norm = nn.BatchNorm2d(config.num_mel_bins)
        self.norm = nn.LayerNorm(self.num_features)

    def reshape_mel2img(self, mels: torch.Tensor) -> torch.Tensor:
        """(B, C, T, F) log-mels → (B, C, F * r, T' / r): stretch to ``spec_size * r`` frames, then
        stack ``r = spec_size // num_mel_bins`` consecutive time slices as rows of a square image."""
        _, _, time_length, freq_length = mels.shape
        spec_width = int(self.spec_size * self.freq_ratio)
        spec_height = self.spec_size // self.freq_ratio
        if time_length > spec_width or freq_length > spec_height:
            raise InvalidInputError(
                f"input_features has {time_length} frames x {freq_length} mel bins; this model takes at most "
                f"{spec_width} x {spec_height}. Use the model's ClapFeatureExtractor (it crops long clips)."
            )
        # HTSAT stretches short spectrograms with bicubic interpolation (the second resize keeps the
        # original number of frames, as the reference code does).
        if time_length < spec_width:
            mels = F.interpolate(mels, (spec_width, freq_length), mode="bicubic", align_corners=True)
        if freq_length < spec_height:
            mels = F.interpolate(mels, (time_length, spec_height), mode="bicubic", align_corners=True)
        batch, channels, time, freq = mels.shape
        mels = mels.reshape(batch, channels * self.freq_ratio, time // self.freq_ratio, freq)
        mels = mels.permute(0, 1, 3, 2)  # (B, C*r, F, T/r)
        return mels.reshape(batch, channels, freq * self.freq_ratio, time // self.freq_ratio)

    def forward(self, input_features, is_longer=None, output_attentions=False, output_hidden_states=False,
                output_hidden_states_before_downsampling=False, return_dict=True):
        self._check_features(input_features, is_longer)
        output_hidden_states = output_hidden_states or self.config.output_hidden_states
        output_attentions = output_attentions or self.config.output_attentions
        # BatchNorm2d over the mel bins: put them in the channel slot and back.
        mels = self.batch_norm(input_features.transpose(1, 3)).transpose(1, 3)
        longer = None
        if self.enable_fusion and is_longer is not None:
            longer = torch.where(is_longer.to(input_features.device) == 1)[0]
        hidden_states = self.reshape_mel2img(mels)
        frames = hidden_states.shape[2]
        hidden_states = self.patch_embed(hidden_states, longer)
        all_hidden = [hidden_states] if output_hidden_states else None
        dims = [self.input_resolutions[0]] if output_hidden_states else None
        all_weights = [] if output_attentions else None
        for stage in self.layers:
            hidden_states, before, weights = stage(hidden_states, output_attentions)
            if output_hidden_states:
                height, width = stage.input_resolution
                if output_hidden_states_before_downsampling or stage.downsample is None:
                    all_hidden.append(before)
                    dims.append((height, width))
                else:
                    all_hidden.append(hidden_states)
                    dims.append(((height + 1) // 2, (width + 1) // 2))
            if output_attentions:
                all_weights.append(weights)
        last, pooled = self._pool(self.norm(hidden_states), frames)
        return BaseModelOutputWithPooling(
            last_hidden_state=last, pooler_output=pooled,
            hidden_states=None if all_hidden is None else tuple(_as_map(h, d) for h, d in zip(all_hidden, dims)),
            attentions=None if all_weights is None else tuple(all_weights),
        )

    def _pool(self, tokens: torch.Tensor, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens of the last stage → (feature map (B, C, F', T'), mean over it (B, C))."""
        batch, _, channels = tokens.shape
        scale = 2 ** (self.num_layers - 1)
        freq = frames // scale // self.patch_stride[0]
        temporal = frames // scale // self.patch_stride[1]
        grid = tokens.permute(0, 2, 1).reshape(batch, channels, freq, temporal)
        # Undo the image folding: the r slices of rows go back side by side in time.
        bins = freq // self.freq_ratio
        grid = grid.reshape(batch, channels, freq // bins, bins, temporal).permute(0, 1, 3, 2, 4)
        grid = grid.reshape(batch, channels, bins, -1)
        return grid, grid.flatten(2).mean(-1)

    def _check_features(self, input_features, is_longer) -> None:
        if not isinstance(input_features, torch.Tensor) or input_features.dim() != 4:
            shape = tuple(getattr(input_features, "shape", ()))
            raise InvalidInputError(
                "input_features must be a (batch, channels, frames, mel bins) tensor; got "
                f"{shape or input_features!r}. Use ClapFeatureExtractor(..., return_tensors='pt')."
            )
        bins = input_features.shape[-1]
        if bins != self.config.num_mel_bins:
            raise InvalidInputError(
                f"input_features has {bins} mel bins but this model expects num_mel_bins={self.config.num_mel_bins}."
            )
        if not self.config.enable_fusion and input_features.shape[1] != 1:
            raise InvalidInputError(
                f"input_features has {input_features.shape[1]} channels (the feature extractor's "
                "truncation='fusion' output) but this model has enable_fusion=False and takes one; build the "
                "extractor with truncation='rand_trunc' (ClapFeatureExtractor(truncation='rand_trunc'))."
            )
        if is_longer is not None and is_longer.shape[0] != input_features.shape[0]:
            raise InvalidInputError(
                f"is_longer has {is_longer.shape[0]} rows for a batch of {input_features.shape[0]}; pass the "
                "is_longer the feature extractor returned with these features."
            )


def _as_map(tokens: torch.Tensor, dims: tuple[int, int]) -> torch.Tensor:
    """(B, h*w, C) → (B, C, h, w), the layout Transformers returns hidden states in."""
    batch, _, channels = tokens.shape
    return tokens.view(batch, *dims, channels).permute(0, 3, 1, 2)


class ClapProjectionLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.linear1 = nn.Linear(config.hidden_size, config.projection_dim)
        self.activation = get_activation(config.projection_hidden_act)
        self.linear2 = nn.Linear(config.projection_dim, config.projection_dim)

    def forward(self, hidden_states):
        return self.linear2(self.activation(self.linear1(hidden_states)))


def _audio_projection(config: ClapAudioConfig) -> ClapProjectionLayer:
    if config.hidden_size != config.encoder_width:
        raise ConfigError(
            f"audio_config.hidden_size={config.hidden_size} must equal the encoder's output width "
            f"patch_embeds_hidden_size * 2**(len(depths) - 1) = {config.encoder_width}."
        )
    return ClapProjectionLayer(config)


# --------------------------------------------------------------------------- models
class ClapPreTrainedModel(PreTrainedModel):
    config_class = ClapConfig
    base_model_prefix = "clap"
    main_input_name = "input_ids"
    # Transformers saves the text embeddings' position/token-type buffers; they are derived here.
    _keys_to_ignore_on_load_unexpected = (r"embeddings\.position_ids$", r"embeddings\.token_type_ids$")

    def _init_weights(self, module: nn.Module) -> None:
        """Transformers' CLAP initialisation."""
        factor = self.config.initializer_factor
        std = self.config.hidden_size**-0.5 * (2 * self.config.num_hidden_layers) ** -0.5 * factor
        if init_dense_and_norm(module, std, norms=(nn.LayerNorm, nn.BatchNorm2d)):
            return
        if isinstance(module, BertEmbeddings):
            for table in (module.word_embeddings, module.position_embeddings, module.token_type_embeddings):
                nn.init.normal_(table.weight, std=factor * 0.02)
        elif isinstance(module, ClapModel):
            with torch.no_grad():
                module.logit_scale_a.fill_(math.log(self.config.logit_scale_init_value))
                module.logit_scale_t.fill_(math.log(self.config.logit_scale_init_value))
        elif isinstance(module, ClapAudioSelfAttention):
            nn.init.zeros_(module.relative_position_bias_table)

    def _state_dict_for_saving(self, state_dict):
        # Write the text embeddings' buffers as Transformers does, so its loader finds every key.
        state_dict = super()._state_dict_for_saving(state_dict)
        for name, module in self.named_modules():
            if isinstance(module, BertEmbeddings):
                prefix = f"{name}." if name else ""
                state_dict.setdefault(prefix + "position_ids", module.position_ids.clone())
                state_dict.setdefault(prefix + "token_type_ids", torch.zeros_like(module.position_ids))
        return state_dict


# The other tower's weights in a full ClapModel checkpoint, ignored by a single-tower class.
_AUDIO_KEYS = (r"^audio_model\.", r"^audio_projection\.", r"^logit_scale_[at]$")
_TEXT_KEYS = (r"^text_model\.", r"^text_projection\.", r"^logit_scale_[at]$")


class ClapTextModel(ClapPreTrainedModel, RobertaModel):
    """``models/bert``'s RoBERTa encoder with a CLAP text config (``last_hidden_state``, ``pooler_output``)."""

    config_class = ClapTextConfig
    base_model_prefix = "text_model"  # so a full ClapModel checkpoint loads too
    main_input_name = "input_ids"
    _keys_to_ignore_on_load_unexpected = ClapPreTrainedModel._keys_to_ignore_on_load_unexpected + _AUDIO_KEYS


class ClapAudioModel(ClapPreTrainedModel):
    config_class = ClapAudioConfig
    base_model_prefix = "audio_model"
    main_input_name = "input_features"
    _keys_to_ignore_on_load_unexpected = _TEXT_KEYS

    def __init__(self, config: ClapAudioConfig):
        super().__init__(config)
        self.audio_encoder = ClapAudioEncoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.audio_encoder.patch_embed.proj

    @model_forward
    def forward(self, input_features=None, is_longer=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):
        out = self.audio_encoder(input_features, is_longer, output_attentions, output_hidden_states)
        return out


class ClapModel(ClapPreTrainedModel):
    config_class = ClapConfig

    def __init__(self, config: ClapConfig):
        super().__init__(config)
        self.logit_scale_a = nn.Parameter(torch.tensor(math.log(config.logit_scale_init_value)))
        self.logit_scale_t = nn.Parameter(torch.tensor(math.log(config.logit_scale_init_value)))
        self.projection_dim = config.projection_dim
        self.text_model = ClapTextModel(config.text_config)
        self.text_projection = ClapProjectionLayer(config.text_config)
        self.audio_model = ClapAudioModel(config.audio_config)
        self.audio_projection = _audio_projection(config.audio_config)
        self.post_init()

    def get_text_features(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                          output_hidden_states=None, return_dict=False, **kwargs):
        """L2-normalised projected text embeddings ``(batch, projection_dim)``.

        With ``return_dict=True`` the text tower's output comes back with ``pooler_output``
        replaced by those embeddings, as Transformers 5 returns it.
        """
        out = self.text_model(input_ids, attention_mask, position_ids=position_ids,
                              output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                              return_dict=True)
        out.pooler_output = F.normalize(self.text_projection(out.pooler_output), dim=-1)
        return out if return_dict else out.pooler_output

    def get_audio_features(self, input_features=None, is_longer=None, attention_mask=None, output_attentions=None,
                           output_hidden_states=None, return_dict=False, **kwargs):
        """L2-normalised projected audio embeddings ``(batch, projection_dim)``; see get_text_features."""
        out = self.audio_model(input_features, is_longer, output_attentions, output_hidden_states, return_dict=True)
        out.pooler_output = F.normalize(self.audio_projection(out.pooler_output), dim=-1)
        return out if return_dict else out.pooler_output

    @model_forward
    def forward(self, input_ids=None, input_features=None, is_longer=None, attention_mask=None, position_ids=None,
                return_loss=None, output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        audio = self.audio_model(input_features, is_longer, output_attentions, output_hidden_states, return_dict=True)
        text = self.text_model(input_ids, attention_mask, position_ids=position_ids,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               return_dict=True)
        audio_embeds = _unit(self.audio_projection(audio.pooler_output))
        text_embeds = _unit(self.text_projection(text.pooler_output))
        logits_per_text = text_embeds @ audio_embeds.t() * self.logit_scale_t.exp()
        logits_per_audio = audio_embeds @ text_embeds.t() * self.logit_scale_a.exp()
        loss = None
        if return_loss:
            loss = (contrastive_loss(logits_per_text) + contrastive_loss(logits_per_audio.t())) / 2.0
        out = ClapOutput(loss=loss, logits_per_audio=logits_per_audio, logits_per_text=logits_per_text,
                         text_embeds=text_embeds, audio_embeds=audio_embeds,
                         text_model_output=text, audio_model_output=audio)
        return out


def _unit(embeds: torch.Tensor) -> torch.Tensor:
    return embeds / embeds.norm(p=2, dim=-1, keepdim=True)


class ClapTextModelWithProjection(ClapPreTrainedModel):
    config_class = ClapTextConfig
    base_model_prefix = "text_model"
    _keys_to_ignore_on_load_unexpected = ClapPreTrainedModel._keys_to_ignore_on_load_unexpected + _AUDIO_KEYS

    def __init__(self, config: ClapTextConfig):
        super().__init__(config)
        self.text_model = ClapTextModel(config)
        self.text_projection = ClapProjectionLayer(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.text_model.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.text_model.embeddings.word_embeddings = value

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):
        out = self.text_model(input_ids, attention_mask, position_ids=position_ids,
                              output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                              return_dict=True)
        result = ClapTextModelOutput(text_embeds=self.text_projection(out.pooler_output),
                                     last_hidden_state=out.last_hidden_state,
                                     hidden_states=out.hidden_states, attentions=out.attentions)
        return result


class ClapAudioModelWithProjection(ClapPreTrainedModel):
    config_class = ClapAudioConfig
    base_model_prefix = "audio_model"
    main_input_name = "input_features"
    _keys_to_ignore_on_load_unexpected = _TEXT_KEYS

    def __init__(self, config: ClapAudioConfig):
        super().__init__(config)
        self.audio_model = ClapAudioModel(config)
        self.audio_projection = _audio_projection(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.audio_model.audio_encoder.patch_embed.proj

    @model_forward
    def forward(self, input_features=None, is_longer=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):
        out = self.audio_model(input_features, is_longer, output_attentions, output_hidden_states, return_dict=True)
        result = ClapAudioModelOutput(audio_embeds=self.audio_projection(out.pooler_output),
                                      last_hidden_state=out.last_hidden_state,
                                      hidden_states=out.hidden_states, attentions=out.attentions)
        return result
