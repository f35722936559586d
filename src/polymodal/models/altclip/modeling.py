"""AltCLIP: CLIP's vision tower and contrastive head, with XLM-R as the text encoder.

The text side is ``models/bert``'s ``XLMRobertaModel`` (bidirectional, RoBERTa positions),
followed by ``pre_LN`` and the ``transformation`` projection; the text embedding is the projected
first (``<s>``) token. The vision side is ``CLIPVisionTransformer`` unchanged.

Checkpoint layouts differ in one word: Transformers 4 and the published checkpoints write
``encoder.layer.N`` for the text encoder and ``encoder.layers.N`` for the vision encoder;
Transformers 5 writes ``layer`` for both in ``AltCLIPModel`` and ``layers`` in
``AltCLIPTextModel`` (and reads only ``layers`` there). Loading accepts either spelling; saving
writes the published layout, except ``AltCLIPTextModel``, which writes what Transformers 5 reads.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...core.modeling import PreTrainedModel
from ...core.outputs import ModelOutput, model_forward, output_dataclass
from ..bert.modeling import BertPreTrainedModel, XLMRobertaModel
from ..clip.modeling import (
    CLIPContrastiveHead,
    CLIPOutput,
    CLIPPreTrainedModel,
    CLIPVisionModel,
)
from .configuration import AltCLIPConfig, AltCLIPTextConfig, AltCLIPVisionConfig


@output_dataclass
class BaseModelOutputWithPoolingAndProjection(ModelOutput):
    last_hidden_state: Any = None
    pooler_output: Any = None
    hidden_states: Any = None
    attentions: Any = None
    projection_state: Any = None


class AltCLIPOutput(CLIPOutput):
    pass


class _LayerSpellings:
    """Accept ``encoder.layer.N`` and ``encoder.layers.N`` for whichever one the model uses."""

    def _fix_checkpoint_keys(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        state_dict = super()._fix_checkpoint_keys(state_dict)
        own = set(self.state_dict())
        fixed = {}
        for key, value in state_dict.items():
            if key not in own:
                for old, new in ((".layers.", ".layer."), (".layer.", ".layers.")):
                    if old in key and key.replace(old, new, 1) in own:
                        key = key.replace(old, new, 1)
                        break
            fixed[key] = value
        return fixed


class AltCLIPVisionModel(CLIPVisionModel):
    config_class = AltCLIPVisionConfig


class AltCLIPTextModel(_LayerSpellings, PreTrainedModel):
    config_class = AltCLIPTextConfig
    base_model_prefix = "roberta"
    main_input_name = "input_ids"
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"token_type_ids$", r"pooler\.")

    def __init__(self, config: AltCLIPTextConfig):
        super().__init__(config)
        self.roberta = XLMRobertaModel(config, add_pooling_layer=False)
        self.transformation = nn.Linear(config.hidden_size, config.project_dim)
        self.pre_LN = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        BertPreTrainedModel._init_weights(self, module)

    def _state_dict_for_saving(self, state_dict):
        # Transformers 5 loads a stand-alone AltCLIPTextModel only with `encoder.layers.N` keys.
        state_dict = super()._state_dict_for_saving(state_dict)
        return {k.replace(".encoder.layer.", ".encoder.layers.", 1): v for k, v in state_dict.items()}

    def get_input_embeddings(self) -> nn.Module:
        return self.roberta.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.roberta.embeddings.word_embeddings = value

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        encoded = self.roberta(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               return_dict=True)
        # AltCLIP's text head: layer-norm every token, project every token, pool the first (<s>).
        projected = self.transformation(self.pre_LN(encoded.last_hidden_state))
        out = BaseModelOutputWithPoolingAndProjection(
            last_hidden_state=projected, pooler_output=projected[:, 0],
            hidden_states=encoded.hidden_states, attentions=encoded.attentions,
        )
        return out


class AltCLIPModel(_LayerSpellings, CLIPContrastiveHead, CLIPPreTrainedModel):
    config_class = AltCLIPConfig
    base_model_prefix = "altclip"
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"token_type_ids$", r"text_model\.roberta\.pooler\.")

    def __init__(self, config: AltCLIPConfig):
        super().__init__(config)
        self._init_head(config, AltCLIPTextModel(config.text_config), config.text_config.project_dim)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        self._init_beside_text_tower(module, lambda m: BertPreTrainedModel._init_weights(self, m))

    def get_text_features(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                          output_attentions=None, output_hidden_states=None, return_dict=False, **kwargs):
        """Projected text embeddings ``(batch, projection_dim)``; ``return_dict=True`` gives the whole output."""
        out = self.text_model(input_ids, attention_mask, token_type_ids, position_ids,
                              output_attentions=bool(output_attentions),
                              output_hidden_states=bool(output_hidden_states), return_dict=True)
        out.pooler_output = self.text_projection(out.last_hidden_state[:, 0])
        return out if return_dict else out.pooler_output

    @model_forward
    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, token_type_ids=None,
                position_ids=None, return_loss=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=False, return_dict=None, **kwargs):
        vision = self.vision_model(pixel_values, output_attentions, output_hidden_states, interpolate_pos_encoding)
        text = self.text_model(input_ids, attention_mask, token_type_ids, position_ids,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               return_dict=True)
        # The tower outputs keep their own pooler_output; only the embeddings are projected.
        out = self._contrastive_output(AltCLIPOutput, self.text_projection(text.pooler_output),
                                       self.visual_projection(vision.pooler_output), text, vision, return_loss)
        return out
