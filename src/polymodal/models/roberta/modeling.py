"""RoBERTa's task heads: BERT's heads with RoBERTa's encoder and its own LM / classification layers.

The encoder is BERT's (``RobertaModel`` only changes the position ids, see
``models/bert/modeling.py``). Two heads differ from BERT's: the masked-LM head (``lm_head``:
dense → GELU → LayerNorm → tied decoder) and the sentence classifier (``classifier``: a
two-layer MLP on the ``<s>`` token instead of the pooler). XLM-R, CamemBERT and
Data2Vec-Text are these classes with another config / prefix.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..bert.configuration import RobertaConfig
from ..bert.heads import (
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    classifier_dropout,
)
from ..bert.modeling import RobertaModel

__all__ = ["RobertaConfig", "RobertaForMaskedLM", "RobertaForMultipleChoice", "RobertaForQuestionAnswering",
           "RobertaForSequenceClassification", "RobertaForTokenClassification", "RobertaModel"]


class RobertaLMHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))  # the decoder's bias once tied

    def forward(self, features):
        # fairseq's head uses the exact (erf) GELU whatever config.hidden_act says
        return self.decoder(self.layer_norm(F.gelu(self.dense(features))))


class RobertaClassificationHead(nn.Module):
    """``<s>`` token → dropout → dense → tanh → dropout → out_proj."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, features):
        x = self.dropout(features[:, 0])
        return self.out_proj(self.dropout(torch.tanh(self.dense(x))))


class RobertaHeadMixin:
    """What every RoBERTa-family head changes: config, encoder class and prefix."""

    config_class = RobertaConfig
    base_model_class = RobertaModel
    base_model_prefix = "roberta"


class RobertaForMaskedLM(RobertaHeadMixin, BertForMaskedLM):
    tied_weights = {"lm_head.decoder.weight": "{prefix}.embeddings.word_embeddings.weight",
                    "lm_head.decoder.bias": "lm_head.bias"}

    def build_head(self, config) -> None:
        self.lm_head = RobertaLMHead(config)

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head.decoder

    def lm_logits(self, sequence_output):
        return self.lm_head(sequence_output)


class RobertaForSequenceClassification(RobertaHeadMixin, BertForSequenceClassification):
    with_pooler = False

    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.classifier = RobertaClassificationHead(config)

    def head_logits(self, outputs):
        return self.classifier(outputs.last_hidden_state)


class RobertaForTokenClassification(RobertaHeadMixin, BertForTokenClassification):
    pass


class RobertaForQuestionAnswering(RobertaHeadMixin, BertForQuestionAnswering):
    pass


class RobertaForMultipleChoice(RobertaHeadMixin, BertForMultipleChoice):
    @staticmethod
    def choice_dropout(config) -> float:
        return config.hidden_dropout_prob  # RoBERTa ignores classifier_dropout here
