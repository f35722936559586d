"""ALBERT's encoder and task heads, with Transformers' parameter names.

Two ideas on top of BERT: embeddings of width ``embedding_size`` projected up to
``hidden_size`` (``encoder.embedding_hidden_mapping_in``), and ``num_hidden_groups`` groups of
layers shared across the ``num_hidden_layers`` depth (layer ``i`` runs group
``i * groups // layers``). The embeddings and the position rule are BERT's; the heads are
BERT's heads with ALBERT's dropout fields and its factorised masked-LM head.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.outputs import BaseModelOutputWithPooling, model_forward
from ...nn.activations import get_activation
from ...nn.attention import attention, merge_heads, padding_mask, prefer_eager, split_heads
from ...nn.checkpointing import run_layers
from ..bert.heads import (
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)
from ..bert.modeling import BertEmbeddings, BertModel, BertPreTrainedModel, _check_text_inputs
from .configuration import AlbertConfig

__all__ = ["AlbertConfig", "AlbertForMaskedLM", "AlbertForMultipleChoice", "AlbertForQuestionAnswering",
           "AlbertForSequenceClassification", "AlbertForTokenClassification", "AlbertModel",
           "AlbertPreTrainedModel"]


class AlbertEmbeddings(BertEmbeddings):
    """BERT's embeddings at width ``embedding_size``."""

    def __init__(self, config):
        super().__init__(config, width=config.embedding_size)


class AlbertAttention(nn.Module):
    """Self-attention with its output projection and post-norm in one module (ALBERT's names)."""

    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.attention_dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.output_dropout = nn.Dropout(config.hidden_dropout_prob)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        heads = self.num_attention_heads
        query = split_heads(self.query(hidden_states), heads)  # (B, H, T, D)
        key = split_heads(self.key(hidden_states), heads)
        value = split_heads(self.value(hidden_states), heads)
        eager = prefer_eager(hidden_states.shape[1], hidden_states.device)
        context, weights = attention(query, key, value, mask,
                                     dropout=self.attention_dropout.p if self.training else 0.0,
                                     output_attentions=output_attentions, eager=eager)
        out = self.output_dropout(self.dense(merge_heads(context)))  # (B, T, hidden)
        return self.LayerNorm(hidden_states + out), weights


class AlbertLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.full_layer_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attention = AlbertAttention(config)
        self.ffn = nn.Linear(config.hidden_size, config.intermediate_size)
        self.ffn_output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.activation = get_activation(config.hidden_act)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        attended, weights = self.attention(hidden_states, mask, output_attentions)
        ffn = self.ffn_output(self.activation(self.ffn(attended)))
        return self.full_layer_layer_norm(ffn + attended), weights


class AlbertLayerGroup(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.albert_layers = nn.ModuleList([AlbertLayer(config) for _ in range(config.inner_group_num)])

    def forward(self, hidden_states, mask=None, output_attentions=False):
        weights = None
        for layer in self.albert_layers:
            hidden_states, weights = layer(hidden_states, mask, output_attentions)
        return hidden_states, weights


class AlbertTransformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embedding_hidden_mapping_in = nn.Linear(config.embedding_size, config.hidden_size)
        self.albert_layer_groups = nn.ModuleList([AlbertLayerGroup(config) for _ in range(config.num_hidden_groups)])
        self.gradient_checkpointing = False

    def schedule(self) -> list[nn.Module]:
        """The group each of the ``num_hidden_layers`` layers runs (shared weights)."""
        layers, groups = self.config.num_hidden_layers, self.config.num_hidden_groups
        return [self.albert_layer_groups[i * groups // layers] for i in range(layers)]

    def forward(self, hidden_states, mask=None, output_attentions=False, output_hidden_states=False):
        hidden_states = self.embedding_hidden_mapping_in(hidden_states)
        return run_layers(self.schedule(), hidden_states, mask, output_attentions, output_hidden_states,
                          checkpointed=self.gradient_checkpointing and self.training)


class AlbertPreTrainedModel(BertPreTrainedModel):
    config_class = AlbertConfig
    base_model_prefix = "albert"


class AlbertModel(AlbertPreTrainedModel):
    padding_positions = False

    def __init__(self, config, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = AlbertEmbeddings(config)
        self.encoder = AlbertTransformer(config)
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None
        self.pooler_activation = nn.Tanh() if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    _check_length = BertModel._check_length  # the same max_position_embeddings check

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        _check_text_inputs(input_ids, inputs_embeds, attention_mask, type(self).__name__)
        if position_ids is None:
            self._check_length((input_ids if input_ids is not None else inputs_embeds).shape[1])
        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        mask = None if attention_mask is None or bool(attention_mask.all()) else padding_mask(attention_mask,
                                                                                              embeddings.dtype)
        last, hidden, weights = self.encoder(embeddings, mask, output_attentions, output_hidden_states)
        pooled = self.pooler_activation(self.pooler(last[:, 0])) if self.pooler is not None else None
        return BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled, hidden_states=hidden,
                                          attentions=weights)


def _albert_dropout(config) -> float:
    return config.classifier_dropout_prob if config.classifier_dropout_prob is not None else config.hidden_dropout_prob


class AlbertMLMHead(nn.Module):
    """hidden → ``embedding_size`` → LayerNorm → tied decoder (the factorisation, in reverse)."""

    def __init__(self, config):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))  # the decoder's bias once tied
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)
        self.decoder = nn.Linear(config.embedding_size, config.vocab_size)
        self.activation = get_activation(config.hidden_act)

    def forward(self, hidden_states):
        return self.decoder(self.LayerNorm(self.activation(self.dense(hidden_states))))


class _Albert:
    config_class = AlbertConfig
    base_model_class = AlbertModel
    base_model_prefix = "albert"


class AlbertForMaskedLM(_Albert, BertForMaskedLM):
    tied_weights = {"predictions.decoder.weight": "{prefix}.embeddings.word_embeddings.weight",
                    "predictions.decoder.bias": "predictions.bias"}

    def build_head(self, config) -> None:
        self.predictions = AlbertMLMHead(config)

    def get_output_embeddings(self) -> nn.Linear:
        return self.predictions.decoder

    def lm_logits(self, sequence_output):
        return self.predictions(sequence_output)


class AlbertForSequenceClassification(_Albert, BertForSequenceClassification):
    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.dropout = nn.Dropout(config.classifier_dropout_prob or 0.0)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)


class AlbertForTokenClassification(_Albert, BertForTokenClassification):
    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.dropout = nn.Dropout(_albert_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)


class AlbertForQuestionAnswering(_Albert, BertForQuestionAnswering):
    pass


class AlbertForMultipleChoice(_Albert, BertForMultipleChoice):
    @staticmethod
    def choice_dropout(config) -> float:
        return config.classifier_dropout_prob or 0.0
