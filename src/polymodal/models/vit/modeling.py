"""ViT: patch embeddings, a pre-norm transformer encoder, and the classification / SimMIM heads.

Module names are the checkpoints' own (``encoder.layer.N.attention.attention.query``,
``intermediate.dense``, ``output.dense``): Transformers 5 renamed its modules
(``layers.N.attention.q_proj``) but still reads and writes these keys, so ``load_state_dict``
is strict with no mapping table. DeiT reuses the encoder and the position interpolation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import BaseModelOutputWithPooling, model_forward
from ...core.vision_outputs import ImageClassifierOutput, MaskedImageModelingOutput
from ...nn.activations import get_activation
from ...nn.attention import (
    attention,
    merge_heads,
    padding_mask,
    prefer_eager,
    split_heads,
)
from ...nn.checkpointing import run_layers
from ...nn.classification_loss import classification_loss
from ...nn.init import init_dense_and_norm
from ...nn.linear import gelu_mlp, linear, linears
from .configuration import ViTConfig, pair


# --------------------------------------------------------------------------- embeddings
class ViTPatchEmbeddings(nn.Module):
    """(B, C, H, W) pixels → (B, N, hidden) patch vectors by one strided convolution."""

    def __init__(self, config):
        super().__init__()
        self.image_size, self.patch_size = pair(config.image_size), pair(config.patch_size)
        self.num_channels = config.num_channels
        self.num_patches = (self.image_size[0] // self.patch_size[0]) * (self.image_size[1] // self.patch_size[1])
        self.projection = nn.Conv2d(config.num_channels, config.hidden_size, kernel_size=self.patch_size,
                                    stride=self.patch_size)

    def forward(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False) -> torch.Tensor:
        check_pixel_values(pixel_values, self.num_channels, None if interpolate_pos_encoding else self.image_size,
                           self.patch_size)
        pixel_values = pixel_values.to(self.projection.weight.dtype)
        return self.projection(pixel_values).flatten(2).transpose(1, 2)  # (B, N, hidden)


def check_pixel_values(pixel_values, num_channels: int, image_size, patch_size) -> None:
    """Clear errors for inputs the convolution would reject with a kernel message (or accept wrongly)."""
    if not isinstance(pixel_values, torch.Tensor) or pixel_values.ndim != 4:
        got = tuple(pixel_values.shape) if hasattr(pixel_values, "shape") else type(pixel_values).__name__
        raise InvalidInputError(
            f"pixel_values must be a (batch, channels, height, width) tensor, got {got}. Use the model's image "
            "processor: processor(images, return_tensors='pt').pixel_values."
        )
    if pixel_values.shape[1] != num_channels:
        hint = " It looks channels-last; permute(0, 3, 1, 2) it." if pixel_values.shape[-1] == num_channels else ""
        raise InvalidInputError(
            f"pixel_values has {pixel_values.shape[1]} channels (shape {tuple(pixel_values.shape)}), but the model "
            f"expects num_channels={num_channels} in dimension 1.{hint}"
        )
    height, width = pixel_values.shape[-2:]
    if height < patch_size[0] or width < patch_size[1]:
        raise InvalidInputError(f"pixel_values of {height}x{width} pixels is smaller than one {patch_size} patch.")
    if image_size is not None and (height, width) != tuple(image_size):
        raise InvalidInputError(
            f"Input image size ({height}*{width}) doesn't match the model ({image_size[0]}*{image_size[1]}). Resize "
            "with the model's image processor, or pass interpolate_pos_encoding=True to use another size."
        )


def interpolate_positions(position_embeddings: torch.Tensor, num_prefix: int, num_patches: int,
                             height: int, width: int, patch_size) -> torch.Tensor:
    """Bicubically resize the learned patch-position grid to a ``height`` x ``width`` image.

    ``position_embeddings`` is (1, num_prefix + P, D) for a square grid of P positions; the
    prefix (cls / distillation tokens) positions are kept as they are.
    """
    grid = position_embeddings.shape[1] - num_prefix
    if not torch.jit.is_tracing() and num_patches == grid and height == width:
        return position_embeddings
    prefix, patches = position_embeddings[:, :num_prefix], position_embeddings[:, num_prefix:]
    dim, side = patches.shape[-1], int(math.sqrt(grid))
    patch_h, patch_w = pair(patch_size)
    patches = patches.reshape(1, side, side, dim).permute(0, 3, 1, 2)  # (1, D, side, side)
    patches = F.interpolate(patches, size=(height // patch_h, width // patch_w), mode="bicubic",
                            align_corners=False)
    patches = patches.permute(0, 2, 3, 1).reshape(1, -1, dim)  # (1, h·w, D)
    return torch.cat((prefix, patches), dim=1)


class ViTEmbeddings(nn.Module):
    """[CLS] + patch vectors + learned positions; masked patches replaced by ``mask_token`` (SimMIM)."""

    num_prefix_tokens = 1  # tokens before the patches (DeiT adds a distillation token)

    def __init__(self, config, use_mask_token: bool = False):
        super().__init__()
        self.cls_token = nn.Parameter(torch.randn(1, 1, config.hidden_size))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size)) if use_mask_token else None
        self.patch_embeddings = ViTPatchEmbeddings(config)
        self.position_embeddings = nn.Parameter(torch.randn(
            1, self.patch_embeddings.num_patches + self.num_prefix_tokens, config.hidden_size))
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.patch_size = config.patch_size

    def prefix_tokens(self, batch: int) -> list[torch.Tensor]:
        return [self.cls_token.expand(batch, -1, -1)]

    def forward(self, pixel_values, bool_masked_pos=None, interpolate_pos_encoding: bool = False):
        height, width = pixel_values.shape[-2:]
        patches = self.patch_embeddings(pixel_values, interpolate_pos_encoding)
        patches = apply_mask_token(patches, bool_masked_pos, self.mask_token)
        tokens = torch.cat([*self.prefix_tokens(patches.shape[0]), patches], dim=1)
        positions = self.position_embeddings
        if interpolate_pos_encoding:
            positions = interpolate_positions(positions, self.num_prefix_tokens, patches.shape[1], height, width,
                                              self.patch_size)
        return self.dropout(tokens + positions)

    def interpolate_pos_encoding(self, embeddings: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Transformers' method: position embeddings for ``embeddings`` of an image of this size."""
        return interpolate_positions(self.position_embeddings, self.num_prefix_tokens,
                                     embeddings.shape[1] - self.num_prefix_tokens, height, width, self.patch_size)


def apply_mask_token(patches: torch.Tensor, bool_masked_pos, mask_token) -> torch.Tensor:
    """Replace the patches where ``bool_masked_pos`` (B, N) is true by the learned mask token."""
    if bool_masked_pos is None:
        return patches
    if mask_token is None:
        raise InvalidInputError("bool_masked_pos needs a model built with a mask token (…ForMaskedImageModeling).")
    if tuple(bool_masked_pos.shape) != tuple(patches.shape[:2]):
        raise InvalidInputError(
            f"bool_masked_pos must have shape (batch, num_patches) = {tuple(patches.shape[:2])}, "
            f"got {tuple(bool_masked_pos.shape)}."
        )
    mask = bool_masked_pos.unsqueeze(-1).to(patches.dtype)
    return patches * (1.0 - mask) + mask_token.expand_as(patches) * mask


# --------------------------------------------------------------------------- encoder
class ViTSelfAttention(nn.Module):
    # Attention runs in the dtype these projections write: an int8 model's quantiser sets them to
    # bf16 where the CPU multiplies bf16 natively (export/int8.py, ATTENTION_DTYPES); the block
    # still returns its input's dtype.
    attention_projections = ("query", "key", "value")

    def __init__(self, config):
        super().__init__()
        width = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.dropout = config.attention_probs_dropout_prob
        self.query = nn.Linear(width, width, bias=config.qkv_bias)
        self.key = nn.Linear(width, width, bias=config.qkv_bias)
        self.value = nn.Linear(width, width, bias=config.qkv_bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, output_attentions: bool):
        # linears: an int8 model quantises x once for the three projections
        q, k, v = (split_heads(t, self.num_heads) for t in linears(x, self.query, self.key, self.value))  # (B, H, T, D)
        if mask is not None and mask.is_floating_point() and mask.dtype != q.dtype:
            mask = mask.to(q.dtype)  # SDPA wants an additive mask in the queries' dtype
        out, weights = attention(q, k, v, mask, dropout=self.dropout if self.training else 0.0,
                                 output_attentions=output_attentions, eager=prefer_eager(x.shape[1], x.device))
        out = merge_heads(out)  # (B, T, H*D)
        if out.dtype != x.dtype:  # bf16 attention inside an fp32 model
            out, weights = out.to(x.dtype), None if weights is None else weights.to(x.dtype)
        return out, weights


def dense_dropout_add(dense: nn.Linear, dropout: nn.Dropout, x: torch.Tensor, residual: torch.Tensor | None):
    """``dropout(dense(x)) + residual``; with dropout off the add runs inside the GEMM (nn.linear)."""
    if dropout.training and dropout.p > 0:
        out = dropout(linear(dense, x))
        return out if residual is None else out + residual
    return linear(dense, x, residual=residual)


class ViTSelfOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        # Transformers adds the attention's residual in the layer; taking it here lets it fuse.
        return dense_dropout_add(self.dense, self.dropout, x, residual)


class ViTAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = ViTSelfAttention(config)
        self.output = ViTSelfOutput(config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, output_attentions: bool,
                residual: torch.Tensor | None = None):
        out, weights = self.attention(x, mask, output_attentions)
        return self.output(out, residual), weights


class ViTIntermediate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)
        self.fuse_gelu = config.hidden_act == "gelu"  # exact GELU folds into the fused linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fuse_gelu:
            return linear(self.dense, x, gelu=True)
        return self.intermediate_act_fn(linear(self.dense, x))


class ViTOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        return dense_dropout_add(self.dense, self.dropout, x, residual)  # Transformers' ViTOutput adds it too


class ViTLayer(nn.Module):
    """Pre-norm block: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, config):
        super().__init__()
        self.attention = ViTAttention(config)
        self.intermediate = ViTIntermediate(config)
        self.output = ViTOutput(config)
        self.layernorm_before = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False):
        x, weights = self.attention(self.layernorm_before(x), mask, output_attentions, residual=x)
        hidden = self.layernorm_after(x)
        dense = self.intermediate.dense
        if self.intermediate.fuse_gelu and not self.training and hasattr(type(dense), "forward_gelu_chain"):
            # int8: the two dense layers as one chain (the hidden activation stays uint8, nn.linear)
            return gelu_mlp(dense, self.output.dense, hidden, residual=x), weights
        return self.output(self.intermediate(hidden), residual=x), weights


class ViTEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList(ViTLayer(config) for _ in range(config.num_hidden_layers))
        self.gradient_checkpointing = False

    def forward(self, x, mask=None, output_attentions=False, output_hidden_states=False):
        """(B, T, hidden) → (last, hidden states or None, attentions or None); hidden states
        are the embeddings and each layer's output, before the final layer norm."""
        return run_layers(self.layer, x, mask, output_attentions, output_hidden_states,
                          checkpointed=self.gradient_checkpointing and self.training)


class ViTPooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.pooler_output_size or config.hidden_size)
        self.activation = get_activation(config.pooler_act)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))  # the [CLS] token


def token_mask(attention_mask, embeddings: torch.Tensor, prefix: str = "the [CLS] token") -> torch.Tensor | None:
    """Optional (B, T) 1/0 mask over encoder tokens (Transformers 5 accepts one) → additive mask.

    ``prefix`` names the tokens before the patches, for the error message.
    """
    if attention_mask is None:
        return None
    expected = tuple(embeddings.shape[:2])
    if not isinstance(attention_mask, torch.Tensor) or tuple(attention_mask.shape) != expected:
        got = tuple(attention_mask.shape) if isinstance(attention_mask, torch.Tensor) else type(attention_mask).__name__
        raise InvalidInputError(
            f"attention_mask must be a (batch, tokens) tensor of shape {expected} (one entry per patch token, "
            f"{prefix} included), got {got}. These models need no mask: leave it out."
        )
    return padding_mask(attention_mask.to(embeddings.device), embeddings.dtype)


# --------------------------------------------------------------------------- models
class ViTPreTrainedModel(PreTrainedModel):
    config_class = ViTConfig
    base_model_prefix = "vit"
    main_input_name = "pixel_values"
    supports_gradient_checkpointing = True
    _keys_to_ignore_on_load_unexpected = (r"pooler\.",)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Transformers' initialisation (only reached for fresh models and newly added heads)."""
        std = self.config.initializer_range
        init_dense_and_norm(module, std, truncated=True)
        for name in ("cls_token", "position_embeddings", "distillation_token"):
            value = getattr(module, name, None)
            if isinstance(value, nn.Parameter) and name in module._parameters:
                nn.init.trunc_normal_(value, mean=0.0, std=std)
        if isinstance(getattr(module, "mask_token", None), nn.Parameter):
            nn.init.zeros_(module.mask_token)


class ViTModel(ViTPreTrainedModel):
    embeddings_class = ViTEmbeddings

    def __init__(self, config: ViTConfig, add_pooling_layer: bool = True, use_mask_token: bool = False):
        super().__init__(config)
        self.embeddings = self.embeddings_class(config, use_mask_token=use_mask_token)
        self.encoder = ViTEncoder(config)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.pooler = ViTPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> ViTPatchEmbeddings:
        return self.embeddings.patch_embeddings

    @model_forward
    def forward(self, pixel_values=None, bool_masked_pos=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=None, return_dict=None, attention_mask=None):
        """``pixel_values`` (B, C, H, W) from the image processor → ``BaseModelOutputWithPooling``."""
        if pixel_values is None:
            raise InvalidInputError("pixel_values is required: processor(images, return_tensors='pt').pixel_values.")
        embeddings = self.embeddings(pixel_values, bool_masked_pos=bool_masked_pos,
                                     interpolate_pos_encoding=bool(interpolate_pos_encoding))
        mask = token_mask(attention_mask, embeddings)
        last, hidden_states, attentions = self.encoder(embeddings, mask, output_attentions, output_hidden_states)
        last = self.layernorm(last)
        pooled = self.pooler(last) if self.pooler is not None else None
        return BaseModelOutputWithPooling(last, pooled, hidden_states, attentions)


class ViTForImageClassification(ViTPreTrainedModel):
    """A linear classifier on the final [CLS] token."""

    base_model_class = ViTModel

    def __init__(self, config: ViTConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        setattr(self, self.base_model_prefix, self.base_model_class(config, add_pooling_layer=False))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels) if config.num_labels > 0 else nn.Identity()
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, labels=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=None, return_dict=None, attention_mask=None):
        outputs = self.base_model(pixel_values, output_attentions=output_attentions,
                                  output_hidden_states=output_hidden_states,
                                  interpolate_pos_encoding=interpolate_pos_encoding, return_dict=True,
                                  attention_mask=attention_mask)
        logits = self.classifier(outputs.last_hidden_state[:, 0])  # the [CLS] token
        loss = None if labels is None else classification_loss(logits, labels, self.config)
        return ImageClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions)


class ViTForMaskedImageModeling(ViTPreTrainedModel):
    """SimMIM: a 1x1 conv + pixel shuffle decodes the patch tokens back to pixels; the loss is the
    L1 error on the masked patches."""

    base_model_class = ViTModel

    def __init__(self, config: ViTConfig):
        super().__init__(config)
        setattr(self, self.base_model_prefix,
                self.base_model_class(config, add_pooling_layer=False, use_mask_token=True))
        self.decoder = nn.Sequential(
            nn.Conv2d(config.hidden_size, config.encoder_stride**2 * config.num_channels, kernel_size=1),
            nn.PixelShuffle(config.encoder_stride),
        )
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, bool_masked_pos=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=None, return_dict=None, attention_mask=None):
        if bool_masked_pos is not None and pair(self.config.patch_size) != pair(self.config.encoder_stride):
            raise InvalidInputError(
                f"bool_masked_pos needs patch_size == encoder_stride so the reconstruction has the input's size; "
                f"got patch_size={self.config.patch_size}, encoder_stride={self.config.encoder_stride}."
            )
        outputs = self.base_model(pixel_values, bool_masked_pos=bool_masked_pos, output_attentions=output_attentions,
                                  output_hidden_states=output_hidden_states,
                                  interpolate_pos_encoding=interpolate_pos_encoding, return_dict=True,
                                  attention_mask=attention_mask)
        prefix = self.base_model.embeddings.num_prefix_tokens
        reconstruction = self.decoder(tokens_to_grid(outputs.last_hidden_state[:, prefix:]))  # patches only
        loss = None
        if bool_masked_pos is not None:
            loss = masked_image_loss(pixel_values, reconstruction, bool_masked_pos, self.config)
        return MaskedImageModelingOutput(loss, reconstruction, outputs.hidden_states, outputs.attentions)


def tokens_to_grid(tokens: torch.Tensor) -> torch.Tensor:
    """(B, h·w, D) patch tokens of a square grid → (B, D, h, w)."""
    batch, length, dim = tokens.shape
    side = math.floor(length**0.5)
    return tokens.permute(0, 2, 1).reshape(batch, dim, side, side)


def masked_image_loss(pixel_values, reconstruction, bool_masked_pos, config) -> torch.Tensor:
    """Mean L1 error over the masked pixels, per channel (SimMIM)."""
    patch = pair(config.patch_size)[0]
    size = pair(config.image_size)[0] // patch
    mask = bool_masked_pos.reshape(-1, size, size)
    mask = mask.repeat_interleave(patch, 1).repeat_interleave(patch, 2).unsqueeze(1).contiguous()  # (B, 1, H, W)
    error = F.l1_loss(pixel_values.to(reconstruction.dtype), reconstruction, reduction="none")
    return (error * mask).sum() / (mask.sum() + 1e-5) / config.num_channels
