"""BiT: a ResNet-v2 whose convolutions standardise their weights (zero mean, unit variance per
output filter) on every call, with group norm instead of batch norm — so it fine-tunes well at
any batch size. ``preactivation`` stages put norm + ReLU before each conv (BiT-M/S); the
``bottleneck`` variant is the ViT-hybrid backbone's post-activation form. TensorFlow "SAME"
padding is computed per input size when ``global_padding="SAME"``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ...core.outputs import model_forward
from ...core.vision_outputs import BaseModelOutputWithPoolingAndNoAttention, ImageClassifierOutputWithNoAttention
from ...nn.activations import get_activation
from ...nn.checkpointing import run_stages
from ...nn.classification_loss import classification_loss
from ...nn.drop_path import DropPath
from ..mobilenet_v2.modeling import make_divisible
from ..resnet.modeling import ResNetPreTrainedModel, check_pixels
from .configuration import BitConfig


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> int:
    return max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)


class DynamicPad2d(nn.Module):
    """TensorFlow "SAME" padding for the input's size (the odd pixel goes bottom/right)."""

    def __init__(self, kernel_size: int, stride: int, dilation: int = 1):
        super().__init__()
        self.kernel_size, self.stride, self.dilation = kernel_size, stride, dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad_h = same_padding(x.shape[-2], self.kernel_size, self.stride, self.dilation)
        pad_w = same_padding(x.shape[-1], self.kernel_size, self.stride, self.dilation)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return x


def _padding(padding: str | None, kernel: int, stride: int, dilation: int) -> tuple[int, bool]:
    """(static padding, whether "SAME" must be computed per input)."""
    symmetric = ((stride - 1) + dilation * (kernel - 1)) // 2
    if padding == "SAME":
        if stride == 1 and (dilation * (kernel - 1)) % 2 == 0:
            return symmetric, False
        return 0, True
    return (0, False) if padding == "VALID" else (symmetric, False)


class WeightStandardizedConv2d(nn.Conv2d):
    """Conv2d whose filters are standardised (per output channel) before every use."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: str | None = "SAME", dilation: int = 1, groups: int = 1, eps: float = 1e-6):
        static, dynamic = _padding(padding, kernel_size, stride, dilation)
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=static, dilation=dilation,
                         groups=groups, bias=False)
        self.pad = DynamicPad2d(kernel_size, stride, dilation) if dynamic else None
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is not None:
            x = self.pad(x)
        # batch_norm over (1, out, fan_in) = per-filter (w - mean) / sqrt(biased var + eps)
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, training=True,
                              momentum=0.0, eps=self.eps).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class BitGroupNormActivation(nn.GroupNorm):
    def __init__(self, config, num_channels: int, eps: float = 1e-5, apply_activation: bool = True):
        super().__init__(config.num_groups, num_channels, eps=eps)
        self.activation = get_activation(config.hidden_act) if apply_activation else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(super().forward(x))


class BitMaxPool2d(nn.MaxPool2d):
    def __init__(self, kernel_size: int, stride: int, use_dynamic_padding: bool = True):
        super().__init__(kernel_size, stride)
        self.pad = DynamicPad2d(kernel_size, stride) if use_dynamic_padding else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.pad(x))


class BitEmbeddings(nn.Module):
    def __init__(self, config: BitConfig):
        super().__init__()
        self.convolution = WeightStandardizedConv2d(config.num_channels, config.embedding_size, kernel_size=7,
                                                    stride=2, eps=1e-8, padding=config.global_padding)
        self.pooler = BitMaxPool2d(kernel_size=3, stride=2, use_dynamic_padding=config.embedding_dynamic_padding)
        self.pad = nn.Identity() if config.global_padding == "SAME" else nn.ConstantPad2d((1, 1, 1, 1), 0.0)
        self.norm = nn.Identity() if config.layer_type == "preactivation" else \
            BitGroupNormActivation(config, config.embedding_size)
        self.num_channels = config.num_channels

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        check_pixels(pixel_values, self.num_channels)
        pixel_values = pixel_values.to(self.convolution.weight.dtype)  # float32 input to a bf16 model
        return self.pooler(self.norm(self.pad(self.convolution(pixel_values))))


class BitDownsampleConv(nn.Module):
    def __init__(self, config, in_channels: int, out_channels: int, stride: int = 1, preact: bool = True):
        super().__init__()
        self.conv = WeightStandardizedConv2d(in_channels, out_channels, 1, stride=stride, eps=1e-8,
                                             padding=config.global_padding)
        self.norm = nn.Identity() if preact else \
            BitGroupNormActivation(config, out_channels, apply_activation=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


class BitPreActivationBottleneckLayer(nn.Module):
    """norm+act → 1x1 → norm+act → 3x3 (stride) → norm+act → 1x1, plus the (projected) input."""

    def __init__(self, config, in_channels, out_channels, stride=1, dilation=1, first_dilation=None,
                 drop_path_rate=0.0, is_first_layer=False):
        super().__init__()
        mid = make_divisible(out_channels * 0.25)
        pad = config.global_padding
        self.downsample = BitDownsampleConv(config, in_channels, out_channels, stride, preact=True) \
            if is_first_layer else None
        self.norm1 = BitGroupNormActivation(config, in_channels)
        self.conv1 = WeightStandardizedConv2d(in_channels, mid, 1, eps=1e-8, padding=pad)
        self.norm2 = BitGroupNormActivation(config, mid)
        self.conv2 = WeightStandardizedConv2d(mid, mid, 3, stride=stride, eps=1e-8, padding=pad)
        self.norm3 = BitGroupNormActivation(config, mid)
        self.conv3 = WeightStandardizedConv2d(mid, out_channels, 1, eps=1e-8, padding=pad)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        preact = self.norm1(x)
        shortcut = self.downsample(preact) if self.downsample is not None else x
        h = self.conv3(self.norm3(self.conv2(self.norm2(self.conv1(preact)))))
        return self.drop_path(h) + shortcut


class BitBottleneckLayer(nn.Module):
    """1x1 → norm+act → 3x3 (stride, dilation) → norm+act → 1x1 → norm, + shortcut, then act."""

    def __init__(self, config, in_channels, out_channels, stride=1, dilation=1, first_dilation=None,
                 drop_path_rate=0.0, is_first_layer=False):
        super().__init__()
        mid = make_divisible(out_channels * 0.25)
        pad = config.global_padding
        self.downsample = BitDownsampleConv(config, in_channels, out_channels, stride, preact=False) \
            if is_first_layer else None
        self.conv1 = WeightStandardizedConv2d(in_channels, mid, 1, eps=1e-8, padding=pad)
        self.norm1 = BitGroupNormActivation(config, mid)
        self.conv2 = WeightStandardizedConv2d(mid, mid, 3, stride=stride, dilation=first_dilation or dilation,
                                              eps=1e-8, padding=pad)
        self.norm2 = BitGroupNormActivation(config, mid)
        self.conv3 = WeightStandardizedConv2d(mid, out_channels, 1, eps=1e-8, padding=pad)
        self.norm3 = BitGroupNormActivation(config, out_channels, apply_activation=False)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.activation = get_activation(config.hidden_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.downsample(x) if self.downsample is not None else x
        h = self.norm3(self.conv3(self.norm2(self.conv2(self.norm1(self.conv1(x))))))
        return self.activation(self.drop_path(h) + shortcut)


class BitStage(nn.Module):
    def __init__(self, config, in_channels, out_channels, stride, dilation, depth, layer_dropout):
        super().__init__()
        layer_class = BitBottleneckLayer if config.layer_type == "bottleneck" else BitPreActivationBottleneckLayer
        first_dilation = 1 if dilation in (1, 2) else 2
        self.layers = nn.Sequential()
        for i in range(depth):
            self.layers.add_module(str(i), layer_class(
                config, in_channels if i == 0 else out_channels, out_channels, stride=stride if i == 0 else 1,
                dilation=dilation, first_dilation=first_dilation, drop_path_rate=layer_dropout[i],
                is_first_layer=i == 0))
            first_dilation = dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class BitEncoder(nn.Module):
    def __init__(self, config: BitConfig):
        super().__init__()
        self.stages = nn.ModuleList()
        rates = torch.linspace(0, config.drop_path_rate, sum(config.depths), dtype=torch.float64) \
            .float().split(config.depths)
        in_channels, current_stride, dilation = config.embedding_size, 4, 1
        for i, (depth, width) in enumerate(zip(config.depths, config.hidden_sizes)):
            out_channels, stride = make_divisible(width * config.width_factor), 1 if i == 0 else 2
            if current_stride >= config.output_stride:  # past the output stride: dilate instead
                dilation *= stride
                stride = 1
            self.stages.append(BitStage(config, in_channels, out_channels, stride, dilation, depth,
                                        rates[i].tolist()))
            in_channels, current_stride = out_channels, current_stride * stride

    def forward(self, x: torch.Tensor, output_hidden_states: bool = False):
        return run_stages(self.stages, x, output_hidden_states)


class BitPreTrainedModel(ResNetPreTrainedModel):
    config_class = BitConfig
    base_model_prefix = "bit"


class BitModel(BitPreTrainedModel):
    def __init__(self, config: BitConfig):
        super().__init__(config)
        self.embedder = BitEmbeddings(config)
        self.encoder = BitEncoder(config)
        self.norm = BitGroupNormActivation(config, config.hidden_sizes[-1]) \
            if config.layer_type == "preactivation" else nn.Identity()
        self.pooler = nn.AdaptiveAvgPool2d((1, 1))
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, output_hidden_states=None, return_dict=None, **kwargs):
        last, hidden = self.encoder(self.embedder(pixel_values), output_hidden_states)
        last = self.norm(last)
        return BaseModelOutputWithPoolingAndNoAttention(last, self.pooler(last), hidden)


class BitForImageClassification(BitPreTrainedModel):
    def __init__(self, config: BitConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bit = BitModel(config)
        self.classifier = nn.Sequential(  # checkpoint name "classifier.1"
            nn.Flatten(),
            nn.Linear(config.hidden_sizes[-1], config.num_labels) if config.num_labels > 0 else nn.Identity(),
        )
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, labels=None, output_hidden_states=None, return_dict=None, **kwargs):
        outputs = self.bit(pixel_values, output_hidden_states=output_hidden_states, return_dict=True)
        logits = self.classifier(outputs.pooler_output)
        loss = None if labels is None else classification_loss(logits, labels, self.config)
        return ImageClassifierOutputWithNoAttention(loss, logits, outputs.hidden_states)
