"""CamemBERT: RoBERTa's encoder and heads with ``CamembertConfig`` (prefix ``roberta``, as its checkpoints)."""

from __future__ import annotations

from ..bert.modeling import RobertaModel
from ..roberta.modeling import (
    RobertaForMaskedLM,
    RobertaForMultipleChoice,
    RobertaForQuestionAnswering,
    RobertaForSequenceClassification,
    RobertaForTokenClassification,
)
from .configuration import CamembertConfig

__all__ = ["CamembertForMaskedLM", "CamembertForMultipleChoice", "CamembertForQuestionAnswering",
           "CamembertForSequenceClassification", "CamembertForTokenClassification", "CamembertModel"]


class CamembertModel(RobertaModel):
    config_class = CamembertConfig


class _Camembert:
    config_class = CamembertConfig
    base_model_class = CamembertModel


class CamembertForMaskedLM(_Camembert, RobertaForMaskedLM):
    pass


class CamembertForSequenceClassification(_Camembert, RobertaForSequenceClassification):
    pass


class CamembertForTokenClassification(_Camembert, RobertaForTokenClassification):
    pass


class CamembertForQuestionAnswering(_Camembert, RobertaForQuestionAnswering):
    pass


class CamembertForMultipleChoice(_Camembert, RobertaForMultipleChoice):
    pass
