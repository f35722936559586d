"""X-CLIP: CLIP extended to video (Ni et al., 2022, "Expanding Language-Image Pretrained Models
for General Video Recognition").

Built from CLIP's blocks, one level deep:

* the text tower is CLIP's causal text transformer (``XCLIPTextModel``);
* the vision tower is CLIP's ViT run on every frame, where each layer first lets the frames
  talk: a *message token* per frame (from its class token) attends over the video's frames and
  is appended to that frame's tokens for the layer's self-attention (cross-frame communication,
  ``XCLIPVisionEncoderLayer``);
* the projected class tokens of the frames go through a small transformer over time, the
  multi-frame integration transformer (MIT), whose mean is the video embedding;
* the video-specific prompt generator lets every text embedding cross-attend to the video's
  (frame-averaged) patch tokens and adds the result, scaled by a learned ``alpha``.

Submodule names are the checkpoints' (``vision_model.encoder.layers.N.message_attn.q_proj``,
``mit.position_embedding``, ``prompts_generator.decoder.N.cross_attn.proj`` …). As in
Transformers 5, ``XCLIPTextModel`` and ``XCLIPVisionModel`` hold their modules directly
(``embeddings.…``); Transformers 4 wrapped them in ``text_model.`` / ``vision_model.``, which
``base_model_prefix`` strips on load.

Videos are ``(batch, frames, channels, height, width)`` with exactly ``num_frames`` frames.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...core.errors import InvalidInputError
from ...core.outputs import (
    BaseModelOutputWithPooling,
    ModelOutput,
    model_forward,
    output_dataclass,
)
from ...nn.activations import get_activation
from ...nn.attention import attention, merge_heads, split_heads
from ...nn.drop_path import DropPath
from ..clip.modeling import (
    CLIPAttention,
    CLIPEncoder,
    CLIPEncoderLayer,
    CLIPPreTrainedModel,
    CLIPTextEmbeddings,
    CLIPTextTransformer,
    CLIPVisionEmbeddings,
    _check_pixels,
    clip_loss,
    normalize,
)
from .configuration import XCLIPConfig, XCLIPTextConfig, XCLIPVisionConfig


@output_dataclass
class XCLIPOutput(ModelOutput):
    # Transformers' field order (it decides what return_dict=False gives back).
    loss: Any = None
    logits_per_text: Any = None
    text_embeds: Any = None
    text_model_output: Any = None
    vision_model_output: Any = None
    logits_per_video: Any = None
    video_embeds: Any = None
    mit_output: Any = None


# --------------------------------------------------------------------------- vision: cross-frame attention
XCLIPDropPath = DropPath  # stochastic depth on the message tokens (Transformers' class name)


class XCLIPVisionEncoderLayer(CLIPEncoderLayer):
    """CLIP's pre-norm block on ``(B*T, N, C)`` frame tokens, plus one message token per frame.

    The message tokens (``message_fc`` of each class token) first attend over the video's frames;
    each frame then runs self-attention over its tokens and its message, and the message is dropped
    again before the MLP. This is the paper's ``CrossFramelAttentionBlock``.
    """

    def __init__(self, config: XCLIPVisionConfig):
        super().__init__(config)
        self.num_frames = config.num_frames
        self.message_fc = nn.Linear(config.hidden_size, config.hidden_size)
        self.message_ln = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.message_attn = CLIPAttention(config)
        self.drop_path = XCLIPDropPath(config.drop_path_rate) if config.drop_path_rate > 0.0 else nn.Identity()

    def forward(self, hidden_states, mask=None, output_attentions=False):
        frames_total, length, width = hidden_states.shape
        message = self.message_fc(hidden_states[:, 0]).view(-1, self.num_frames, width)  # (B, T, C)
        message = message + self.drop_path(self.message_attn(self.message_ln(message))[0])
        hidden_states = torch.cat([hidden_states, message.view(frames_total, 1, width)], dim=1)  # (B*T, N+1, C)
        attended, weights = self.self_attn(self.layer_norm1(hidden_states), mask, output_attentions)
        hidden_states = hidden_states[:, :length] + attended[:, :length]  # the message is dropped here
        return hidden_states + self.mlp(self.layer_norm2(hidden_states)), weights


class XCLIPVisionEncoder(CLIPEncoder):
    """CLIP's encoder loop over cross-frame layers."""

    def __init__(self, config: XCLIPVisionConfig):
        nn.Module.__init__(self)  # CLIPEncoder.__init__ would build plain layers only to drop them
        self.config = config
        self.layers = nn.ModuleList([XCLIPVisionEncoderLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False


# --------------------------------------------------------------------------- video: MIT and prompts
class XCLIPMultiframeIntegrationTransformer(nn.Module):
    """A residual transformer over the frames' projected class tokens; mean over time pools."""

    def __init__(self, config: XCLIPVisionConfig):
        super().__init__()
        self.position_embedding = nn.Parameter(torch.empty(1, config.num_frames, config.hidden_size))
        self.encoder = CLIPEncoder(config)

    def forward(self, hidden_states: torch.Tensor) -> BaseModelOutputWithPooling:
        encoded, _, _ = self.encoder(hidden_states + self.position_embedding)
        last = encoded.to(hidden_states.dtype) + hidden_states  # (B, T, P)
        return BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=last.mean(dim=1))


class XCLIPCrossAttention(nn.Module):
    """Text embeddings (queries) attending to a video's patch tokens (keys and values)."""

    def __init__(self, config: XCLIPConfig):
        super().__init__()
        self.config = config
        self.embed_dim = config.projection_dim
        self.num_heads = config.prompt_num_attention_heads
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=False)
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=False)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=False)
        self.attn_drop = config.prompt_attention_dropout
        self.proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.proj_drop = nn.Dropout(config.prompt_projection_dropout)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        query = split_heads(self.q_proj(queries), self.num_heads)  # (B, H, K, D)
        key = split_heads(self.k_proj(keys), self.num_heads)  # (B, H, N, D)
        value = split_heads(self.v_proj(values), self.num_heads)
        context, _ = attention(query, key, value, dropout=self.attn_drop if self.training else 0.0)
        return self.proj_drop(self.proj(merge_heads(context)))


class PromptGeneratorLayer(nn.Module):
    def __init__(self, config: XCLIPConfig):
        super().__init__()
        width = config.projection_dim
        eps = config.text_config.layer_norm_eps
        self.cross_attn = XCLIPCrossAttention(config)
        self.norm1 = nn.LayerNorm(width, eps=eps)
        self.norm3 = nn.LayerNorm(width, eps=eps)  # sic: the checkpoints have no norm2
        self.mlp = nn.Sequential(
            nn.Linear(width, width * 4),
            get_activation(config.prompt_hidden_act),
            nn.Dropout(config.prompt_attention_dropout),
            nn.Linear(width * 4, width),
        )

    def forward(self, text: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        text = text + self.cross_attn(self.norm1(text), visual, visual)
        return text + self.mlp(self.norm3(text))


class XCLIPPromptGenerator(nn.Module):
    """The paper's video-specific prompting: ``alpha * decoder(text, visual)``, added to the text."""

    def __init__(self, config: XCLIPConfig):
        super().__init__()
        width = config.projection_dim
        self.layernorm = nn.LayerNorm(width, eps=config.vision_config.layer_norm_eps)
        self.decoder = nn.ModuleList([PromptGeneratorLayer(config) for _ in range(config.prompt_layers)])
        self.alpha = nn.Parameter(torch.ones(width) * config.prompt_alpha)

    def forward(self, text: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        visual = self.layernorm(visual)
        for layer in self.decoder:
            text = layer(text, visual)
        return self.alpha * text


# --------------------------------------------------------------------------- models
class XCLIPPreTrainedModel(CLIPPreTrainedModel):
    config_class = XCLIPConfig
    base_model_prefix = "x_clip"
    _keys_to_ignore_on_load_unexpected = (r"position_ids$",)

    def _init_weights(self, module: nn.Module) -> None:
        """CLIP's initialisation, plus X-CLIP's own parameters as Transformers sets them."""
        super()._init_weights(module)
        factor = getattr(self.config, "initializer_factor", 1.0) or 1.0
        if isinstance(module, XCLIPMultiframeIntegrationTransformer):
            nn.init.normal_(module.position_embedding, std=factor)
        elif isinstance(module, XCLIPPromptGenerator):
            for linear in (m for m in module.modules() if isinstance(m, nn.Linear)):
                nn.init.normal_(linear.weight, std=0.02)
            with torch.no_grad():
                module.alpha.fill_(float(self.config.prompt_alpha))
        elif isinstance(module, XCLIPModel):
            nn.init.normal_(module.prompts_visual_projection, std=module.vision_embed_dim**-0.5 * factor)
            with torch.no_grad():
                module.logit_scale.fill_(float(self.config.logit_scale_init_value))


class XCLIPTextModel(XCLIPPreTrainedModel):
    """CLIP's causal text transformer; the pooled state is taken at the largest token id (eot)."""

    config_class = XCLIPTextConfig
    base_model_prefix = "text_model"  # Transformers 4 layout; Transformers 5 saves without it
    main_input_name = "input_ids"
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"^vision_model\.", r"^mit\.", r"^prompts_",
                                          r"^text_projection\.", r"^visual_projection\.", r"^logit_scale$")

    def __init__(self, config: XCLIPTextConfig):
        super().__init__(config)
        self.embeddings = CLIPTextEmbeddings(config)
        self.encoder = CLIPEncoder(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings.token_embedding

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.embeddings.token_embedding = value

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):
        if input_ids is None:
            raise InvalidInputError("X-CLIP text model: input_ids are required (tokenize with CLIPTokenizer).")
        input_ids = input_ids.reshape(-1, input_ids.shape[-1])  # (K, L)
        hidden = self.embeddings(input_ids=input_ids, position_ids=position_ids)
        mask = CLIPTextTransformer._mask(attention_mask, input_ids.shape[1], hidden)
        last, all_hidden, weights = self.encoder(hidden, mask, output_attentions, output_hidden_states)
        last = self.final_layer_norm(last)
        # X-CLIP always pools at the largest id (CLIP's end-of-text token), whatever eos_token_id says.
        pooled = last[torch.arange(last.shape[0], device=last.device), input_ids.to(torch.int).argmax(dim=-1)]
        out = BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled,
                                         hidden_states=all_hidden, attentions=weights)
        return out


class XCLIPVisionModel(XCLIPPreTrainedModel):
    """The cross-frame ViT over ``(batch * frames, C, H, W)`` pixels (a 5-D video is flattened)."""

    config_class = XCLIPVisionConfig
    base_model_prefix = "vision_model"  # Transformers 4 layout; Transformers 5 saves without it
    main_input_name = "pixel_values"
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"^text_model\.", r"^mit\.", r"^prompts_",
                                          r"^text_projection\.", r"^visual_projection\.", r"^logit_scale$")

    def __init__(self, config: XCLIPVisionConfig):
        super().__init__(config)
        self.embeddings = CLIPVisionEmbeddings(config)
        self.encoder = XCLIPVisionEncoder(config)
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.pre_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings.patch_embedding

    @model_forward
    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=False, return_dict=None, **kwargs):
        if isinstance(pixel_values, torch.Tensor) and pixel_values.ndim == 5:
            pixel_values = check_video(pixel_values, self.config).flatten(0, 1)  # (B*T, C, H, W)
        _check_frames(pixel_values, self.config)
        hidden = self.pre_layernorm(self.embeddings(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding))
        last, all_hidden, weights = self.encoder(hidden, None, output_attentions, output_hidden_states)
        out = BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=self.post_layernorm(last[:, 0]),
                                         hidden_states=all_hidden, attentions=weights)
        return out


class XCLIPModel(XCLIPPreTrainedModel):
    config_class = XCLIPConfig
    main_input_name = "input_ids"

    def __init__(self, config: XCLIPConfig):
        super().__init__(config)
        text_config, vision_config = config.text_config, config.vision_config
        self.projection_dim = config.projection_dim
        self.text_embed_dim = text_config.hidden_size
        self.vision_embed_dim = vision_config.hidden_size
        self.text_model = XCLIPTextModel(text_config)
        self.vision_model = XCLIPVisionModel(vision_config)
        self.visual_projection = nn.Linear(self.vision_embed_dim, self.projection_dim, bias=False)
        self.text_projection = nn.Linear(self.text_embed_dim, self.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(float(config.logit_scale_init_value)))
        self.prompts_visual_layernorm = nn.LayerNorm(self.vision_embed_dim, eps=vision_config.layer_norm_eps)
        self.prompts_visual_projection = nn.Parameter(torch.randn(self.vision_embed_dim, self.projection_dim))
        self.mit = XCLIPMultiframeIntegrationTransformer(vision_config.mit_config())
        self.prompts_generator = XCLIPPromptGenerator(config)
        self.post_init()

    def get_text_features(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                          output_hidden_states=None, return_dict=False, **kwargs):
        """Projected text embeddings ``(texts, projection_dim)``, before the video prompts and unnormalised.

        With ``return_dict=True`` the text tower's output comes back with ``pooler_output``
        replaced by the projection, as Transformers 5 returns it.
        """
        out = self.text_model(input_ids, attention_mask, position_ids, bool(output_attentions),
                              bool(output_hidden_states), return_dict=True)
        out.pooler_output = self.text_projection(out.pooler_output)
        return out if return_dict else out.pooler_output

    def get_video_features(self, pixel_values=None, output_attentions=None, output_hidden_states=None,
                           interpolate_pos_encoding=False, return_dict=False, **kwargs):
        """Video embeddings ``(batch, projection_dim)`` (MIT-pooled, unnormalised) of
        ``(batch, frames, C, H, W)`` pixels; ``return_dict=True`` gives the vision tower's output
        with ``pooler_output`` replaced by them, as Transformers 5 returns it."""
        vision, video = self._encode_video(pixel_values, bool(output_attentions), bool(output_hidden_states),
                                           interpolate_pos_encoding)
        vision.pooler_output = video.pooler_output
        return vision if return_dict else vision.pooler_output

    def _encode_video(self, pixel_values, output_attentions, output_hidden_states, interpolate_pos_encoding):
        batch, frames = check_video(pixel_values, self.config.vision_config).shape[:2]
        vision = self.vision_model(pixel_values.flatten(0, 1), output_attentions, output_hidden_states,
                                   interpolate_pos_encoding, return_dict=True)
        frame_embeds = self.visual_projection(vision.pooler_output).view(batch, frames, -1)  # (B, T, P)
        return vision, self.mit(frame_embeds)

    def _video_prompt_tokens(self, last_hidden_state: torch.Tensor, batch: int) -> torch.Tensor:
        """The video's patch tokens for the prompt generator: normed, averaged over frames, projected."""
        patches = self.prompts_visual_layernorm(last_hidden_state[:, 1:])  # (B*T, N, C)
        # Averaging before the (linear) projection gives the same result for T times less work.
        patches = patches.view(batch, -1, *patches.shape[1:]).mean(dim=1)  # (B, N, C)
        return patches @ self.prompts_visual_projection  # (B, N, P)

    @model_forward
    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None,
                return_loss=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=False, return_dict=None, **kwargs):
        vision, mit = self._encode_video(pixel_values, output_attentions, output_hidden_states,
                                         interpolate_pos_encoding)
        batch = mit.pooler_output.shape[0]
        text = self.text_model(input_ids, attention_mask, position_ids, output_attentions, output_hidden_states,
                               return_dict=True)
        text_embeds = self.text_projection(text.pooler_output).unsqueeze(0).expand(batch, -1, -1)  # (B, K, P)
        text_embeds = text_embeds + self.prompts_generator(text_embeds, self._video_prompt_tokens(
            vision.last_hidden_state, batch))
        video_embeds = normalize(mit.pooler_output)
        text_embeds = normalize(text_embeds)
        # Each video scores its own prompted version of every text.
        logits_per_video = torch.einsum("bd,bkd->bk", video_embeds, self.logit_scale.exp() * text_embeds)
        logits_per_text = logits_per_video.t()
        out = XCLIPOutput(
            loss=clip_loss(logits_per_text) if return_loss else None,
            logits_per_text=logits_per_text, text_embeds=text_embeds,
            text_model_output=text, vision_model_output=vision,
            logits_per_video=logits_per_video, video_embeds=video_embeds, mit_output=mit,
        )
        return out


# --------------------------------------------------------------------------- input checks
def check_video(pixel_values, config: XCLIPVisionConfig) -> torch.Tensor:
    """``pixel_values`` must be ``(batch, num_frames, channels, H, W)``; say how to get that otherwise."""
    if not isinstance(pixel_values, torch.Tensor) or pixel_values.ndim != 5:
        got = tuple(pixel_values.shape) if isinstance(pixel_values, torch.Tensor) else type(pixel_values).__name__
        raise InvalidInputError(
            f"X-CLIP expects videos as pixel_values of shape (batch, frames, {config.num_channels}, height, width); "
            f"got {got}. Prepare them with XCLIPProcessor(videos=...), or add the batch axis with "
            "pixel_values[None] for a single video."
        )
    frames = pixel_values.shape[1]
    if frames != config.num_frames:
        raise InvalidInputError(
            f"This X-CLIP model was trained on videos of {config.num_frames} frames, but pixel_values has "
            f"{frames}. Sample exactly {config.num_frames} frames per video, e.g. with "
            f"polymodal.vision.video.sample_frames(path, {config.num_frames})."
        )
    if pixel_values.shape[2] != config.num_channels:
        raise InvalidInputError(
            f"pixel_values has {pixel_values.shape[2]} channels at axis 2; expected {config.num_channels} "
            "(layout (batch, frames, channels, height, width))."
        )
    return pixel_values


def _check_frames(pixel_values, config: XCLIPVisionConfig) -> None:
    try:
        _check_pixels(pixel_values, config.num_channels)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    if pixel_values.shape[0] % config.num_frames:
        raise InvalidInputError(
            f"XCLIPVisionModel got {pixel_values.shape[0]} frames, not a multiple of num_frames="
            f"{config.num_frames}; pass (batch * {config.num_frames}, C, H, W) frames, video after video."
        )
