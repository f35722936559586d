"""BEiT: ViT's patch embeddings and pre-norm blocks, plus

* a learned relative position bias per layer (or one shared), added to the attention scores —
  a table over the (2h-1)(2w-1) relative offsets of the patch grid plus three [CLS] entries,
  bilinearly resized for other image sizes;
* layer scale (``lambda_1`` / ``lambda_2``) on both residual branches and stochastic depth;
* mean pooling of the patch tokens (``use_mean_pooling``) instead of the [CLS] token;
* ``BeitForMaskedImageModeling``: predicts the visual-token ids of the masked patches.

Names are the checkpoints' (``encoder.layer.N.attention.attention.relative_position_bias``);
Data2Vec-Vision reuses every class here under its own prefix.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from ...core.modeling import PreTrainedModel
from ...core.outputs import BaseModelOutputWithPooling, model_forward
from ...core.vision_outputs import ImageClassifierOutput, MaskedLMOutput
from ...nn.attention import attention, merge_heads, prefer_eager, split_heads
from ...nn.checkpointing import run_layer
from ...nn.classification_loss import classification_loss
from ...nn.drop_path import DropPath
from ...nn.init import init_dense_and_norm
from ...nn.linear import linear
from ..vit.modeling import (
    ViTIntermediate,
    ViTOutput,
    ViTPatchEmbeddings,
    ViTSelfOutput,
    apply_mask_token,
    interpolate_positions,
    token_mask,
)
from .configuration import BeitConfig


class BeitEmbeddings(nn.Module):
    """[CLS] + patches (+ absolute positions when configured, resized to the input's grid)."""

    num_prefix_tokens = 1

    def __init__(self, config):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size)) if config.use_mask_token else None
        self.patch_embeddings = ViTPatchEmbeddings(config)
        self.patch_size = config.patch_size
        self.position_embeddings = nn.Parameter(torch.zeros(
            1, self.patch_embeddings.num_patches + 1, config.hidden_size)) \
            if config.use_absolute_position_embeddings else None
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, pixel_values: torch.Tensor, bool_masked_pos=None) -> torch.Tensor:
        height, width = pixel_values.shape[-2:]
        # BEiT takes any image size (positions are resized; the relative bias is resized per layer).
        patches = self.patch_embeddings(pixel_values, interpolate_pos_encoding=True)
        patches = apply_mask_token(patches, bool_masked_pos, self.mask_token)
        tokens = torch.cat((self.cls_token.expand(patches.shape[0], -1, -1), patches), dim=1)
        if self.position_embeddings is not None:
            tokens = tokens + interpolate_positions(self.position_embeddings, 1, patches.shape[1], height, width,
                                                    self.patch_size)
        return self.dropout(tokens)


@functools.lru_cache(maxsize=16)
def relative_position_index(window: tuple[int, int]) -> torch.Tensor:
    """(h·w + 1, h·w + 1) indices into the bias table: patch pairs by relative offset, then the
    three [CLS] entries (cls→patch, patch→cls, cls→cls) at the end of the table."""
    height, width = window
    table = (2 * height - 1) * (2 * width - 1) + 3
    coords = torch.stack(torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # (hw, hw, 2)
    relative[:, :, 0] += height - 1
    relative[:, :, 1] += width - 1
    relative[:, :, 0] *= 2 * width - 1
    index = torch.zeros((height * width + 1,) * 2, dtype=relative.dtype)
    index[1:, 1:] = relative.sum(-1)
    index[0, 0:] = table - 3
    index[0:, 0] = table - 2
    index[0, 0] = table - 1
    return index


class BeitRelativePositionBias(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.window_size = config.window_size
        self.num_relative_distance = (2 * self.window_size[0] - 1) * (2 * self.window_size[1] - 1) + 3
        self.relative_position_bias_table = nn.Parameter(torch.zeros(self.num_relative_distance,
                                                                     config.num_attention_heads))

    def forward(self, window_size: tuple[int, int]) -> torch.Tensor:
        """The (1, heads, T, T) additive bias for a patch grid of ``window_size``."""
        table = self.relative_position_bias_table
        if tuple(window_size) != tuple(self.window_size):  # resize the offset grid to the new size
            old = (2 * self.window_size[1] - 1, 2 * self.window_size[0] - 1)
            new = (2 * window_size[0] - 1, 2 * window_size[1] - 1)
            grid = table[:-3].reshape(1, old[0], old[1], -1).permute(0, 3, 1, 2)  # (1, heads, ·, ·)
            grid = F.interpolate(grid, size=new, mode="bilinear")
            table = torch.cat([grid.permute(0, 2, 3, 1).reshape(new[0] * new[1], -1), table[-3:]])
        index = relative_position_index(tuple(window_size)).to(table.device)
        tokens = window_size[0] * window_size[1] + 1
        bias = table[index.view(-1)].view(tokens, tokens, -1)  # (T, T, heads)
        return bias.permute(2, 0, 1).unsqueeze(0)


class BeitSelfAttention(nn.Module):
    def __init__(self, config, window_size=None):
        super().__init__()
        width = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.dropout = config.attention_probs_dropout_prob
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width, bias=False)
        self.value = nn.Linear(width, width)
        self.relative_position_bias = BeitRelativePositionBias(config) if window_size else None

    def forward(self, x, mask, output_attentions: bool, window_size):
        if self.relative_position_bias is not None:
            bias = self.relative_position_bias(window_size).to(x.dtype)
            mask = bias if mask is None else mask + bias
        q = split_heads(linear(self.query, x), self.num_heads)  # (B, H, T, D)
        k = split_heads(linear(self.key, x), self.num_heads)
        v = split_heads(linear(self.value, x), self.num_heads)
        out, weights = attention(q, k, v, mask, dropout=self.dropout if self.training else 0.0,
                                 output_attentions=output_attentions, eager=prefer_eager(x.shape[1], x.device))
        return merge_heads(out), weights


class BeitAttention(nn.Module):
    def __init__(self, config, window_size=None):
        super().__init__()
        self.attention = BeitSelfAttention(config, window_size)
        self.output = ViTSelfOutput(config)

    def forward(self, x, mask, output_attentions: bool, window_size):
        out, weights = self.attention(x, mask, output_attentions, window_size)
        return self.output(out), weights


class BeitLayer(nn.Module):
    """Pre-norm block with layer scale and stochastic depth on both branches."""

    def __init__(self, config, window_size=None, drop_path_rate: float = 0.0):
        super().__init__()
        self.attention = BeitAttention(config, window_size)
        self.intermediate = ViTIntermediate(config)
        self.output = ViTOutput(config)
        self.layernorm_before = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0.0 else nn.Identity()
        scale = config.layer_scale_init_value
        self.lambda_1 = nn.Parameter(scale * torch.ones(config.hidden_size)) if scale > 0 else None
        self.lambda_2 = nn.Parameter(scale * torch.ones(config.hidden_size)) if scale > 0 else None

    def forward(self, x, mask=None, output_attentions: bool = False, window_size=None):
        h, weights = self.attention(self.layernorm_before(x), mask, output_attentions, window_size)
        x = x + self.drop_path(h * self.lambda_1 if self.lambda_1 is not None else h)
        h = self.output(self.intermediate(self.layernorm_after(x)))
        x = x + self.drop_path(h * self.lambda_2 if self.lambda_2 is not None else h)
        return x, weights


class BeitEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        shared = config.use_shared_relative_position_bias
        self.relative_position_bias = BeitRelativePositionBias(config) if shared else None
        per_layer = config.window_size if config.use_relative_position_bias else None
        rates = [config.drop_path_rate * i / max(config.num_hidden_layers - 1, 1)
                 for i in range(config.num_hidden_layers)]
        self.layer = nn.ModuleList(BeitLayer(config, per_layer, rate) for rate in rates)
        self.gradient_checkpointing = False

    def forward(self, x, mask, window_size, output_attentions=False, output_hidden_states=False):
        if self.relative_position_bias is not None:
            bias = self.relative_position_bias(window_size).to(x.dtype)
            mask = bias if mask is None else mask + bias
        hidden = [x] if output_hidden_states else None
        weights_all = [] if output_attentions else None
        checkpointed = self.gradient_checkpointing and self.training
        for layer in self.layer:
            x, weights = run_layer(layer, x, mask, output_attentions, window_size, checkpointed=checkpointed)
            if output_hidden_states:
                hidden.append(x)
            if output_attentions:
                weights_all.append(weights)
        return x, tuple(hidden) if hidden else None, tuple(weights_all) if weights_all is not None else None


class BeitPooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps) if config.use_mean_pooling \
            else None

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if self.layernorm is not None:
            return self.layernorm(hidden_states[:, 1:].mean(1))  # mean of the patch tokens
        return hidden_states[:, 0]


class BeitPreTrainedModel(PreTrainedModel):
    config_class = BeitConfig
    base_model_prefix = "beit"
    main_input_name = "pixel_values"
    supports_gradient_checkpointing = True
    _keys_to_ignore_on_load_unexpected = (r"relative_position_index",)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        if init_dense_and_norm(module, self.config.initializer_range):
            return
        if isinstance(module, BeitRelativePositionBias):
            nn.init.zeros_(module.relative_position_bias_table)
        elif isinstance(module, BeitLayer) and module.lambda_1 is not None:
            nn.init.constant_(module.lambda_1, self.config.layer_scale_init_value)
            nn.init.constant_(module.lambda_2, self.config.layer_scale_init_value)
        elif isinstance(module, BeitEmbeddings):
            for p in (module.cls_token, module.mask_token, module.position_embeddings):
                if p is not None:
                    nn.init.zeros_(p)


class BeitModel(BeitPreTrainedModel):
    def __init__(self, config, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BeitEmbeddings(config)
        self.encoder = BeitEncoder(config)
        self.layernorm = nn.Identity() if config.use_mean_pooling else \
            nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.pooler = BeitPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.patch_embeddings

    @model_forward
    def forward(self, pixel_values=None, bool_masked_pos=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, interpolate_pos_encoding=None, attention_mask=None):
        """``pixel_values`` (B, C, H, W), any size divisible into patches → ``BaseModelOutputWithPooling``
        (``pooler_output``: the patch-token mean after LayerNorm, or the [CLS] token)."""
        embeddings = self.embeddings(pixel_values, bool_masked_pos)
        patch = self.embeddings.patch_embeddings.patch_size
        window = (pixel_values.shape[-2] // patch[0], pixel_values.shape[-1] // patch[1])
        mask = token_mask(attention_mask, embeddings)
        last, hidden, weights = self.encoder(embeddings, mask, window, output_attentions, output_hidden_states)
        last = self.layernorm(last)
        pooled = self.pooler(last) if self.pooler is not None else None
        return BaseModelOutputWithPooling(last, pooled, hidden, weights)


class BeitForImageClassification(BeitPreTrainedModel):
    base_model_class = BeitModel

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        setattr(self, self.base_model_prefix, self.base_model_class(config, add_pooling_layer=True))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels) if config.num_labels > 0 else nn.Identity()
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, labels=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, interpolate_pos_encoding=None, attention_mask=None):
        outputs = self.base_model(pixel_values, output_attentions=output_attentions,
                                  output_hidden_states=output_hidden_states, return_dict=True,
                                  attention_mask=attention_mask)
        logits = self.classifier(outputs.pooler_output)
        loss = None if labels is None else classification_loss(logits, labels, self.config)
        return ImageClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions)


class BeitForMaskedImageModeling(BeitPreTrainedModel):
    """Predicts the visual-token id (of a ``vocab_size`` codebook) of every patch; the loss is the
    cross-entropy on the masked ones (``labels``: the masked patches' ids, in order)."""

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.beit = BeitModel(config, add_pooling_layer=False)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size)
        self.post_init()

    @model_forward
    def forward(self, pixel_values=None, bool_masked_pos=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, interpolate_pos_encoding=None, attention_mask=None):
        outputs = self.beit(pixel_values, bool_masked_pos=bool_masked_pos, output_attentions=output_attentions,
                            output_hidden_states=output_hidden_states, return_dict=True,
                            attention_mask=attention_mask)
        logits = self.lm_head(self.layernorm(outputs.last_hidden_state)[:, 1:])  # (B, patches, vocab)
        loss = None
        if labels is not None:
            if bool_masked_pos is None:
                from ...core.errors import InvalidInputError

                raise InvalidInputError("labels need bool_masked_pos: they are the token ids of the masked patches.")
            loss = F.cross_entropy(logits[bool_masked_pos], labels)
        return MaskedLMOutput(loss, logits, outputs.hidden_states, outputs.attentions)
