"""MobileNetV2: a stem, 16 inverted-residual blocks (expand 1x1 → depthwise 3x3 → linear 1x1),
a final 1x1 conv to 1280 channels, global average pool and a linear head.

Checkpoints converted from TensorFlow use "SAME" padding, computed per input size
(``tf_padding``); channel counts are scaled by ``depth_multiplier`` and rounded to multiples of
``depth_divisible_by``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...core.modeling import PreTrainedModel
from ...core.outputs import model_forward
from ...core.vision_outputs import BaseModelOutputWithPoolingAndNoAttention, ImageClassifierOutputWithNoAttention
from ...nn.activations import get_activation
from ...nn.classification_loss import classification_loss
from ...nn.init import init_dense_and_norm
from ..resnet.modeling import check_pixels
from .configuration import MobileNetV2Config

# Channels of the stem output and the 16 blocks, and each block's stride, at depth_multiplier 1.
CHANNELS = (16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320)
STRIDES = (2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round to a multiple of ``divisor``, never more than 10% below ``value``."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * value else rounded)


def apply_depth_multiplier(config: MobileNetV2Config, channels: int) -> int:
    return make_divisible(int(round(channels * config.depth_multiplier)), config.depth_divisible_by, config.min_depth)


def tf_same_padding(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """TensorFlow's "SAME" padding for ``conv`` on this input size (extra pixel at the bottom/right)."""
    pads = []
    for size, stride, kernel, dilation in zip(x.shape[-2:], conv.stride, conv.kernel_size, conv.dilation):
        total = max(kernel - (stride if size % stride == 0 else size % stride), 0)
        pads.append((total // 2 * dilation, (total - total // 2) * dilation))
    (top, bottom), (left, right) = pads
    return F.pad(x, (left, right, top, bottom))


class MobileNetV2ConvLayer(nn.Module):
    def __init__(self, config: MobileNetV2Config, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, groups: int = 1, dilation: int = 1, use_activation: bool = True):
        super().__init__()
        self.tf_padding = config.tf_padding
        padding = 0 if config.tf_padding else (kernel_size - 1) // 2 * dilation
        self.convolution = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                                     dilation=dilation, groups=groups, bias=False)
        self.normalization = nn.BatchNorm2d(out_channels, eps=config.layer_norm_eps, momentum=0.997)
        self.activation = get_activation(config.hidden_act) if use_activation else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.tf_padding:
            x = tf_same_padding(x, self.convolution)
        x = self.normalization(self.convolution(x))
        return self.activation(x) if self.activation is not None else x


class MobileNetV2InvertedResidual(nn.Module):
    def __init__(self, config: MobileNetV2Config, in_channels: int, out_channels: int, stride: int,
                 dilation: int = 1):
        super().__init__()
        expanded = make_divisible(int(round(in_channels * config.expand_ratio)), config.depth_divisible_by,
                                  config.min_depth)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand_1x1 = MobileNetV2ConvLayer(config, in_channels, expanded, kernel_size=1)
        self.conv_3x3 = MobileNetV2ConvLayer(config, expanded, expanded, kernel_size=3, stride=stride,
                                             groups=expanded, dilation=dilation)
        self.reduce_1x1 = MobileNetV2ConvLayer(config, expanded, out_channels, kernel_size=1, use_activation=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.reduce_1x1(self.conv_3x3(self.expand_1x1(x)))
        return x + out if self.use_residual else out


class MobileNetV2Stem(nn.Module):
    def __init__(self, config: MobileNetV2Config, in_channels: int, expanded_channels: int, out_channels: int):
        super().__init__()
        self.first_conv = MobileNetV2ConvLayer(config, in_channels, expanded_channels, kernel_size=3, stride=2)
        self.expand_1x1 = None if config.first_layer_is_expansion else MobileNetV2ConvLayer(
            config, expanded_channels, expanded_channels, kernel_size=1)
        self.conv_3x3 = MobileNetV2ConvLayer(config, expanded_channels, expanded_channels, kernel_size=3,
                                             groups=expanded_channels)
        self.reduce_1x1 = MobileNetV2ConvLayer(config, expanded_channels, out_channels, kernel_size=1,
                                               use_activation=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first_conv(x)
        if self.expand_1x1 is not None:
            x = self.expand_1x1(x)
        return self.reduce_1x1(self.conv_3x3(x))


class MobileNetV2PreTrainedModel(PreTrainedModel):
    config_class = MobileNetV2Config
    base_model_prefix = "mobilenet_v2"
    main_input_name = "pixel_values"
    supports_gradient_checkpointing = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.initializer_range, norms=(nn.BatchNorm2d,))


class MobileNetV2Model(MobileNetV2PreTrainedModel):
    def __init__(self, config: MobileNetV2Config, add_pooling_layer: bool = True):
        super().__init__(config)
        channels = [apply_depth_multiplier(config, c) for c in CHANNELS]
        self.conv_stem = MobileNetV2Stem(config, config.num_channels, apply_depth_multiplier(config, 32), channels[0])
        self.layer = nn.ModuleList(self._blocks(config, channels))
        output_channels = 1280 if config.finegrained_output and config.depth_multiplier < 1.0 else \
            apply_depth_multiplier(config, 1280)
        self.conv_1x1 = MobileNetV2ConvLayer(config, channels[-1], output_channels, kernel_size=1)
        self.pooler = nn.AdaptiveAvgPool2d((1, 1)) if add_pooling_layer else None
        self.post_init()

    @staticmethod
    def _blocks(config, channels):
        # Past output_stride, blocks keep their resolution and dilate instead (DeepLab-style).
        current, dilation = 2, 1
        for i, stride in enumerate(STRIDES):
            if current == config.output_stride:
                block_stride, block_dilation = 1, dilation
                dilation *= stride
            else:
                block_stride, block_dilation = stride, 1
                current *= stride
            yield MobileNetV2InvertedResidual(config, channels[i], channels[i + 1], block_stride, block_dilation)

    @model_forward
    def forward(self, pixel_values=None, output_hidden_states=None, return_dict=None, **kwargs):
        check_pixels(pixel_values, self.config.num_channels)
        x = self.conv_stem(pixel_values.to(self.dtype))  # float32 input to a bf16 model
        hidden = []
        for block in self.layer:
            x = block(x)
            hidden.append(x)
        last = self.conv_1x1(x)
        pooled = torch.flatten(self.pooler(last), start_dim=1) if self.pooler is not None else None
        return BaseModelOutputWithPoolingAndNoAttention(last, pooled, tuple(hidden) if output_hidden_states else None)


class MobileNetV2ForImageClassification(MobileNetV2PreTrainedModel):
    def __init__(self, config: MobileNetV2Config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.mobilenet_v2 = MobileNetV2Model(config)
        width = self.mobilenet_v2.conv_1x1.convolution.out_channels
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.classifier = nn.Linear(width, config.num_labels) if config.num_labels > 0 else nn.Identity()
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, output_hidden_states=None, labels=None, return_dict=None, **kwargs):
        outputs = self.mobilenet_v2(pixel_values, output_hidden_states=output_hidden_states, return_dict=True)
        logits = self.classifier(self.dropout(outputs.pooler_output))
        loss = None if labels is None else classification_loss(logits, labels, self.config)
        return ImageClassifierOutputWithNoAttention(loss, logits, outputs.hidden_states)
