"""Task heads on the BERT-like encoder: masked LM, sequence / token classification, QA, multiple choice.

Every head is the encoder (under ``base_model_prefix``: ``bert``, ``roberta`` …) plus a few
layers named as in Transformers, so checkpoints load with no key mapping. RoBERTa-style
families derive from these classes and swap the parts that differ (``build_head`` /
``head_logits``, the encoder class, the prefix), see ``models/roberta/modeling.py``.

Masked-LM heads share the output projection with the word embeddings when
``tie_word_embeddings`` is set; like Transformers we save the tied tensors once and re-tie
them after every load (loading assigns new tensors, which would untie them).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import ConfigError, InvalidInputError
from ...core.outputs import model_forward
from ...core.text_outputs import (
    MaskedLMOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from ...nn.activations import get_activation
from ...nn.classification_loss import classification_loss, token_loss  # noqa: F401 (token_loss: re-exported)
from .modeling import BertModel, BertPreTrainedModel


def classifier_dropout(config) -> float:
    return config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob




class BertHeadModel(BertPreTrainedModel):
    """The encoder plus a head. Subclasses set ``with_pooler`` and build their layers in ``build_head``."""

    base_model_class = BertModel
    with_pooler = False
    # head key -> the key it is tied to (saved once; re-tied after loading)
    tied_weights: dict[str, str] = {}
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"token_type_ids$")

    def __init__(self, config):
        super().__init__(config)
        setattr(self, self.base_model_prefix, self.base_model_class(config, add_pooling_layer=self.with_pooler))
        self.build_head(config)
        self.post_init()
        self.tie_weights()

    def build_head(self, config) -> None:
        raise NotImplementedError

    @property
    def encoder_model(self) -> BertModel:
        return getattr(self, self.base_model_prefix)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.encoder_model.get_input_embeddings()

    def encode(self, input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds, output_attentions,
               output_hidden_states):
        return self.encoder_model(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                                  output_attentions, output_hidden_states, return_dict=True)

    # ---------------------------------------------------------------- tied weights
    def _tied_pairs(self):
        if not self.tied_weights or not getattr(self.config, "tie_word_embeddings", True):
            return []
        return [(target, source.format(prefix=self.base_model_prefix)) for target, source in self.tied_weights.items()]

    def tie_weights(self) -> None:
        for target, source in self._tied_pairs():
            owner, name = target.rsplit(".", 1)
            src_owner, src_name = source.rsplit(".", 1)
            setattr(self.get_submodule(owner), name, getattr(self.get_submodule(src_owner), src_name))

    def _load_weights(self, state_dict, dtype, ignore_mismatched):
        report = super()._load_weights(state_dict, dtype, ignore_mismatched)
        self.tie_weights()
        tied = {target for target, _ in self._tied_pairs()}
        report["missing_keys"] = [k for k in report["missing_keys"] if k not in tied]
        report["head_keys"] = [k for k in report["head_keys"] if k not in tied]
        return report

    def _state_dict_for_saving(self, state_dict):
        state_dict = super()._state_dict_for_saving(state_dict)
        for target, _ in self._tied_pairs():  # Transformers writes a tied tensor once, under its source
            state_dict.pop(target, None)
        return state_dict


# --------------------------------------------------------------------------- masked LM
class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states):
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))  # the decoder's bias once tied

    def forward(self, hidden_states):
        return self.decoder(self.transform(hidden_states))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output):
        return self.predictions(sequence_output)


class BertForMaskedLM(BertHeadModel):
    tied_weights = {"cls.predictions.decoder.weight": "{prefix}.embeddings.word_embeddings.weight",
                    "cls.predictions.decoder.bias": "cls.predictions.bias"}
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"token_type_ids$", r"pooler\.", r"seq_relationship")

    def build_head(self, config) -> None:
        self.cls = BertOnlyMLMHead(config)

    def get_output_embeddings(self) -> nn.Linear:
        return self.cls.predictions.decoder

    def lm_logits(self, sequence_output):
        return self.cls(sequence_output)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):
        out = self.encode(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                          output_attentions, output_hidden_states)
        logits = self.lm_logits(out.last_hidden_state)  # (B, T, V)
        loss = None if labels is None else token_loss(logits, labels, self.config.vocab_size, "token id")
        return MaskedLMOutput(loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)


# --------------------------------------------------------------------------- sequence classification
class BertForSequenceClassification(BertHeadModel):
    """Pooled ``[CLS]`` → dropout → linear. Loss by ``config.problem_type`` (inferred from the labels)."""

    with_pooler = True

    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def head_logits(self, outputs):
        return self.classifier(self.dropout(outputs.pooler_output))

    def sequence_loss(self, logits, labels):
        return classification_loss(logits, labels, self.config)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):
        out = self.encode(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                          output_attentions, output_hidden_states)
        logits = self.head_logits(out)  # (B, num_labels)
        loss = None if labels is None else self.sequence_loss(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                        attentions=out.attentions)


# --------------------------------------------------------------------------- token classification
class BertForTokenClassification(BertHeadModel):
    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):
        out = self.encode(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                          output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(out.last_hidden_state))  # (B, T, num_labels)
        loss = None if labels is None else token_loss(logits, labels, self.config.num_labels, "label")
        return TokenClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                     attentions=out.attentions)


# --------------------------------------------------------------------------- question answering
def span_loss(start_logits, end_logits, start_positions, end_positions) -> torch.Tensor:
    """Mean of the start and end cross-entropies; positions past the input are ignored (Transformers' rule)."""
    length = start_logits.shape[1]
    start = start_positions.reshape(-1).to(start_logits.device).long().clamp(0, length)
    end = end_positions.reshape(-1).to(end_logits.device).long().clamp(0, length)
    if start.shape[0] != start_logits.shape[0] or end.shape[0] != start_logits.shape[0]:
        raise InvalidInputError(
            f"start_positions/end_positions need one position per example ({start_logits.shape[0]}), got "
            f"{tuple(start_positions.shape)} and {tuple(end_positions.shape)}."
        )
    return (F.cross_entropy(start_logits, start, ignore_index=length)
            + F.cross_entropy(end_logits, end, ignore_index=length)) / 2


class BertForQuestionAnswering(BertHeadModel):
    def build_head(self, config) -> None:
        if config.num_labels != 2:
            raise ConfigError(
                f"{type(self).__name__} predicts a start and an end logit per token, so num_labels must be 2; "
                f"the config has num_labels={config.num_labels}."
            )
        self.num_labels = config.num_labels
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, start_positions=None, end_positions=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):
        out = self.encode(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                          output_attentions, output_hidden_states)
        logits = self.qa_outputs(out.last_hidden_state)  # (B, T, 2)
        start_logits, end_logits = (part.squeeze(-1).contiguous() for part in logits.split(1, dim=-1))
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start_logits, end_logits, start_positions, end_positions)
        return QuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                                            hidden_states=out.hidden_states, attentions=out.attentions)


# --------------------------------------------------------------------------- multiple choice
def flatten_choices(name: str, tensor, trailing: int = 0):
    """(B, C, T[, H]) → (B*C, T[, H]); checks the choices axis is there."""
    if tensor is None:
        return None
    if tensor.dim() != 3 + trailing:
        raise InvalidInputError(
            f"{name} for multiple choice must have shape (batch, num_choices, sequence_length"
            f"{', hidden' if trailing else ''}), got {tuple(tensor.shape)}. Tokenize each (context, choice) pair "
            "and stack them per example."
        )
    return tensor.reshape(-1, *tensor.shape[2:])


class BertForMultipleChoice(BertHeadModel):
    """Each (context, choice) pair is scored by pooled ``[CLS]`` → linear; softmax runs over the choices."""

    with_pooler = True

    def build_head(self, config) -> None:
        self.dropout = nn.Dropout(self.choice_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, 1)

    @staticmethod
    def choice_dropout(config) -> float:
        return classifier_dropout(config)

    def choice_logits(self, outputs):
        """One score per (context, choice) pair: ``(B*C, 1)``."""
        return self.classifier(self.dropout(outputs.pooler_output))

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):
        num_choices = (input_ids if input_ids is not None else inputs_embeds).shape[1]
        out = self.encode(flatten_choices("input_ids", input_ids), flatten_choices("attention_mask", attention_mask),
                          flatten_choices("token_type_ids", token_type_ids),
                          flatten_choices("position_ids", position_ids),
                          flatten_choices("inputs_embeds", inputs_embeds, trailing=1),
                          output_attentions, output_hidden_states)
        logits = self.choice_logits(out).view(-1, num_choices)  # (B, C)
        loss = None
        if labels is not None:
            loss = token_loss(logits[:, None], labels.reshape(-1, 1), num_choices, "choice index")
        return MultipleChoiceModelOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                         attentions=out.attentions)


__all__ = ["BertForMaskedLM", "BertForMultipleChoice", "BertForQuestionAnswering", "BertForSequenceClassification",
           "BertForTokenClassification", "BertHeadModel"]
