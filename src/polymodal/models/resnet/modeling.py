"""ResNet: a 7x7 stem, max-pool, then residual stages; global average pool and a linear head."""

from __future__ import annotations

import torch
from torch import nn

from ...core.errors import InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import model_forward
from ...core.vision_outputs import (
    BaseModelOutputWithNoAttention,
    BaseModelOutputWithPoolingAndNoAttention,
    ImageClassifierOutputWithNoAttention,
)
from ...nn.activations import get_activation
from ...nn.checkpointing import run_stages
from ...nn.classification_loss import classification_loss
from ...nn.init import init_he_conv, init_norm
from .configuration import ResNetConfig


def check_pixels(pixel_values, num_channels: int) -> None:
    """A (B, C, H, W) tensor with ``num_channels`` channels, or a clear error."""
    if not isinstance(pixel_values, torch.Tensor) or pixel_values.ndim != 4:
        got = tuple(pixel_values.shape) if hasattr(pixel_values, "shape") else type(pixel_values).__name__
        raise InvalidInputError(f"pixel_values must be a (batch, channels, height, width) tensor, got {got}; use "
                                "the image processor: processor(images, return_tensors='pt').pixel_values.")
    if pixel_values.shape[1] != num_channels:
        hint = " It looks channels-last; permute(0, 3, 1, 2) it." if pixel_values.shape[-1] == num_channels else ""
        raise InvalidInputError(f"pixel_values has {pixel_values.shape[1]} channels (shape "
                                f"{tuple(pixel_values.shape)}); the model expects {num_channels} in dimension 1.{hint}")


class ResNetConvLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 activation: str | None = "relu"):
        super().__init__()
        self.convolution = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                                     padding=kernel_size // 2, bias=False)
        self.normalization = nn.BatchNorm2d(out_channels)
        self.activation = get_activation(activation) if activation is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.normalization(self.convolution(x)))


class ResNetEmbeddings(nn.Module):
    def __init__(self, config: ResNetConfig):
        super().__init__()
        self.embedder = ResNetConvLayer(config.num_channels, config.embedding_size, kernel_size=7, stride=2,
                                        activation=config.hidden_act)
        self.pooler = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.num_channels = config.num_channels

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        check_pixels(pixel_values, self.num_channels)
        pixel_values = pixel_values.to(self.embedder.convolution.weight.dtype)  # float32 input to a bf16 model
        return self.pooler(self.embedder(pixel_values))


class ResNetShortCut(nn.Module):
    """1x1 projection (and stride) of the residual when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2):
        super().__init__()
        self.convolution = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)
        self.normalization = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalization(self.convolution(x))


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    if in_channels != out_channels or stride != 1:
        return ResNetShortCut(in_channels, out_channels, stride)
    return nn.Identity()


class ResNetBasicLayer(nn.Module):
    """Two 3x3 convolutions plus the residual."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, activation: str = "relu"):
        super().__init__()
        self.shortcut = _shortcut(in_channels, out_channels, stride)
        self.layer = nn.Sequential(ResNetConvLayer(in_channels, out_channels, stride=stride),
                                   ResNetConvLayer(out_channels, out_channels, activation=None))
        self.activation = get_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.layer(x) + self.shortcut(x))


class ResNetBottleNeckLayer(nn.Module):
    """1x1 reduce (by 4), 3x3, 1x1 expand, plus the residual; the stride sits on the 3x3 conv
    unless ``downsample_in_bottleneck`` (then on the first 1x1, as the original paper)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, activation: str = "relu",
                 reduction: int = 4, downsample_in_bottleneck: bool = False):
        super().__init__()
        reduced = out_channels // reduction
        self.shortcut = _shortcut(in_channels, out_channels, stride)
        self.layer = nn.Sequential(
            ResNetConvLayer(in_channels, reduced, kernel_size=1, stride=stride if downsample_in_bottleneck else 1),
            ResNetConvLayer(reduced, reduced, stride=1 if downsample_in_bottleneck else stride),
            ResNetConvLayer(reduced, out_channels, kernel_size=1, activation=None),
        )
        self.activation = get_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.layer(x) + self.shortcut(x))


class ResNetStage(nn.Module):
    def __init__(self, config: ResNetConfig, in_channels: int, out_channels: int, stride: int = 2, depth: int = 2):
        super().__init__()
        act = config.hidden_act
        if config.layer_type == "bottleneck":
            first = ResNetBottleNeckLayer(in_channels, out_channels, stride, act,
                                          downsample_in_bottleneck=config.downsample_in_bottleneck)
            rest = [ResNetBottleNeckLayer(out_channels, out_channels, activation=act) for _ in range(depth - 1)]
        else:
            first = ResNetBasicLayer(in_channels, out_channels, stride, act)
            rest = [ResNetBasicLayer(out_channels, out_channels, activation=act) for _ in range(depth - 1)]
        self.layers = nn.Sequential(first, *rest)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class ResNetEncoder(nn.Module):
    def __init__(self, config: ResNetConfig):
        super().__init__()
        widths = [config.embedding_size, *config.hidden_sizes]
        strides = [2 if config.downsample_in_first_stage else 1] + [2] * (len(config.depths) - 1)
        self.stages = nn.ModuleList(
            ResNetStage(config, widths[i], widths[i + 1], stride=strides[i], depth=depth)
            for i, depth in enumerate(config.depths)
        )

    def forward(self, x: torch.Tensor, output_hidden_states: bool = False) -> BaseModelOutputWithNoAttention:
        return BaseModelOutputWithNoAttention(*run_stages(self.stages, x, output_hidden_states))


class ResNetPreTrainedModel(PreTrainedModel):
    config_class = ResNetConfig
    base_model_prefix = "resnet"
    main_input_name = "pixel_values"
    supports_gradient_checkpointing = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Transformers' initialisation (He-normal convs, torch-default linears, identity norms)."""
        if isinstance(module, nn.Conv2d):
            init_he_conv(module, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.Linear):
            module.reset_parameters()  # torch's own Linear init, drawn again (Transformers does the same)
        elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
            init_norm(module)


class ResNetModel(ResNetPreTrainedModel):
    def __init__(self, config: ResNetConfig):
        super().__init__(config)
        self.embedder = ResNetEmbeddings(config)
        self.encoder = ResNetEncoder(config)
        self.pooler = nn.AdaptiveAvgPool2d((1, 1))
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, output_hidden_states=None, return_dict=None, **kwargs):
        """``pixel_values`` (B, C, H, W) → features (B, C', H/32, W/32) and their (B, C', 1, 1) mean."""
        encoded = self.encoder(self.embedder(pixel_values), output_hidden_states)
        last = encoded.last_hidden_state
        return BaseModelOutputWithPoolingAndNoAttention(last, self.pooler(last), encoded.hidden_states)


class ResNetForImageClassification(ResNetPreTrainedModel):
    def __init__(self, config: ResNetConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.resnet = ResNetModel(config)
        # Flatten inside the Sequential: the checkpoint names the linear layer "classifier.1".
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(config.hidden_sizes[-1], config.num_labels) if config.num_labels > 0 else nn.Identity(),
        )
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, labels=None, output_hidden_states=None, return_dict=None, **kwargs):
        outputs = self.resnet(pixel_values, output_hidden_states=output_hidden_states, return_dict=True)
        logits = self.classifier(outputs.pooler_output)
        loss = None if labels is None else classification_loss(logits, labels, self.config)
        return ImageClassifierOutputWithNoAttention(loss, logits, outputs.hidden_states)
