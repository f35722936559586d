"""ConvNeXt: a 4x4 patchify stem, then stages of (7x7 depthwise conv → LayerNorm → MLP x4 →
layer scale) residual blocks with stochastic depth; LayerNorm + 2x2 strided conv between stages.

ConvNeXt-V2 (``models/convnextv2``) is the same network with Global Response Normalization in
place of layer scale; it reuses these classes with its own block.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.modeling import PreTrainedModel
from ...core.outputs import model_forward
from ...core.vision_outputs import BaseModelOutputWithPoolingAndNoAttention, ImageClassifierOutputWithNoAttention
from ...nn.activations import get_activation
from ...nn.checkpointing import run_stages
from ...nn.classification_loss import classification_loss
from ...nn.drop_path import DropPath
from ...nn.init import init_dense_and_norm
from ...nn.linear import linear
from ..resnet.modeling import check_pixels
from .configuration import ConvNextConfig


class ConvNextLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of (B, H, W, C) input, or of (B, C, H, W) with ``channels_first``."""

    def __init__(self, normalized_shape: int, eps: float = 1e-6, data_format: str = "channels_last"):
        super().__init__(normalized_shape, eps=eps)
        self.data_format = data_format

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.data_format == "channels_first":
            return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return super().forward(x)


class ConvNextEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.patch_embeddings = nn.Conv2d(config.num_channels, config.hidden_sizes[0], kernel_size=config.patch_size,
                                          stride=config.patch_size)
        self.layernorm = ConvNextLayerNorm(config.hidden_sizes[0], eps=1e-6, data_format="channels_first")
        self.num_channels = config.num_channels

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        check_pixels(pixel_values, self.num_channels)
        pixel_values = pixel_values.to(self.patch_embeddings.weight.dtype)  # float32 input to a bf16 model
        return self.layernorm(self.patch_embeddings(pixel_values))


class ConvNextLayer(nn.Module):
    """dwconv 7x7 → (B, H, W, C) → LN → Linear 4C → GELU → Linear C → layer scale → residual."""

    def __init__(self, config, dim: int, drop_path: float = 0.0):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)  # depthwise
        self.layernorm = ConvNextLayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)  # 1x1 convs as linears over channels-last features
        self.act = get_activation(config.hidden_act)
        self.fuse_gelu = config.hidden_act == "gelu"  # exact GELU folds into the fused linear at inference
        self.pwconv2 = nn.Linear(4 * dim, dim)
        scale = getattr(config, "layer_scale_init_value", 0.0)
        self.layer_scale_parameter = nn.Parameter(scale * torch.ones(dim)) if scale > 0 else None
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

    def expand(self, x: torch.Tensor) -> torch.Tensor:
        """pwconv1 + activation (one oneDNN call on CPU inference)."""
        if self.fuse_gelu:
            return linear(self.pwconv1, x, gelu=True)
        return self.act(linear(self.pwconv1, x))

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        x = linear(self.pwconv2, self.expand(x))
        return x * self.layer_scale_parameter if self.layer_scale_parameter is not None else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.layernorm(self.dwconv(x).permute(0, 2, 3, 1))  # (B, H, W, C)
        return x + self.drop_path(self.mlp(h).permute(0, 3, 1, 2))  # back to (B, C, H, W)


class ConvNextStage(nn.Module):
    def __init__(self, config, in_channels: int, out_channels: int, stride: int, depth: int, drop_path_rates,
                 layer_class=ConvNextLayer):
        super().__init__()
        if in_channels != out_channels or stride > 1:
            self.downsampling_layer = nn.ModuleList([
                ConvNextLayerNorm(in_channels, eps=1e-6, data_format="channels_first"),
                nn.Conv2d(in_channels, out_channels, kernel_size=2, stride=stride),
            ])
        else:
            self.downsampling_layer = nn.ModuleList()
        self.layers = nn.ModuleList(layer_class(config, out_channels, drop_path_rates[j]) for j in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in (*self.downsampling_layer, *self.layers):
            x = layer(x)
        return x


class ConvNextEncoder(nn.Module):
    def __init__(self, config, layer_class=ConvNextLayer):
        super().__init__()
        # Stochastic depth grows linearly from 0 to drop_path_rate over all blocks.
        rates = torch.linspace(0, config.drop_path_rate, sum(config.depths)).split(config.depths)
        widths = [config.hidden_sizes[0], *config.hidden_sizes]
        self.stages = nn.ModuleList(
            ConvNextStage(config, widths[i], widths[i + 1], 2 if i > 0 else 1, depth, rates[i].tolist(), layer_class)
            for i, depth in enumerate(config.depths)
        )

    def forward(self, x: torch.Tensor, output_hidden_states: bool = False):
        return run_stages(self.stages, x, output_hidden_states)


class ConvNextPreTrainedModel(PreTrainedModel):
    config_class = ConvNextConfig
    base_model_prefix = "convnext"
    main_input_name = "pixel_values"
    supports_gradient_checkpointing = False
    layer_class = ConvNextLayer

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.initializer_range)
        if getattr(module, "layer_scale_parameter", None) is not None:
            nn.init.constant_(module.layer_scale_parameter, self.config.layer_scale_init_value)
        if isinstance(getattr(module, "grn", None), nn.Module):
            nn.init.zeros_(module.grn.weight)
            nn.init.zeros_(module.grn.bias)


class ConvNextModel(ConvNextPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.embeddings = ConvNextEmbeddings(config)
        self.encoder = ConvNextEncoder(config, self.layer_class)
        self.layernorm = nn.LayerNorm(config.hidden_sizes[-1], eps=config.layer_norm_eps)
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, output_hidden_states=None, return_dict=None, **kwargs):
        """``pixel_values`` (B, C, H, W) → features (B, C', H/32, W/32) and the normed spatial mean (B, C')."""
        last, hidden = self.encoder(self.embeddings(pixel_values), output_hidden_states)
        pooled = self.layernorm(last.mean([-2, -1]))
        return BaseModelOutputWithPoolingAndNoAttention(last, pooled, hidden)


class ConvNextForImageClassification(ConvNextPreTrainedModel):
    base_model_class = ConvNextModel

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        setattr(self, self.base_model_prefix, self.base_model_class(config))
        self.classifier = nn.Linear(config.hidden_sizes[-1], config.num_labels) if config.num_labels > 0 \
            else nn.Identity()
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, labels=None, output_hidden_states=None, return_dict=None, **kwargs):
        outputs = self.base_model(pixel_values, output_hidden_states=output_hidden_states, return_dict=True)
        logits = self.classifier(outputs.pooler_output)
        loss = None if labels is None else classification_loss(logits, labels, self.config)
        return ImageClassifierOutputWithNoAttention(loss, logits, outputs.hidden_states)



