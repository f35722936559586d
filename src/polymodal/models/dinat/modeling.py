"""DiNAT: a convolutional stem (two stride-2 convs), then stages of neighbourhood-attention blocks
whose dilation alternates (local and sparse-global context), with a strided-conv downsampler
between stages. Features stay channels-last (B, H, W, C) throughout, as in the reference.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...core.modeling import PreTrainedModel
from ...core.outputs import ModelOutput, model_forward, output_dataclass
from ...nn.activations import get_activation
from ...nn.classification_loss import classification_loss
from ...nn.drop_path import DropPath
from ...nn.init import init_dense_and_norm
from ..resnet.modeling import check_pixels
from .configuration import DinatConfig
from .neighborhood_attention import neighborhood_context, neighborhood_scores


@output_dataclass
class DinatModelOutput(ModelOutput):
    last_hidden_state: Any = None
    pooler_output: Any = None
    hidden_states: Any = None
    attentions: Any = None
    reshaped_hidden_states: Any = None


@output_dataclass
class DinatImageClassifierOutput(ModelOutput):
    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None
    reshaped_hidden_states: Any = None


class DinatPatchEmbeddings(nn.Module):
    def __init__(self, config: DinatConfig):
        super().__init__()
        self.num_channels = config.num_channels
        self.projection = nn.Sequential(
            nn.Conv2d(config.num_channels, config.embed_dim // 2, kernel_size=3, stride=2, padding=1),
            nn.Conv2d(config.embed_dim // 2, config.embed_dim, kernel_size=3, stride=2, padding=1),
        )

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        check_pixels(pixel_values, self.num_channels)
        pixel_values = pixel_values.to(self.projection[0].weight.dtype)  # float32 input to a bf16 model
        return self.projection(pixel_values).permute(0, 2, 3, 1)  # (B, H/4, W/4, C)


class DinatEmbeddings(nn.Module):
    def __init__(self, config: DinatConfig):
        super().__init__()
        self.patch_embeddings = DinatPatchEmbeddings(config)
        self.norm = nn.LayerNorm(config.embed_dim)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.norm(self.patch_embeddings(pixel_values)))


class DinatDownsampler(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Conv2d(dim, 2 * dim, kernel_size=3, stride=2, padding=1, bias=False)
        self.norm = nn.LayerNorm(2 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.reduction(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))


class NeighborhoodAttention(nn.Module):
    def __init__(self, config, dim: int, num_heads: int, kernel_size: int, dilation: int):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.kernel_size, self.dilation = kernel_size, dilation
        self.rpb = nn.Parameter(torch.zeros(num_heads, 2 * kernel_size - 1, 2 * kernel_size - 1))
        self.query = nn.Linear(dim, dim, bias=config.qkv_bias)
        self.key = nn.Linear(dim, dim, bias=config.qkv_bias)
        self.value = nn.Linear(dim, dim, bias=config.qkv_bias)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, height, width, _ = x.shape
        return x.view(batch, height, width, self.num_heads, self.head_dim).permute(0, 3, 1, 2, 4)  # (B, n, H, W, D)

    def forward(self, x: torch.Tensor, output_attentions: bool = False):
        q = self._heads(self.query(x)) / math.sqrt(self.head_dim)
        k, v = self._heads(self.key(x)), self._heads(self.value(x))
        weights = self.dropout(neighborhood_scores(q, k, self.rpb, self.kernel_size, self.dilation).softmax(-1))
        out = neighborhood_context(weights, v, self.kernel_size, self.dilation)  # (B, n, H, W, D)
        out = out.permute(0, 2, 3, 1, 4).flatten(-2)  # (B, H, W, n·D)
        return out, (weights if output_attentions else None)


class NeighborhoodAttentionOutput(nn.Module):
    def __init__(self, config, dim: int):
        super().__init__()
        self.dense = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.dense(x))


class NeighborhoodAttentionModule(nn.Module):
    def __init__(self, config, dim, num_heads, kernel_size, dilation):
        super().__init__()
        self.self = NeighborhoodAttention(config, dim, num_heads, kernel_size, dilation)
        self.output = NeighborhoodAttentionOutput(config, dim)

    def forward(self, x: torch.Tensor, output_attentions: bool = False):
        out, weights = self.self(x, output_attentions)
        return self.output(out), weights


class DinatIntermediate(nn.Module):
    def __init__(self, config, dim: int):
        super().__init__()
        self.dense = nn.Linear(dim, int(config.mlp_ratio * dim))
        self.intermediate_act_fn = get_activation(config.hidden_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(x))


class DinatOutput(nn.Module):
    def __init__(self, config, dim: int):
        super().__init__()
        self.dense = nn.Linear(int(config.mlp_ratio * dim), dim)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.dense(x))


class DinatLayer(nn.Module):
    def __init__(self, config, dim: int, num_heads: int, dilation: int, drop_path_rate: float = 0.0):
        super().__init__()
        self.window_size = config.kernel_size * dilation
        self.layernorm_before = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.attention = NeighborhoodAttentionModule(config, dim, num_heads, config.kernel_size, dilation)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0.0 else nn.Identity()
        self.layernorm_after = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.intermediate = DinatIntermediate(config, dim)
        self.output = DinatOutput(config, dim)
        scale = config.layer_scale_init_value
        self.layer_scale_parameters = nn.Parameter(scale * torch.ones(2, dim)) if scale > 0 else None

    def forward(self, x: torch.Tensor, output_attentions: bool = False):
        _, height, width, _ = x.shape
        h = self.layernorm_before(x)
        # A map smaller than the dilated window is zero-padded bottom/right for the attention.
        pad_h, pad_w = max(0, self.window_size - height), max(0, self.window_size - width)
        if pad_h or pad_w:
            h = F.pad(h, (0, 0, 0, pad_w, 0, pad_h))
        h, weights = self.attention(h, output_attentions)
        h = h[:, :height, :width]
        if self.layer_scale_parameters is not None:
            h = self.layer_scale_parameters[0] * h
        x = x + self.drop_path(h)
        h = self.output(self.intermediate(self.layernorm_after(x)))
        if self.layer_scale_parameters is not None:
            h = self.layer_scale_parameters[1] * h
        return x + self.drop_path(h), weights


class DinatStage(nn.Module):
    def __init__(self, config, dim, depth, num_heads, dilations, drop_path_rates, downsample: bool):
        super().__init__()
        self.layers = nn.ModuleList(DinatLayer(config, dim, num_heads, dilations[i], drop_path_rates[i])
                                    for i in range(depth))
        self.downsample = DinatDownsampler(dim) if downsample else None

    def forward(self, x: torch.Tensor, output_attentions: bool = False):
        weights = None
        for layer in self.layers:
            x, weights = layer(x, output_attentions)
        return (self.downsample(x) if self.downsample is not None else x), weights  # last layer's weights


class DinatEncoder(nn.Module):
    def __init__(self, config: DinatConfig):
        super().__init__()
        rates = torch.linspace(0, config.drop_path_rate, sum(config.depths)).tolist()
        stages, start = [], 0
        for i, depth in enumerate(config.depths):
            stages.append(DinatStage(config, int(config.embed_dim * 2**i), depth, config.num_heads[i],
                                     config.dilations[i], rates[start:start + depth], i < len(config.depths) - 1))
            start += depth
        self.levels = nn.ModuleList(stages)

    def forward(self, x, output_attentions=False, output_hidden_states=False):
        hidden = [x] if output_hidden_states else None
        attentions = [] if output_attentions else None
        for stage in self.levels:
            x, weights = stage(x, output_attentions)
            if output_hidden_states:
                hidden.append(x)
            if output_attentions:
                attentions.append(weights)
        return x, hidden, attentions


class DinatPreTrainedModel(PreTrainedModel):
    config_class = DinatConfig
    base_model_prefix = "dinat"
    main_input_name = "pixel_values"
    supports_gradient_checkpointing = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.initializer_range)


class DinatModel(DinatPreTrainedModel):
    def __init__(self, config: DinatConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.num_features = int(config.embed_dim * 2 ** (len(config.depths) - 1))
        self.embeddings = DinatEmbeddings(config)
        self.encoder = DinatEncoder(config)
        self.layernorm = nn.LayerNorm(self.num_features, eps=config.layer_norm_eps)
        self.pooler = nn.AdaptiveAvgPool1d(1) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.patch_embeddings

    @model_forward
    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **kwargs):
        """``pixel_values`` (B, C, H, W) → channels-last features (B, H/32, W/32, C') and their mean."""
        last, hidden, attentions = self.encoder(self.embeddings(pixel_values), output_attentions,
                                                output_hidden_states)
        last = self.layernorm(last)
        pooled = None
        if self.pooler is not None:
            pooled = self.pooler(last.flatten(1, 2).transpose(1, 2)).flatten(1)
        reshaped = tuple(h.permute(0, 3, 1, 2) for h in hidden) if hidden else None
        return DinatModelOutput(last, pooled, tuple(hidden) if hidden else None,
                                tuple(attentions) if attentions is not None else None, reshaped)


class DinatForImageClassification(DinatPreTrainedModel):
    def __init__(self, config: DinatConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.dinat = DinatModel(config)
        self.classifier = nn.Linear(self.dinat.num_features, config.num_labels) if config.num_labels > 0 \
            else nn.Identity()
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, labels=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):
        outputs = self.dinat(pixel_values, output_attentions=output_attentions,
                             output_hidden_states=output_hidden_states, return_dict=True)
        logits = self.classifier(outputs.pooler_output)
        loss = None if labels is None else classification_loss(logits, labels, self.config)
        return DinatImageClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions,
                                          outputs.reshaped_hidden_states)
