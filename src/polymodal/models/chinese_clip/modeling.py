"""Chinese-CLIP: a BERT text encoder and CLIP's ViT, projected into one space (Yang et al., 2022).

The text side is ``models/bert``'s ``BertModel`` (Chinese RoBERTa-wwm checkpoints are BERT
architectures); the text embedding is the projected first (``[CLS]``) token. The vision side
is ``CLIPVisionTransformer`` unchanged: Chinese-CLIP's vision modules carry CLIP's names
(``pre_layrnorm`` included), so the checkpoints load into it as they are.

``ChineseCLIPVisionModel`` is ``CLIPVisionModel`` under this family's config: it saves the
``vision_model.`` layout of Transformers 4 (which Transformers 5 reads) and loads both that and
Transformers 5's unprefixed layout.
"""

from __future__ import annotations

from torch import nn

from ...core.outputs import model_forward
from ..bert.modeling import BertModel, BertPreTrainedModel
from ..clip.modeling import (
    CLIPContrastiveHead,
    CLIPOutput,
    CLIPPreTrainedModel,
    CLIPVisionModel,
)
from .configuration import ChineseCLIPConfig, ChineseCLIPTextConfig, ChineseCLIPVisionConfig


class ChineseCLIPOutput(CLIPOutput):
    pass


class ChineseCLIPTextModel(BertModel):
    """The BERT encoder (with BERT's tanh pooler unless ``add_pooling_layer=False``)."""

    config_class = ChineseCLIPTextConfig
    base_model_prefix = "text_model"  # so the text part of a full ChineseCLIPModel checkpoint loads
    # A full ChineseCLIPModel checkpoint has no pooler: it is initialised fresh, as Transformers does.
    _keys_to_ignore_on_load_missing = (r"^pooler\.",)
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"token_type_ids$", r"^vision_model\.",
                                          r"^text_projection\.", r"^visual_projection\.", r"^logit_scale$")


class ChineseCLIPVisionModel(CLIPVisionModel):
    config_class = ChineseCLIPVisionConfig


class ChineseCLIPModel(CLIPContrastiveHead, CLIPPreTrainedModel):
    config_class = ChineseCLIPConfig
    base_model_prefix = "chinese_clip"
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"token_type_ids$", r"^text_model\.pooler\.")

    def __init__(self, config: ChineseCLIPConfig):
        super().__init__(config)
        text_model = ChineseCLIPTextModel(config.text_config, add_pooling_layer=False)
        self._init_head(config, text_model, config.text_config.hidden_size)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        self._init_beside_text_tower(module, lambda m: BertPreTrainedModel._init_weights(self.text_model, m))

    def get_text_features(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                          output_attentions=None, output_hidden_states=None, return_dict=False, **kwargs):
        """Projected ``[CLS]`` embeddings ``(batch, projection_dim)`` (not normalised).

        With ``return_dict=True`` the text tower's output comes back with ``pooler_output``
        replaced by the projection, as Transformers 5 returns it.
        """
        out = self.text_model(input_ids, attention_mask, token_type_ids, position_ids,
                              output_attentions=bool(output_attentions),
                              output_hidden_states=bool(output_hidden_states), return_dict=True)
        out.pooler_output = self.text_projection(out.last_hidden_state[:, 0])
        return out if return_dict else out.pooler_output

    @model_forward
    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, token_type_ids=None,
                position_ids=None, return_loss=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=False, return_dict=None, **kwargs):
        vision = self.get_image_features(pixel_values, output_attentions, output_hidden_states,
                                         interpolate_pos_encoding, return_dict=True)
        text = self.get_text_features(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                                      output_hidden_states, return_dict=True)
        out = self._contrastive_output(ChineseCLIPOutput, text.pooler_output, vision.pooler_output, text, vision,
                                       return_loss)
        return out
