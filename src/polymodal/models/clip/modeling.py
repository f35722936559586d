"""CLIP: a causal text transformer and a ViT, projected into one space (Radford et al., 2021).

Submodule names are those of the published checkpoints (``text_model.encoder.layers.N.self_attn.q_proj``,
``vision_model.pre_layrnorm`` — sic), so weights load with one ``load_state_dict``. The towers
(``CLIPTextTransformer``, ``CLIPVisionTransformer``) are plain modules; ``CLIPTextModel`` and
``CLIPVisionModel`` wrap them under ``text_model`` / ``vision_model`` as the checkpoints do.
Transformers 5 saves those two classes without the wrapper prefix; ``base_model_prefix``
adds it back on load, so both layouts load.

The vision tower is reused by AltCLIP and X-CLIP.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...core.modeling import PreTrainedModel
from ...core.outputs import (
    BaseModelOutputWithPooling,
    ModelOutput,
    model_forward,
    output_dataclass,
)
from ...nn.activations import get_activation
from ...nn.attention import (
    attention,
    causal_mask,
    merge_heads,
    prefer_eager,
    split_heads,
)
from ...nn.checkpointing import run_layers
from ...nn.init import init_norm
from ...nn.linear import linear, linears
from ...nn.losses import symmetric_contrastive_loss
from .configuration import CLIPConfig, CLIPTextConfig, CLIPVisionConfig


# --------------------------------------------------------------------------- outputs
@output_dataclass
class CLIPOutput(ModelOutput):
    loss: Any = None
    logits_per_image: Any = None
    logits_per_text: Any = None
    text_embeds: Any = None
    image_embeds: Any = None
    text_model_output: Any = None
    vision_model_output: Any = None


@output_dataclass
class CLIPTextModelOutput(ModelOutput):
    text_embeds: Any = None
    last_hidden_state: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class CLIPVisionModelOutput(ModelOutput):
    image_embeds: Any = None
    last_hidden_state: Any = None
    hidden_states: Any = None
    attentions: Any = None


# --------------------------------------------------------------------------- contrastive head maths
def clip_loss(logits_per_text: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE: the i-th text belongs to the i-th image."""
    return symmetric_contrastive_loss(logits_per_text)


def normalize(embeds: torch.Tensor) -> torch.Tensor:
    return embeds / embeds.pow(2).sum(dim=-1, keepdim=True).sqrt()


def similarity_logits(text_embeds, image_embeds, logit_scale) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities times ``exp(logit_scale)``: ``(logits_per_text, logits_per_image)``."""
    logits_per_text = torch.matmul(text_embeds, image_embeds.t()) * logit_scale.exp()
    return logits_per_text, logits_per_text.t()


# --------------------------------------------------------------------------- embeddings
class CLIPTextEmbeddings(nn.Module):
    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embedding = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings)[None], persistent=False)

    def forward(self, input_ids=None, position_ids=None, inputs_embeds=None) -> torch.Tensor:
        length = input_ids.shape[-1] if input_ids is not None else inputs_embeds.shape[-2]
        limit = self.position_embedding.num_embeddings
        if length > limit:
            raise ValueError(
                f"Text of {length} tokens is longer than this CLIP text model's {limit} positions; "
                f"tokenize with truncation=True, max_length={limit}."
            )
        if position_ids is None:
            position_ids = self.position_ids[:, :length]
        if inputs_embeds is None:
            inputs_embeds = self.token_embedding(input_ids)
        return inputs_embeds + self.position_embedding(position_ids)


class CLIPVisionEmbeddings(nn.Module):
    """Patch embedding (a strided conv), a learned class token and learned absolute positions."""

    def __init__(self, config: CLIPVisionConfig):
        super().__init__()
        self.config = config
        self.embed_dim = config.hidden_size
        self.image_size = config.image_size
        self.patch_size = config.patch_size
        self.class_embedding = nn.Parameter(torch.randn(self.embed_dim))
        self.patch_embedding = nn.Conv2d(config.num_channels, self.embed_dim, kernel_size=self.patch_size,
                                         stride=self.patch_size, bias=False)
        self.num_patches = (self.image_size // self.patch_size) ** 2
        self.num_positions = self.num_patches + 1
        self.position_embedding = nn.Embedding(self.num_positions, self.embed_dim)
        self.register_buffer("position_ids", torch.arange(self.num_positions)[None], persistent=False)

    def interpolate_pos_encoding(self, embeddings: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Bicubically resize the patch-position grid to another image size (DINO's recipe)."""
        table = self.position_embedding.weight[None]  # (1, 1 + N, C)
        num_positions = table.shape[1] - 1
        if embeddings.shape[1] - 1 == num_positions and height == width:
            return table
        side = int(num_positions**0.5)
        dim = table.shape[-1]
        grid = table[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2)  # (1, C, side, side)
        grid = F.interpolate(grid, size=(height // self.patch_size, width // self.patch_size),
                             mode="bicubic", align_corners=False)
        grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)  # (1, h*w, C)
        return torch.cat([table[:, :1], grid], dim=1)

    def forward(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False) -> torch.Tensor:
        batch, _, height, width = pixel_values.shape
        if not interpolate_pos_encoding and (height != self.image_size or width != self.image_size):
            raise ValueError(
                f"Input image size ({height}*{width}) doesn't match model ({self.image_size}*{self.image_size}). "
                "Resize with the model's image processor, or pass interpolate_pos_encoding=True."
            )
        # The model's float dtype from a table that is never quantised (an int8 patch conv's weight is int8).
        patches = self.patch_embedding(pixel_values.to(self.position_embedding.weight.dtype))  # (B, C, h, w)
        patches = patches.flatten(2).transpose(1, 2)  # (B, h*w, C)
        class_token = self.class_embedding.expand(batch, 1, -1).to(patches.dtype)
        embeddings = torch.cat([class_token, patches], dim=1)
        if interpolate_pos_encoding:
            return embeddings + self.interpolate_pos_encoding(embeddings, height, width)
        return embeddings + self.position_embedding.weight[None]


# --------------------------------------------------------------------------- transformer blocks
class CLIPAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embed_dim = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.dropout = config.attention_dropout
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        projections = linears(hidden_states, self.q_proj, self.k_proj, self.v_proj)
        query, key, value = (split_heads(t, self.num_heads) for t in projections)  # (B, H, T, D)
        eager = prefer_eager(hidden_states.shape[1], hidden_states.device)
        context, weights = attention(query, key, value, mask, dropout=self.dropout if self.training else 0.0,
                                     output_attentions=output_attentions, eager=eager)
        return linear(self.out_proj, merge_heads(context)), weights


class CLIPMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.activation_fn = get_activation(config.hidden_act)
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, hidden_states):
        return linear(self.fc2, self.activation_fn(linear(self.fc1, hidden_states)))


class CLIPEncoderLayer(nn.Module):
    """Pre-norm block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, config):
        super().__init__()
        self.self_attn = CLIPAttention(config)
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = CLIPMLP(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        attended, weights = self.self_attn(self.layer_norm1(hidden_states), mask, output_attentions)
        hidden_states = hidden_states + attended
        return hidden_states + self.mlp(self.layer_norm2(hidden_states)), weights


class CLIPEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.layers = nn.ModuleList([CLIPEncoderLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(self, hidden_states, mask=None, output_attentions=False, output_hidden_states=False):
        """Returns ``(last, hidden_states or None, attentions or None)``; hidden states start with the input."""
        return run_layers(self.layers, hidden_states, mask, output_attentions, output_hidden_states,
                          checkpointed=self.gradient_checkpointing and self.training)


# --------------------------------------------------------------------------- towers
class CLIPTextTransformer(nn.Module):
    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.config = config
        self.embeddings = CLIPTextEmbeddings(config)
        self.encoder = CLIPEncoder(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.eos_token_id = config.eos_token_id

    def forward(self, input_ids, attention_mask=None, position_ids=None, output_attentions=False,
                output_hidden_states=False) -> BaseModelOutputWithPooling:
        if input_ids is None:
            raise ValueError("CLIP text model: input_ids are required (tokenize the text with CLIPTokenizer).")
        input_ids = input_ids.reshape(-1, input_ids.shape[-1])  # (B, T)
        hidden = self.embeddings(input_ids=input_ids, position_ids=position_ids)
        mask = self._mask(attention_mask, input_ids.shape[1], hidden)
        last, all_hidden, weights = self.encoder(hidden, mask, output_attentions, output_hidden_states)
        last = self.final_layer_norm(last)
        return BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=self._pool(last, input_ids),
                                          hidden_states=all_hidden, attentions=weights)

    @staticmethod
    def _mask(attention_mask, length: int, hidden: torch.Tensor) -> torch.Tensor:
        """Causal mask, plus padding where the attention mask has zeros: additive (B|1, 1, T, T)."""
        if attention_mask is not None and tuple(attention_mask.shape) != (hidden.shape[0], length):
            raise ValueError(
                f"attention_mask has shape {tuple(attention_mask.shape)} but input_ids has "
                f"{(hidden.shape[0], length)}; pass the mask the tokenizer returned with these ids."
            )
        if attention_mask is None or bool(attention_mask.all()):
            return causal_mask(length, hidden.dtype, hidden.device)
        keep = torch.ones(length, length, dtype=torch.bool, device=hidden.device).tril()
        keep = keep[None, None] & attention_mask[:, None, None, :].to(torch.bool)  # (B, 1, T, T)
        blocked = torch.zeros(keep.shape, dtype=hidden.dtype, device=hidden.device)
        return blocked.masked_fill(~keep, torch.finfo(hidden.dtype).min)

    def _pool(self, last: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
        """The state at the end-of-text token, located as Transformers does."""
        if self.eos_token_id == 2:
            # Configs from before Transformers PR #24773 carry the wrong eos id 2; those checkpoints
            # rely on the end-of-text token having the largest id in the vocabulary.
            position = input_ids.to(torch.int).argmax(dim=-1)
        else:
            # First occurrence of the eos id (padding may reuse it).
            position = (input_ids.to(torch.int) == self.eos_token_id).int().argmax(dim=-1)
        return last[torch.arange(last.shape[0], device=last.device), position]


class CLIPVisionTransformer(nn.Module):
    def __init__(self, config: CLIPVisionConfig):
        super().__init__()
        self.config = config
        self.embeddings = CLIPVisionEmbeddings(config)
        self.pre_layrnorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.encoder = CLIPEncoder(config)
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, pixel_values, output_attentions=False, output_hidden_states=False,
                interpolate_pos_encoding=False) -> BaseModelOutputWithPooling:
        _check_pixels(pixel_values, self.config.num_channels)
        hidden = self.pre_layrnorm(self.embeddings(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding))
        last, all_hidden, weights = self.encoder(hidden, None, output_attentions, output_hidden_states)
        pooled = self.post_layernorm(last[:, 0])  # the class token
        return BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled,
                                          hidden_states=all_hidden, attentions=weights)


def _check_pixels(pixel_values, channels: int) -> None:
    if pixel_values is None:
        raise ValueError("pixel_values are required; prepare images with the model's image processor.")
    if not isinstance(pixel_values, torch.Tensor) or pixel_values.ndim != 4 or pixel_values.shape[1] != channels:
        shape = tuple(pixel_values.shape) if isinstance(pixel_values, torch.Tensor) else type(pixel_values).__name__
        raise ValueError(
            f"pixel_values must be a (batch, {channels}, height, width) tensor; got {shape}. "
            "Use the image processor with return_tensors='pt'."
        )


# --------------------------------------------------------------------------- models
class CLIPPreTrainedModel(PreTrainedModel):
    config_class = CLIPConfig
    base_model_prefix = "clip"
    main_input_name = "input_ids"
    # Buffers older checkpoints saved, and the parts of a full CLIP checkpoint a single tower ignores.
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"^text_model\.", r"^vision_model\.",
                                          r"^text_projection\.", r"^visual_projection\.", r"^logit_scale$")

    def _init_weights(self, module: nn.Module) -> None:
        """Transformers' CLIP initialisation (scaled normals per layer role)."""
        factor = _init_factor(self.config)
        if isinstance(module, CLIPTextEmbeddings):
            nn.init.normal_(module.token_embedding.weight, std=0.02 * factor)
            nn.init.normal_(module.position_embedding.weight, std=0.02 * factor)
        elif isinstance(module, CLIPVisionEmbeddings):
            std = module.config.initializer_range * factor
            nn.init.normal_(module.class_embedding, std=module.embed_dim**-0.5 * factor)
            nn.init.normal_(module.patch_embedding.weight, std=std)
            nn.init.normal_(module.position_embedding.weight, std=std)
        elif isinstance(module, CLIPAttention):
            in_std = module.embed_dim**-0.5 * (2 * module.config.num_hidden_layers) ** -0.5 * factor
            for proj in (module.q_proj, module.k_proj, module.v_proj):
                nn.init.normal_(proj.weight, std=in_std)
            nn.init.normal_(module.out_proj.weight, std=module.embed_dim**-0.5 * factor)
        elif isinstance(module, CLIPMLP):
            width = module.config.hidden_size
            nn.init.normal_(module.fc1.weight, std=(2 * width) ** -0.5 * factor)
            nn.init.normal_(module.fc2.weight, std=width**-0.5 * (2 * module.config.num_hidden_layers) ** -0.5 * factor)
        elif isinstance(module, nn.LayerNorm):
            init_norm(module)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        projections = {"text_projection": "text_embed_dim", "visual_projection": "vision_embed_dim"}
        for name, dim_name in projections.items():
            if isinstance(getattr(module, name, None), nn.Linear):
                width = getattr(module, dim_name, None) or getattr(module, name).in_features
                nn.init.normal_(getattr(module, name).weight, std=width**-0.5 * factor)


def _init_factor(config) -> float:
    return getattr(config, "initializer_factor", 1.0) or 1.0



class CLIPTextModel(CLIPPreTrainedModel):
    config_class = CLIPTextConfig
    base_model_prefix = "text_model"  # Transformers 5 saves this class without the prefix
    _keys_to_ignore_on_load_unexpected = CLIPPreTrainedModel._keys_to_ignore_on_load_unexpected[:1] + (
        r"^vision_model\.", r"^text_projection\.", r"^visual_projection\.", r"^logit_scale$")

    def __init__(self, config: CLIPTextConfig):
        super().__init__(config)
        self.text_model = CLIPTextTransformer(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.text_model.embeddings.token_embedding

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.text_model.embeddings.token_embedding = value

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):
        out = self.text_model(input_ids, attention_mask, position_ids, output_attentions, output_hidden_states)
        return out


class CLIPVisionModel(CLIPPreTrainedModel):
    config_class = CLIPVisionConfig
    base_model_prefix = "vision_model"  # Transformers 5 saves this class without the prefix
    main_input_name = "pixel_values"
    _keys_to_ignore_on_load_unexpected = CLIPPreTrainedModel._keys_to_ignore_on_load_unexpected[:1] + (
        r"^text_model\.", r"^text_projection\.", r"^visual_projection\.", r"^logit_scale$")

    def __init__(self, config: CLIPVisionConfig):
        super().__init__(config)
        self.vision_model = CLIPVisionTransformer(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.vision_model.embeddings.patch_embedding

    @model_forward
    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=False, return_dict=None, **kwargs):
        out = self.vision_model(pixel_values, output_attentions, output_hidden_states, interpolate_pos_encoding)
        return out


class CLIPContrastiveHead:
    """The two-tower contrastive head of CLIP and the families built on its vision tower
    (AltCLIP, Chinese-CLIP): a bias-free projection per tower, a learned temperature
    (``logit_scale``), cosine-similarity logits and the symmetric loss. Mixed into a
    ``PreTrainedModel`` whose family brings its own text tower."""

    def _init_head(self, config, text_model: nn.Module, text_embed_dim: int) -> None:
        # Registration order is the checkpoints' key order: towers, projections, temperature.
        self.projection_dim = config.projection_dim
        self.text_embed_dim = text_embed_dim
        self.vision_embed_dim = config.vision_config.hidden_size
        self.text_model = text_model
        self.vision_model = CLIPVisionTransformer(config.vision_config)
        self.visual_projection = nn.Linear(self.vision_embed_dim, self.projection_dim, bias=False)
        self.text_projection = nn.Linear(self.text_embed_dim, self.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(float(config.logit_scale_init_value)))

    def _init_logit_scale(self, module: nn.Module) -> None:
        if module is self:
            with torch.no_grad():
                self.logit_scale.fill_(float(self.config.logit_scale_init_value))

    def _init_beside_text_tower(self, module: nn.Module, text_init) -> None:
        """``_init_weights`` of a head whose text tower is another family's (AltCLIP: XLM-R,
        Chinese-CLIP: BERT): that tower's modules get ``text_init``, the rest CLIP's."""
        if any(module is m for m in self.text_model.modules()):
            text_init(module)
        else:
            CLIPPreTrainedModel._init_weights(self, module)
        self._init_logit_scale(module)

    def get_image_features(self, pixel_values=None, output_attentions=None, output_hidden_states=None,
                           interpolate_pos_encoding=False, return_dict=False, **kwargs):
        """Projected image embeddings ``(batch, projection_dim)`` (not normalised).

        With ``return_dict=True`` the vision tower's output comes back with ``pooler_output``
        replaced by the projection, as Transformers 5 returns it.
        """
        out = self.vision_model(pixel_values, bool(output_attentions), bool(output_hidden_states),
                                interpolate_pos_encoding)
        out.pooler_output = self.visual_projection(out.pooler_output)
        return out if return_dict else out.pooler_output

    def _contrastive_output(self, output_class, text_embeds, image_embeds, text, vision, return_loss):
        """Normalise the projected embeddings, score every text against every image, and pack the output."""
        text_embeds, image_embeds = normalize(text_embeds), normalize(image_embeds)
        logits_per_text, logits_per_image = similarity_logits(text_embeds, image_embeds, self.logit_scale)
        return output_class(
            loss=clip_loss(logits_per_text) if return_loss else None,
            logits_per_image=logits_per_image, logits_per_text=logits_per_text,
            text_embeds=text_embeds, image_embeds=image_embeds,
            text_model_output=text, vision_model_output=vision,
        )


class CLIPModel(CLIPContrastiveHead, CLIPPreTrainedModel):
    config_class = CLIPConfig
    _keys_to_ignore_on_load_unexpected = (r"position_ids$",)

    def __init__(self, config: CLIPConfig):
        super().__init__(config)
        self._init_head(config, CLIPTextTransformer(config.text_config), config.text_config.hidden_size)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        self._init_logit_scale(module)

    def get_text_features(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                          output_hidden_states=None, return_dict=False, **kwargs):
        """Projected text embeddings ``(batch, projection_dim)`` (not normalised).

        With ``return_dict=True`` the text tower's output comes back with ``pooler_output``
        replaced by the projection, as Transformers 5 returns it.
        """
        out = self.text_model(input_ids, attention_mask, position_ids, bool(output_attentions),
                              bool(output_hidden_states))
        out.pooler_output = self.text_projection(out.pooler_output)
        return out if return_dict else out.pooler_output

    @model_forward
    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None,
                return_loss=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=False, return_dict=None, **kwargs):
        vision = self.get_image_features(pixel_values, output_attentions, output_hidden_states,
                                         interpolate_pos_encoding, return_dict=True)
        text = self.get_text_features(input_ids, attention_mask, position_ids, output_attentions,
                                      output_hidden_states, return_dict=True)
        out = self._contrastive_output(CLIPOutput, text.pooler_output, vision.pooler_output, text, vision,
                                       return_loss)
        return out


class CLIPTextModelWithProjection(CLIPPreTrainedModel):
    config_class = CLIPTextConfig
    base_model_prefix = "text_model"
    _keys_to_ignore_on_load_unexpected = CLIPTextModel._keys_to_ignore_on_load_unexpected

    def __init__(self, config: CLIPTextConfig):
        super().__init__(config)
        self.text_model = CLIPTextTransformer(config)
        self.text_projection = nn.Linear(config.hidden_size, config.projection_dim, bias=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.text_model.embeddings.token_embedding

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):
        out = self.text_model(input_ids, attention_mask, position_ids, output_attentions, output_hidden_states)
        result = CLIPTextModelOutput(text_embeds=self.text_projection(out.pooler_output),
                                     last_hidden_state=out.last_hidden_state,
                                     hidden_states=out.hidden_states, attentions=out.attentions)
        return result


class CLIPVisionModelWithProjection(CLIPPreTrainedModel):
    config_class = CLIPVisionConfig
    base_model_prefix = "vision_model"
    main_input_name = "pixel_values"
    _keys_to_ignore_on_load_unexpected = CLIPVisionModel._keys_to_ignore_on_load_unexpected

    def __init__(self, config: CLIPVisionConfig):
        super().__init__(config)
        self.vision_model = CLIPVisionTransformer(config)
        self.visual_projection = nn.Linear(config.hidden_size, config.projection_dim, bias=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.vision_model.embeddings.patch_embedding

    @model_forward
    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=False, return_dict=None, **kwargs):
        out = self.vision_model(pixel_values, output_attentions, output_hidden_states, interpolate_pos_encoding)
        result = CLIPVisionModelOutput(image_embeds=self.visual_projection(out.pooler_output),
                                       last_hidden_state=out.last_hidden_state,
                                       hidden_states=out.hidden_states, attentions=out.attentions)
        return result
