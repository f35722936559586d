"""ALIGN: an EfficientNet image encoder and a BERT text encoder meeting in one embedding space.

Submodule names are the checkpoint's (``vision_model.embeddings.convolution``,
``vision_model.encoder.blocks.N.expansion.expand_conv``, ``…depthwise_conv.depthwise_conv``,
``…squeeze_excite.reduce``, ``…projection.project_conv``, ``text_model.encoder.layer.N…``,
``text_projection``, ``temperature``), so weights load with one ``load_state_dict``. Unlike a
classification EfficientNet, ALIGN's image tower has no top conv and no image projection: the
last block's output is pooled and used directly as the image embedding.
"""

from __future__ import annotations

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
from ...nn.init import init_dense_and_norm
from ...nn.losses import symmetric_contrastive_loss
from ..bert.modeling import BertModel
from .configuration import AlignConfig, AlignTextConfig, AlignVisionConfig


def conv_bn(conv: nn.Conv2d, norm: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """``norm(conv(x))``; in eval mode the norm is folded into the conv's weights.

    Eval-mode batch norm is a per-channel affine map, so scaling the filters and adding a bias
    gives the same result in one pass over the feature map instead of two (batch norm was a
    fifth of the tower's time). The scale is computed in fp32 so bf16 models lose nothing.
    In train mode the norm runs as is, using and updating the batch statistics.
    """
    if norm.training:
        return norm(conv(x))
    scale = norm.weight.float() * torch.rsqrt(norm.running_var.float() + norm.eps)  # (C_out,)
    weight = (conv.weight.float() * scale.view(-1, 1, 1, 1)).to(conv.weight.dtype)
    bias = (norm.bias.float() - norm.running_mean.float() * scale).to(conv.weight.dtype)
    return conv._conv_forward(x, weight, bias)


def depthwise_padding(kernel_size: int, adjust: bool) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) zero padding before a stride-2 depthwise conv.

    TensorFlow's "same" padding for stride 2 puts the extra pixel on the right/bottom
    (``adjust=True``); blocks listed in ``config.depthwise_padding`` pad symmetrically instead.
    """
    half = kernel_size // 2
    return (half - 1, half, half - 1, half) if adjust else (half, half, half, half)


class AlignVisionEmbeddings(nn.Module):
    """The stem: 3×3 stride-2 conv (TF-style padding: one extra row/column right and bottom), BN, act."""

    def __init__(self, config: AlignVisionConfig):
        super().__init__()
        self.out_dim = config.round_filters(32)
        self.convolution = nn.Conv2d(config.num_channels, self.out_dim, kernel_size=3, stride=2, bias=False)
        self.batchnorm = nn.BatchNorm2d(self.out_dim, eps=config.batch_norm_eps, momentum=config.batch_norm_momentum)
        self.activation = get_activation(config.hidden_act)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        padded = F.pad(pixel_values, (0, 1, 0, 1))
        return self.activation(conv_bn(self.convolution, self.batchnorm, padded))


class AlignVisionExpansionLayer(nn.Module):
    """1×1 conv that widens the block's channels by ``expand_ratio``."""

    def __init__(self, config: AlignVisionConfig, in_dim: int, out_dim: int):
        super().__init__()
        self.expand_conv = nn.Conv2d(in_dim, out_dim, kernel_size=1, bias=False)
        # Transformers leaves this one norm at torch's default momentum (0.1), unlike the others;
        # it only matters in train mode, where it decides how fast running stats move.
        self.expand_bn = nn.BatchNorm2d(out_dim, eps=config.batch_norm_eps)
        self.expand_act = get_activation(config.hidden_act)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.expand_act(conv_bn(self.expand_conv, self.expand_bn, hidden_states))


class AlignVisionDepthwiseLayer(nn.Module):
    """k×k depthwise conv (one filter per channel), BN, act."""

    def __init__(self, config: AlignVisionConfig, in_dim: int, stride: int, kernel_size: int, adjust_padding: bool):
        super().__init__()
        self.stride = stride
        self.pad = depthwise_padding(kernel_size, adjust_padding)
        self.depthwise_conv = nn.Conv2d(
            in_dim, in_dim, kernel_size, stride=stride, groups=in_dim, bias=False,
            padding="valid" if stride == 2 else "same",
        )
        self.depthwise_norm = nn.BatchNorm2d(in_dim, eps=config.batch_norm_eps, momentum=config.batch_norm_momentum)
        self.depthwise_act = get_activation(config.hidden_act)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if self.stride == 2:
            hidden_states = F.pad(hidden_states, self.pad)
        return self.depthwise_act(conv_bn(self.depthwise_conv, self.depthwise_norm, hidden_states))


class AlignVisionSqueezeExciteLayer(nn.Module):
    """Channel gating: global mean → 1×1 reduce → act → 1×1 expand → sigmoid → scale."""

    def __init__(self, config: AlignVisionConfig, in_dim: int, expand_dim: int):
        super().__init__()
        # The bottleneck width follows the block's *input* channels, not the expanded ones.
        dim_se = max(1, int(in_dim * config.squeeze_expansion_ratio))
        self.reduce = nn.Conv2d(expand_dim, dim_se, kernel_size=1)
        self.expand = nn.Conv2d(dim_se, expand_dim, kernel_size=1)
        self.act_reduce = get_activation(config.hidden_act)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        squeezed = hidden_states.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
        gate = torch.sigmoid(self.expand(self.act_reduce(self.reduce(squeezed))))
        return hidden_states * gate


class AlignVisionFinalBlockLayer(nn.Module):
    """1×1 projection back to ``out_dim``, BN, and the residual (with dropout) where shapes allow."""

    def __init__(self, config: AlignVisionConfig, in_dim: int, out_dim: int, stride: int, drop_rate: float, id_skip: bool):
        super().__init__()
        # Only repeated blocks of a stage (stride 1, same width) have a residual.
        self.apply_dropout = stride == 1 and not id_skip
        self.project_conv = nn.Conv2d(in_dim, out_dim, kernel_size=1, bias=False)
        self.project_bn = nn.BatchNorm2d(out_dim, eps=config.batch_norm_eps, momentum=config.batch_norm_momentum)
        # Transformers' "drop connect" is element-wise dropout on the branch (active in train mode only).
        self.dropout = nn.Dropout(p=drop_rate)

    def forward(self, embeddings: torch.Tensor, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = conv_bn(self.project_conv, self.project_bn, hidden_states)
        if self.apply_dropout:
            hidden_states = self.dropout(hidden_states) + embeddings
        return hidden_states


class AlignVisionBlock(nn.Module):
    """One MBConv block: [expand] → depthwise → squeeze-excite → project (+ residual)."""

    def __init__(self, config: AlignVisionConfig, in_dim: int, out_dim: int, stride: int, expand_ratio: int,
                 kernel_size: int, drop_rate: float, id_skip: bool, adjust_padding: bool):
        super().__init__()
        self.expand = expand_ratio != 1
        inner_dim = in_dim * expand_ratio
        if self.expand:
            self.expansion = AlignVisionExpansionLayer(config, in_dim, inner_dim)
        self.depthwise_conv = AlignVisionDepthwiseLayer(config, inner_dim, stride, kernel_size, adjust_padding)
        self.squeeze_excite = AlignVisionSqueezeExciteLayer(config, in_dim, inner_dim)
        self.projection = AlignVisionFinalBlockLayer(config, inner_dim, out_dim, stride, drop_rate, id_skip)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        inputs = hidden_states
        if self.expand:
            hidden_states = self.expansion(hidden_states)
        hidden_states = self.squeeze_excite(self.depthwise_conv(hidden_states))
        return self.projection(inputs, hidden_states)


def _block_specs(config: AlignVisionConfig):
    """Keyword arguments of every block, in order, after width and depth scaling."""
    total = config.num_hidden_layers
    index = 0
    for stage in range(len(config.in_channels)):
        in_dim = config.round_filters(config.in_channels[stage])
        out_dim = config.round_filters(config.out_channels[stage])
        for repeat in range(config.round_repeats(config.num_block_repeats[stage])):
            yield dict(
                in_dim=in_dim if repeat == 0 else out_dim,
                out_dim=out_dim,
                stride=config.strides[stage] if repeat == 0 else 1,
                expand_ratio=config.expand_ratios[stage],
                kernel_size=config.kernel_sizes[stage],
                # Stochastic depth grows linearly with depth, as in EfficientNet.
                drop_rate=config.drop_connect_rate * index / total,
                id_skip=repeat == 0,
                adjust_padding=index not in config.depthwise_padding,
            )
            index += 1


class AlignVisionEncoder(nn.Module):
    def __init__(self, config: AlignVisionConfig):
        super().__init__()
        self.blocks = nn.ModuleList(AlignVisionBlock(config, **spec) for spec in _block_specs(config))

    def forward(self, hidden_states: torch.Tensor, output_hidden_states: bool = False):
        """Returns the last feature map and, if asked, (stem output, each block's output)."""
        # Returned maps are made contiguous (NCHW strides) so `.view` works as on Transformers' outputs.
        all_states = [hidden_states.contiguous()] if output_hidden_states else None
        for block in self.blocks:
            hidden_states = block(hidden_states)
            if all_states is not None:
                all_states.append(hidden_states.contiguous())
        return hidden_states, (tuple(all_states) if all_states is not None else None)


# --------------------------------------------------------------------------- outputs
@output_dataclass
class AlignOutput(ModelOutput):
    loss: Any = None
    logits_per_image: Any = None  # (n_images, n_texts)
    logits_per_text: Any = None  # (n_texts, n_images)
    text_embeds: Any = None  # (n_texts, projection_dim), L2-normalised
    image_embeds: Any = None  # (n_images, image channels), L2-normalised
    text_model_output: Any = None
    vision_model_output: Any = None


def align_loss(logits_per_text: torch.Tensor) -> torch.Tensor:
    """Mean of the text→image and image→text losses (text i is the caption of image i)."""
    n_texts, n_images = logits_per_text.shape
    if n_texts != n_images:
        raise InvalidInputError(
            f"return_loss=True needs matching image-text pairs, got {n_texts} texts and {n_images} images; "
            "pass one caption per image (or return_loss=False for zero-shot scoring)."
        )
    return symmetric_contrastive_loss(logits_per_text, label_smoothing=0.1)  # CLIP does not smooth


def check_pixel_values(pixel_values, num_channels: int, dtype: torch.dtype) -> torch.Tensor:
    """Reject what the conv stem cannot take, with a message that says how to fix it."""
    if pixel_values is None:
        raise InvalidInputError("pixel_values is required: pass images through AlignProcessor / EfficientNetImageProcessor.")
    if not isinstance(pixel_values, torch.Tensor):
        raise InvalidInputError(
            f"pixel_values must be a torch.Tensor of shape (batch, {num_channels}, height, width), got "
            f"{type(pixel_values).__name__}; use the image processor with return_tensors='pt'."
        )
    if pixel_values.ndim != 4 or pixel_values.shape[1] != num_channels:
        raise InvalidInputError(
            f"pixel_values must have shape (batch, {num_channels}, height, width), got {tuple(pixel_values.shape)}. "
            "Add a batch dimension with .unsqueeze(0) for one image, and pass channels first."
        )
    if not pixel_values.is_floating_point():
        raise InvalidInputError(
            f"pixel_values must be floating point (rescaled and normalised), got {pixel_values.dtype}; "
            "run the images through the image processor first."
        )
    return pixel_values.to(dtype)


# --------------------------------------------------------------------------- models
class AlignPreTrainedModel(PreTrainedModel):
    config_class = AlignConfig
    base_model_prefix = "align"
    main_input_name = "input_ids"
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"token_type_ids$")

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.initializer_range, norms=(nn.LayerNorm, nn.BatchNorm2d),
                            embeddings=True)
        if isinstance(module, AlignModel):
            nn.init.xavier_uniform_(module.text_projection.weight)
            module.text_projection.bias.zero_()
            module.temperature.fill_(self.config.temperature_init_value)


class AlignVisionModel(AlignPreTrainedModel):
    """The EfficientNet image tower; ``pooler_output`` is the (unnormalised) image embedding."""

    config_class = AlignVisionConfig
    main_input_name = "pixel_values"
    # Lets a full ALIGN checkpoint load into the vision tower alone (its keys start with this).
    base_model_prefix = "vision_model"
    supports_gradient_checkpointing = False

    def __init__(self, config: AlignVisionConfig):
        super().__init__(config)
        self.embeddings = AlignVisionEmbeddings(config)
        self.encoder = AlignVisionEncoder(config)
        self.post_init()

    @model_forward
    def forward(self, pixel_values: torch.Tensor | None = None, output_hidden_states: bool | None = None,
                return_dict: bool | None = None, **kwargs):
        config = self.config
        pixel_values = check_pixel_values(pixel_values, config.num_channels, self.embeddings.convolution.weight.dtype)
        # Channels-last makes CPU depthwise convs ~4x and 1x1 convs ~2x faster; values are unchanged.
        pixel_values = pixel_values.contiguous(memory_format=torch.channels_last)
        hidden, states = self.encoder(self.embeddings(pixel_values), output_hidden_states)
        # Global pooling over the whole feature map (Transformers' pool window is larger than any map).
        pooled = hidden.mean(dim=(2, 3)) if config.pooling_type == "mean" else hidden.amax(dim=(2, 3))
        out = BaseModelOutputWithPooling(last_hidden_state=hidden.contiguous(), pooler_output=pooled,
                                         hidden_states=states)
        return out


def _check_joint_width(text_embeds: torch.Tensor, image_embeds: torch.Tensor) -> None:
    # ALIGN has no image projection, so the config must make both widths agree.
    if text_embeds.shape[-1] != image_embeds.shape[-1]:
        raise ConfigError(
            f"projection_dim={text_embeds.shape[-1]} differs from the image embedding width "
            f"{image_embeds.shape[-1]} (the last vision block's channels); set projection_dim to that width."
        )


class AlignTextModel(BertModel):
    """ALIGN's BERT text tower: the shared BERT encoder under ALIGN's config class."""

    config_class = AlignTextConfig
    # Lets a full ALIGN checkpoint load into the text tower alone (its keys start with this).
    base_model_prefix = "text_model"


class AlignModel(AlignPreTrainedModel):
    """Both towers, the text projection and the learned temperature."""

    def __init__(self, config: AlignConfig):
        super().__init__(config)
        if not isinstance(config.text_config, AlignTextConfig) or not isinstance(config.vision_config, AlignVisionConfig):
            raise ConfigError(
                "AlignModel needs config.text_config to be an AlignTextConfig and config.vision_config an "
                f"AlignVisionConfig; got {type(config.text_config).__name__} and {type(config.vision_config).__name__}."
            )
        self.projection_dim = config.projection_dim
        self.text_model = AlignTextModel(config.text_config)
        self.vision_model = AlignVisionModel(config.vision_config)
        self.text_projection = nn.Linear(config.text_config.hidden_size, config.projection_dim)
        self.temperature = nn.Parameter(torch.tensor(config.temperature_init_value))
        self.post_init()

    def _text_embeds(self, text_outputs) -> torch.Tensor:
        # ALIGN projects the [CLS] hidden state itself, not BERT's tanh pooler output.
        return self.text_projection(text_outputs.last_hidden_state[:, 0, :])

    def get_text_features(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                          inputs_embeds=None, output_attentions=None, output_hidden_states=None,
                          return_dict=False, **kwargs):
        """Projected text embeddings ``(batch, projection_dim)`` (not normalised).

        With ``return_dict=True`` the text tower's output comes back with ``pooler_output``
        replaced by the projection, as Transformers 5 returns it (same convention as CLIP here).
        """
        out = self.text_model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                              position_ids=position_ids, inputs_embeds=inputs_embeds,
                              output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                              return_dict=True)
        out.pooler_output = self._text_embeds(out)
        return out if return_dict else out.pooler_output

    def get_image_features(self, pixel_values=None, output_hidden_states=None, return_dict=False, **kwargs):
        """Pooled image embeddings ``(batch, channels of the last block)`` (not normalised); see get_text_features."""
        out = self.vision_model(pixel_values=pixel_values, output_hidden_states=output_hidden_states, return_dict=True)
        return out if return_dict else out.pooler_output

    @model_forward
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        return_loss: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ):
        vision_outputs = self.vision_model(pixel_values=pixel_values, output_hidden_states=output_hidden_states,
                                           return_dict=True)
        text_outputs = self.text_model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
            position_ids=position_ids, inputs_embeds=inputs_embeds, output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, return_dict=True,
        )
        image_embeds = F.normalize(vision_outputs.pooler_output, dim=-1)
        text_embeds = F.normalize(self._text_embeds(text_outputs), dim=-1)
        _check_joint_width(text_embeds, image_embeds)
        logits_per_text = text_embeds @ image_embeds.t() / self.temperature  # (n_texts, n_images)
        out = AlignOutput(
            loss=align_loss(logits_per_text) if return_loss else None,
            logits_per_image=logits_per_text.t(),
            logits_per_text=logits_per_text,
            text_embeds=text_embeds,
            image_embeds=image_embeds,
            text_model_output=text_outputs,
            vision_model_output=vision_outputs,
        )
        return out
