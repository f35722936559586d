"""DistilBERT's encoder and task heads, with Transformers' parameter names.

A post-norm block like BERT's, but named differently (``attention.q_lin``, ``sa_layer_norm``,
``ffn.lin1`` …), without token types or pooler, so it has its own small layers. The heads
reuse the loss helpers of ``models/bert/heads.py``.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.errors import ConfigError, InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import BaseModelOutput, model_forward
from ...core.text_outputs import (
    MaskedLMOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from ...nn.activations import get_activation
from ...nn.attention import attention, merge_heads, padding_mask, prefer_eager, split_heads
from ...nn.checkpointing import run_layers
from ...nn.classification_loss import classification_loss
from ...nn.init import init_dense_and_norm
from ..bert.heads import flatten_choices, span_loss, token_loss
from .configuration import DistilBertConfig

__all__ = ["DistilBertConfig", "DistilBertForMaskedLM", "DistilBertForMultipleChoice",
           "DistilBertForQuestionAnswering", "DistilBertForSequenceClassification",
           "DistilBertForTokenClassification", "DistilBertModel", "DistilBertPreTrainedModel"]


def sinusoidal_table(n_pos: int, dim: int) -> torch.Tensor:
    """The fixed sin/cos position table (``sinusoidal_pos_embds=True``): even columns sin, odd cos."""
    position = torch.arange(n_pos, dtype=torch.float64)[:, None]
    rate = torch.pow(10000.0, 2 * (torch.arange(dim) // 2) / dim).to(torch.float64)
    angles = position / rate  # (n_pos, dim)
    table = torch.empty(n_pos, dim, dtype=torch.float64)
    table[:, 0::2], table[:, 1::2] = torch.sin(angles[:, 0::2]), torch.cos(angles[:, 1::2])
    return table.float()


class Embeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.dim, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.dim)
        self.LayerNorm = nn.LayerNorm(config.dim, eps=1e-12)
        self.dropout = nn.Dropout(config.dropout)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings)[None], persistent=False)

    def forward(self, input_ids=None, inputs_embeds=None, position_ids=None):
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        if position_ids is None:
            position_ids = self.position_ids[:, :inputs_embeds.shape[1]]
        return self.dropout(self.LayerNorm(inputs_embeds + self.position_embeddings(position_ids)))


class DistilBertSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_heads = config.n_heads
        self.q_lin = nn.Linear(config.dim, config.dim)
        self.k_lin = nn.Linear(config.dim, config.dim)
        self.v_lin = nn.Linear(config.dim, config.dim)
        self.out_lin = nn.Linear(config.dim, config.dim)
        self.dropout = nn.Dropout(config.attention_dropout)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        query = split_heads(self.q_lin(hidden_states), self.n_heads)  # (B, H, T, D)
        key = split_heads(self.k_lin(hidden_states), self.n_heads)
        value = split_heads(self.v_lin(hidden_states), self.n_heads)
        eager = prefer_eager(hidden_states.shape[1], hidden_states.device)
        context, weights = attention(query, key, value, mask, dropout=self.dropout.p if self.training else 0.0,
                                     output_attentions=output_attentions, eager=eager)
        return self.out_lin(merge_heads(context)), weights  # (B, T, dim)


class FFN(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dropout = nn.Dropout(config.dropout)
        self.lin1 = nn.Linear(config.dim, config.hidden_dim)
        self.lin2 = nn.Linear(config.hidden_dim, config.dim)
        self.activation = get_activation(config.activation)

    def forward(self, x):
        return self.dropout(self.lin2(self.activation(self.lin1(x))))


class TransformerBlock(nn.Module):
    """Post-norm block: attention → add & ``sa_layer_norm`` → FFN → add & ``output_layer_norm``."""

    def __init__(self, config):
        super().__init__()
        self.attention = DistilBertSelfAttention(config)
        self.sa_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)
        self.ffn = FFN(config)
        self.output_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        attended, weights = self.attention(hidden_states, mask, output_attentions)
        attended = self.sa_layer_norm(attended + hidden_states)
        return self.output_layer_norm(self.ffn(attended) + attended), weights


class Transformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([TransformerBlock(config) for _ in range(config.n_layers)])
        self.gradient_checkpointing = False

    def forward(self, hidden_states, mask=None, output_attentions=False, output_hidden_states=False):
        return run_layers(self.layer, hidden_states, mask, output_attentions, output_hidden_states,
                          checkpointed=self.gradient_checkpointing and self.training)


class DistilBertPreTrainedModel(PreTrainedModel):
    config_class = DistilBertConfig
    base_model_prefix = "distilbert"
    main_input_name = "input_ids"
    _keys_to_ignore_on_load_unexpected = (r"position_ids$",)

    def _init_weights(self, module: nn.Module) -> None:
        if init_dense_and_norm(module, self.config.initializer_range, embeddings=True):
            return
        if isinstance(module, Embeddings) and self.config.sinusoidal_pos_embds:
            # Fixed sinusoids replace the random draw the position table got on its own visit.
            with torch.no_grad():
                module.position_embeddings.weight.copy_(sinusoidal_table(*module.position_embeddings.weight.shape))


class DistilBertModel(DistilBertPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.embeddings = Embeddings(config)
        self.transformer = Transformer(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def get_position_embeddings(self) -> nn.Embedding:
        return self.embeddings.position_embeddings

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, position_ids=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        _check_inputs(self.config, input_ids, inputs_embeds, attention_mask, position_ids)
        embeddings = self.embeddings(input_ids, inputs_embeds, position_ids)
        mask = None if attention_mask is None or bool(attention_mask.all()) else padding_mask(attention_mask,
                                                                                              embeddings.dtype)
        last, hidden, weights = self.transformer(embeddings, mask, output_attentions, output_hidden_states)
        return BaseModelOutput(last_hidden_state=last, hidden_states=hidden, attentions=weights)


def _check_inputs(config, input_ids, inputs_embeds, attention_mask, position_ids) -> None:
    if (input_ids is None) == (inputs_embeds is None):
        raise InvalidInputError("DistilBertModel: pass exactly one of input_ids or inputs_embeds.")
    shape = tuple(input_ids.shape if input_ids is not None else inputs_embeds.shape[:-1])
    if len(shape) != 2:
        raise InvalidInputError(f"DistilBertModel: input_ids must be (batch, sequence); got shape {shape}.")
    if attention_mask is not None and tuple(attention_mask.shape) != shape:
        raise InvalidInputError(
            f"DistilBertModel: attention_mask has shape {tuple(attention_mask.shape)} but input_ids has {shape}."
        )
    if position_ids is None and shape[1] > config.max_position_embeddings:
        raise InvalidInputError(
            f"DistilBertModel: the input has {shape[1]} tokens but max_position_embeddings="
            f"{config.max_position_embeddings}. Tokenize with truncation=True (max_length="
            f"{config.max_position_embeddings}), or split long texts with stride/return_overflowing_tokens."
        )


class _DistilBertHead(DistilBertPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.distilbert = DistilBertModel(config)
        self.build_head(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.distilbert.get_input_embeddings()

    def encode(self, input_ids, attention_mask, inputs_embeds, position_ids, output_attentions,
               output_hidden_states):
        return self.distilbert(input_ids, attention_mask, inputs_embeds, position_ids, output_attentions,
                               output_hidden_states, return_dict=True)


class DistilBertForMaskedLM(_DistilBertHead):
    def build_head(self, config) -> None:
        self.activation = get_activation(config.activation)
        self.vocab_transform = nn.Linear(config.dim, config.dim)
        self.vocab_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)
        self.vocab_projector = nn.Linear(config.dim, config.vocab_size)

    def post_init(self) -> None:
        super().post_init()
        self.tie_weights()

    def tie_weights(self) -> None:
        if self.config.tie_word_embeddings:
            self.vocab_projector.weight = self.distilbert.embeddings.word_embeddings.weight

    def get_output_embeddings(self) -> nn.Linear:
        return self.vocab_projector

    def _load_weights(self, state_dict, dtype, ignore_mismatched):
        report = super()._load_weights(state_dict, dtype, ignore_mismatched)
        self.tie_weights()  # loading assigns new tensors, which unties shared ones
        if self.config.tie_word_embeddings:
            report["missing_keys"] = [k for k in report["missing_keys"] if k != "vocab_projector.weight"]
            report["head_keys"] = [k for k in report["head_keys"] if k != "vocab_projector.weight"]
        return report

    def _state_dict_for_saving(self, state_dict):
        state_dict = super()._state_dict_for_saving(state_dict)
        if self.config.tie_word_embeddings:  # saved once, under the embeddings (as Transformers)
            state_dict.pop("vocab_projector.weight", None)
        return state_dict

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, labels=None, position_ids=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        out = self.encode(input_ids, attention_mask, inputs_embeds, position_ids, output_attentions,
                          output_hidden_states)
        hidden = self.vocab_layer_norm(self.activation(self.vocab_transform(out.last_hidden_state)))
        logits = self.vocab_projector(hidden)  # (B, T, V)
        loss = None if labels is None else token_loss(logits, labels, self.config.vocab_size, "token id")
        return MaskedLMOutput(loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)


class DistilBertForSequenceClassification(_DistilBertHead):
    """First token → ``pre_classifier`` → ReLU → dropout → ``classifier``."""

    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.classifier = nn.Linear(config.dim, config.num_labels)
        self.dropout = nn.Dropout(config.seq_classif_dropout)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, labels=None, position_ids=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        out = self.encode(input_ids, attention_mask, inputs_embeds, position_ids, output_attentions,
                          output_hidden_states)
        pooled = self.dropout(torch.relu(self.pre_classifier(out.last_hidden_state[:, 0])))
        logits = self.classifier(pooled)  # (B, num_labels)
        loss = None if labels is None else classification_loss(logits, labels, self.config)
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                        attentions=out.attentions)


class DistilBertForTokenClassification(_DistilBertHead):
    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.dim, config.num_labels)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, labels=None, position_ids=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        out = self.encode(input_ids, attention_mask, inputs_embeds, position_ids, output_attentions,
                          output_hidden_states)
        logits = self.classifier(self.dropout(out.last_hidden_state))  # (B, T, num_labels)
        loss = None if labels is None else token_loss(logits, labels, self.config.num_labels, "label")
        return TokenClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                     attentions=out.attentions)


class DistilBertForQuestionAnswering(_DistilBertHead):
    def build_head(self, config) -> None:
        if config.num_labels != 2:
            raise ConfigError(f"DistilBertForQuestionAnswering needs num_labels=2 (start, end), got {config.num_labels}.")
        self.qa_outputs = nn.Linear(config.dim, config.num_labels)
        self.dropout = nn.Dropout(config.qa_dropout)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, start_positions=None,
                end_positions=None, position_ids=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):
        out = self.encode(input_ids, attention_mask, inputs_embeds, position_ids, output_attentions,
                          output_hidden_states)
        logits = self.qa_outputs(self.dropout(out.last_hidden_state))  # (B, T, 2)
        start_logits, end_logits = (part.squeeze(-1).contiguous() for part in logits.split(1, dim=-1))
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start_logits, end_logits, start_positions, end_positions)
        return QuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                                            hidden_states=out.hidden_states, attentions=out.attentions)


class DistilBertForMultipleChoice(_DistilBertHead):
    def build_head(self, config) -> None:
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.classifier = nn.Linear(config.dim, 1)
        self.dropout = nn.Dropout(config.seq_classif_dropout)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, labels=None, position_ids=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        num_choices = (input_ids if input_ids is not None else inputs_embeds).shape[1]
        out = self.encode(flatten_choices("input_ids", input_ids), flatten_choices("attention_mask", attention_mask),
                          flatten_choices("inputs_embeds", inputs_embeds, trailing=1),
                          flatten_choices("position_ids", position_ids), output_attentions, output_hidden_states)
        pooled = self.dropout(torch.relu(self.pre_classifier(out.last_hidden_state[:, 0])))
        logits = self.classifier(pooled).view(-1, num_choices)  # (B, C)
        loss = None
        if labels is not None:
            loss = token_loss(logits[:, None], labels.reshape(-1, 1), num_choices, "choice index")
        return MultipleChoiceModelOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                         attentions=out.attentions)

