"""Data2Vec-Vision: BEiT's classes under the ``data2vec_vision`` prefix."""

from __future__ import annotations

from ..beit.modeling import BeitForImageClassification, BeitModel, BeitPreTrainedModel
from .configuration import Data2VecVisionConfig


class Data2VecVisionPreTrainedModel(BeitPreTrainedModel):
    config_class = Data2VecVisionConfig
    base_model_prefix = "data2vec_vision"


class Data2VecVisionModel(Data2VecVisionPreTrainedModel, BeitModel):
    def __init__(self, config, add_pooling_layer: bool = False):  # Transformers' default differs from BEiT's
        super().__init__(config, add_pooling_layer)


class Data2VecVisionForImageClassification(Data2VecVisionPreTrainedModel, BeitForImageClassification):
    base_model_class = Data2VecVisionModel
