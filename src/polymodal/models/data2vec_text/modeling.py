"""Data2Vec-Text: RoBERTa's encoder and heads under the checkpoint prefix ``data2vec_text``."""

from __future__ import annotations

from ..bert.modeling import RobertaModel
from ..roberta.modeling import (
    RobertaForMaskedLM,
    RobertaForMultipleChoice,
    RobertaForQuestionAnswering,
    RobertaForSequenceClassification,
    RobertaForTokenClassification,
)
from .configuration import Data2VecTextConfig

__all__ = ["Data2VecTextForMaskedLM", "Data2VecTextForMultipleChoice", "Data2VecTextForQuestionAnswering",
           "Data2VecTextForSequenceClassification", "Data2VecTextForTokenClassification", "Data2VecTextModel"]


class Data2VecTextModel(RobertaModel):
    config_class = Data2VecTextConfig
    base_model_prefix = "data2vec_text"


class _Data2VecText:
    config_class = Data2VecTextConfig
    base_model_class = Data2VecTextModel
    base_model_prefix = "data2vec_text"


class Data2VecTextForMaskedLM(_Data2VecText, RobertaForMaskedLM):
    pass


class Data2VecTextForSequenceClassification(_Data2VecText, RobertaForSequenceClassification):
    pass


class Data2VecTextForTokenClassification(_Data2VecText, RobertaForTokenClassification):
    pass


class Data2VecTextForQuestionAnswering(_Data2VecText, RobertaForQuestionAnswering):
    pass


class Data2VecTextForMultipleChoice(_Data2VecText, RobertaForMultipleChoice):
    pass
