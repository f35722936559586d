"""CvT: three stages, each a strided convolutional token embedding (with LayerNorm) followed by
transformer blocks whose queries, keys and values come from depthwise conv + BatchNorm
projections of the token map (keys/values strided, so attention is cheaper); the last stage
adds a [CLS] token, which the classifier reads.

Two quirks of the reference implementation are kept for exact outputs: attention scores are
scaled by ``embed_dim ** -0.5`` (not per head), and stochastic depth uses one rate per stage
(the stage index picks it) and wraps the MLP's residual sum too.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...core.modeling import PreTrainedModel
from ...core.outputs import ModelOutput, model_forward, output_dataclass
from ...core.vision_outputs import ImageClassifierOutputWithNoAttention
from ...nn.attention import attention, merge_heads, split_heads
from ...nn.classification_loss import classification_loss
from ...nn.drop_path import DropPath
from ...nn.init import init_dense_and_norm
from ..resnet.modeling import check_pixels
from .configuration import CvtConfig


@output_dataclass
class BaseModelOutputWithCLSToken(ModelOutput):
    last_hidden_state: Any = None
    cls_token_value: Any = None
    hidden_states: Any = None


def to_tokens(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(2).transpose(1, 2)  # (B, C, H, W) → (B, H·W, C)


def to_map(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], height, width)  # (B, H·W, C) → (B, C, H, W)


class CvtConvEmbeddings(nn.Module):
    def __init__(self, patch_size: int, num_channels: int, embed_dim: int, stride: int, padding: int):
        super().__init__()
        self.projection = nn.Conv2d(num_channels, embed_dim, kernel_size=patch_size, stride=stride, padding=padding)
        self.normalization = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.projection(x)
        return to_map(self.normalization(to_tokens(x)), *x.shape[-2:])


class CvtEmbeddings(nn.Module):
    def __init__(self, patch_size, num_channels, embed_dim, stride, padding, dropout_rate):
        super().__init__()
        self.convolution_embeddings = CvtConvEmbeddings(patch_size, num_channels, embed_dim, stride, padding)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.convolution_embeddings(x))


class CvtSelfAttentionConvProjection(nn.Module):
    def __init__(self, embed_dim: int, kernel_size: int, padding: int, stride: int):
        super().__init__()
        self.convolution = nn.Conv2d(embed_dim, embed_dim, kernel_size, padding=padding, stride=stride, bias=False,
                                     groups=embed_dim)
        self.normalization = nn.BatchNorm2d(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalization(self.convolution(x))


class CvtSelfAttentionProjection(nn.Module):
    """Depthwise conv + BatchNorm ("dw_bn"), then the map flattened to tokens."""

    def __init__(self, embed_dim, kernel_size, padding, stride, projection_method="dw_bn"):
        super().__init__()
        self.convolution_projection = CvtSelfAttentionConvProjection(embed_dim, kernel_size, padding, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return to_tokens(self.convolution_projection(x))


class CvtSelfAttention(nn.Module):
    def __init__(self, config: CvtConfig, stage: int):
        super().__init__()
        dim, kernel, method = config.embed_dim[stage], config.kernel_qkv[stage], config.qkv_projection_method[stage]
        self.scale = dim ** -0.5  # the reference scales by the full width, not the head width
        self.with_cls_token = config.cls_token[stage]
        self.num_heads = config.num_heads[stage]
        self.dropout = config.attention_drop_rate[stage]
        self.convolution_projection_query = CvtSelfAttentionProjection(dim, kernel, config.padding_q[stage],
                                                                       config.stride_q[stage], method)
        self.convolution_projection_key = CvtSelfAttentionProjection(dim, kernel, config.padding_kv[stage],
                                                                     config.stride_kv[stage], method)
        self.convolution_projection_value = CvtSelfAttentionProjection(dim, kernel, config.padding_kv[stage],
                                                                       config.stride_kv[stage], method)
        bias = config.qkv_bias[stage]
        self.projection_query = nn.Linear(dim, dim, bias=bias)
        self.projection_key = nn.Linear(dim, dim, bias=bias)
        self.projection_value = nn.Linear(dim, dim, bias=bias)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        if self.with_cls_token:
            cls, x = torch.split(x, [1, height * width], 1)
        grid = to_map(x, height, width)
        q, k, v = (self.convolution_projection_query(grid), self.convolution_projection_key(grid),
                   self.convolution_projection_value(grid))
        if self.with_cls_token:
            q, k, v = (torch.cat((cls, t), dim=1) for t in (q, k, v))
        q = split_heads(self.projection_query(q), self.num_heads)  # (B, H, Tq, D)
        k = split_heads(self.projection_key(k), self.num_heads)  # (B, H, Tk, D), Tk < Tq with stride_kv
        v = split_heads(self.projection_value(v), self.num_heads)
        out, _ = attention(q, k, v, dropout=self.dropout if self.training else 0.0, scale=self.scale)
        return merge_heads(out)


class CvtSelfOutput(nn.Module):
    def __init__(self, embed_dim: int, drop_rate: float):
        super().__init__()
        self.dense = nn.Linear(embed_dim, embed_dim)
        self.dropout = nn.Dropout(drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.dense(x))


class CvtAttention(nn.Module):
    def __init__(self, config: CvtConfig, stage: int):
        super().__init__()
        self.attention = CvtSelfAttention(config, stage)
        self.output = CvtSelfOutput(config.embed_dim[stage], config.drop_rate[stage])

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        return self.output(self.attention(x, height, width))


class CvtIntermediate(nn.Module):
    def __init__(self, embed_dim: int, mlp_ratio: float):
        super().__init__()
        self.dense = nn.Linear(embed_dim, int(embed_dim * mlp_ratio))
        self.activation = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(x))


class CvtOutput(nn.Module):
    def __init__(self, embed_dim: int, mlp_ratio: float, drop_rate: float):
        super().__init__()
        self.dense = nn.Linear(int(embed_dim * mlp_ratio), embed_dim)
        self.dropout = nn.Dropout(drop_rate)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.dense(x)) + residual


class CvtLayer(nn.Module):
    def __init__(self, config: CvtConfig, stage: int, drop_path_rate: float):
        super().__init__()
        dim = config.embed_dim[stage]
        self.attention = CvtAttention(config, stage)
        self.intermediate = CvtIntermediate(dim, config.mlp_ratio[stage])
        self.output = CvtOutput(dim, config.mlp_ratio[stage], config.drop_rate[stage])
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0.0 else nn.Identity()
        self.layernorm_before = nn.LayerNorm(dim)
        self.layernorm_after = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        x = x + self.drop_path(self.attention(self.layernorm_before(x), height, width))
        return self.drop_path(self.output(self.intermediate(self.layernorm_after(x)), x))


class CvtStage(nn.Module):
    def __init__(self, config: CvtConfig, stage: int):
        super().__init__()
        self.stage = stage
        self.with_cls_token = config.cls_token[stage]
        if self.with_cls_token:
            self.cls_token = nn.Parameter(torch.randn(1, 1, config.embed_dim[-1]))
        self.embedding = CvtEmbeddings(config.patch_sizes[stage],
                                       config.num_channels if stage == 0 else config.embed_dim[stage - 1],
                                       config.embed_dim[stage], config.patch_stride[stage], config.patch_padding[stage],
                                       config.drop_rate[stage])
        rates = torch.linspace(0, config.drop_path_rate[stage], config.depth[stage]).tolist()
        rate = rates[min(stage, len(rates) - 1)]  # the reference indexes the rates by stage
        self.layers = nn.Sequential(*[CvtLayer(config, stage, rate) for _ in range(config.depth[stage])])

    def forward(self, x: torch.Tensor):
        x = self.embedding(x)
        height, width = x.shape[-2:]
        tokens = to_tokens(x)
        if self.with_cls_token:
            tokens = torch.cat((self.cls_token.expand(tokens.shape[0], -1, -1), tokens), dim=1)
        for layer in self.layers:
            tokens = layer(tokens, height, width)
        cls = None
        if self.with_cls_token:
            cls, tokens = torch.split(tokens, [1, height * width], 1)
        return to_map(tokens, height, width), cls


class CvtEncoder(nn.Module):
    def __init__(self, config: CvtConfig):
        super().__init__()
        self.stages = nn.ModuleList(CvtStage(config, i) for i in range(len(config.depth)))

    def forward(self, x: torch.Tensor, output_hidden_states: bool = False) -> BaseModelOutputWithCLSToken:
        hidden, cls = [], None
        for stage in self.stages:
            x, cls = stage(x)
            hidden.append(x)
        return BaseModelOutputWithCLSToken(x, cls, tuple(hidden) if output_hidden_states else None)


class CvtPreTrainedModel(PreTrainedModel):
    config_class = CvtConfig
    base_model_prefix = "cvt"
    main_input_name = "pixel_values"
    supports_gradient_checkpointing = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if init_dense_and_norm(module, std, truncated=True, norms=(nn.LayerNorm, nn.BatchNorm2d)):
            return
        if isinstance(module, CvtStage) and module.with_cls_token:
            nn.init.trunc_normal_(module.cls_token, mean=0.0, std=std)


class CvtModel(CvtPreTrainedModel):
    def __init__(self, config: CvtConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.encoder = CvtEncoder(config)
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, output_hidden_states=None, return_dict=None, **kwargs):
        """``pixel_values`` (B, C, H, W) → the last stage's map (B, C', h, w) and its [CLS] token."""
        check_pixels(pixel_values, self.config.num_channels)
        return self.encoder(pixel_values.to(self.dtype), output_hidden_states)  # float32 input to a bf16 model


class CvtForImageClassification(CvtPreTrainedModel):
    def __init__(self, config: CvtConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.cvt = CvtModel(config, add_pooling_layer=False)
        self.layernorm = nn.LayerNorm(config.embed_dim[-1])
        self.classifier = nn.Linear(config.embed_dim[-1], config.num_labels) if config.num_labels > 0 \
            else nn.Identity()
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, labels=None, output_hidden_states=None, return_dict=None, **kwargs):
        outputs = self.cvt(pixel_values, output_hidden_states=output_hidden_states, return_dict=True)
        if self.config.cls_token[-1]:
            features = self.layernorm(outputs.cls_token_value)  # (B, 1, C)
        else:
            features = self.layernorm(to_tokens(outputs.last_hidden_state))  # (B, h·w, C)
        logits = self.classifier(features.mean(dim=1))
        loss = None if labels is None else classification_loss(logits, labels, self.config)
        return ImageClassifierOutputWithNoAttention(loss, logits, outputs.hidden_states)
