"""XLM-RoBERTa: RoBERTa's encoder and heads with ``XLMRobertaConfig`` (only vocabulary and tokenizer differ)."""

from __future__ import annotations

from ..bert.configuration import XLMRobertaConfig
from ..bert.modeling import XLMRobertaModel
from ..roberta.modeling import (
    RobertaForMaskedLM,
    RobertaForMultipleChoice,
    RobertaForQuestionAnswering,
    RobertaForSequenceClassification,
    RobertaForTokenClassification,
)

__all__ = ["XLMRobertaConfig", "XLMRobertaForMaskedLM", "XLMRobertaForMultipleChoice",
           "XLMRobertaForQuestionAnswering", "XLMRobertaForSequenceClassification",
           "XLMRobertaForTokenClassification", "XLMRobertaModel"]


class _XLMRoberta:
    config_class = XLMRobertaConfig
    base_model_class = XLMRobertaModel


class XLMRobertaForMaskedLM(_XLMRoberta, RobertaForMaskedLM):
    pass


class XLMRobertaForSequenceClassification(_XLMRoberta, RobertaForSequenceClassification):
    pass


class XLMRobertaForTokenClassification(_XLMRoberta, RobertaForTokenClassification):
    pass


class XLMRobertaForQuestionAnswering(_XLMRoberta, RobertaForQuestionAnswering):
    pass


class XLMRobertaForMultipleChoice(_XLMRoberta, RobertaForMultipleChoice):
    pass
