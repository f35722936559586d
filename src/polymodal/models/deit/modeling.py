"""DeiT: ViT's encoder behind a [CLS] and a distillation token.

``DeiTForImageClassificationWithTeacher`` has one linear head per token and averages them at
inference, as the paper's distilled models do; training it with a teacher (the hard-distillation
loss) is not part of Transformers either, and is left to a ``Trainer`` subclass (see
docs/vision_models.md, knowledge distillation).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...core.outputs import ModelOutput, model_forward, output_dataclass
from ..vit.modeling import (
    ViTEmbeddings,
    ViTForImageClassification,
    ViTForMaskedImageModeling,
    ViTModel,
    ViTPreTrainedModel,
)
from .configuration import DeiTConfig


class DeiTEmbeddings(ViTEmbeddings):
    """[CLS], [DIST], then the patches; positions cover both extra tokens."""

    num_prefix_tokens = 2

    def __init__(self, config, use_mask_token: bool = False):
        super().__init__(config, use_mask_token)
        self.distillation_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))

    def prefix_tokens(self, batch: int) -> list[torch.Tensor]:
        return [self.cls_token.expand(batch, -1, -1), self.distillation_token.expand(batch, -1, -1)]


class DeiTPreTrainedModel(ViTPreTrainedModel):
    config_class = DeiTConfig
    base_model_prefix = "deit"


class DeiTModel(DeiTPreTrainedModel, ViTModel):
    embeddings_class = DeiTEmbeddings


class DeiTForImageClassification(DeiTPreTrainedModel, ViTForImageClassification):
    base_model_class = DeiTModel


class DeiTForMaskedImageModeling(DeiTPreTrainedModel, ViTForMaskedImageModeling):
    base_model_class = DeiTModel


@output_dataclass
class DeiTForImageClassificationWithTeacherOutput(ModelOutput):
    logits: Any = None
    cls_logits: Any = None
    distillation_logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


class DeiTForImageClassificationWithTeacher(DeiTPreTrainedModel):
    def __init__(self, config: DeiTConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.deit = DeiTModel(config, add_pooling_layer=False)
        self.cls_classifier = self._head(config)
        self.distillation_classifier = self._head(config)
        self.post_init()

    @staticmethod
    def _head(config) -> nn.Module:
        return nn.Linear(config.hidden_size, config.num_labels) if config.num_labels > 0 else nn.Identity()

    @model_forward
    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=None, return_dict=None, attention_mask=None):
        outputs = self.deit(pixel_values, output_attentions=output_attentions,
                            output_hidden_states=output_hidden_states, interpolate_pos_encoding=interpolate_pos_encoding,
                            return_dict=True, attention_mask=attention_mask)
        tokens = outputs.last_hidden_state
        cls_logits = self.cls_classifier(tokens[:, 0])
        distillation_logits = self.distillation_classifier(tokens[:, 1])
        logits = (cls_logits + distillation_logits) / 2  # the two heads' average at inference
        return DeiTForImageClassificationWithTeacherOutput(logits, cls_logits, distillation_logits,
                                                           outputs.hidden_states, outputs.attentions)
