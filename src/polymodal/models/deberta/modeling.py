"""DeBERTa's encoder and task heads, with Transformers' parameter names.

A post-norm block like BERT's with the disentangled attention of ``attention.py``. Absolute
positions are added to the input only when ``position_biased_input`` is set; the relative
table lives in ``encoder.rel_embeddings``. Padding is zeroed after the embedding LayerNorm and a
pair of tokens is masked when either is padding (see ``attention.pairwise_mask``).

The heads are BERT's (``models/bert/heads.py``) with DeBERTa's pieces swapped in: the
``ContextPooler`` (dropout → dense → activation on the first token) lives in the head under
``pooler.``; the masked-LM head is BERT's ``cls.predictions`` (``legacy=True``) or
``lm_predictions.lm_head`` scoring against the word embeddings (``legacy=False``).
DeBERTa-v2 (``models/deberta_v2``) reuses everything here except the attention projections and
the encoder's extras.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import InvalidInputError
from ...core.outputs import BaseModelOutput, model_forward
from ...nn.activations import get_activation
from ...nn.checkpointing import run_layer
from ...nn.init import init_norm
from ..bert.heads import (
    BertForMaskedLM,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)
from ..bert.modeling import BertPreTrainedModel, _check_text_inputs
from .attention import DebertaLayerNorm, attend, pairwise_mask, position_bias, relative_positions
from .configuration import DebertaConfig

__all__ = ["DebertaConfig", "DebertaForMaskedLM", "DebertaForQuestionAnswering", "DebertaForSequenceClassification",
           "DebertaForTokenClassification", "DebertaModel", "DebertaPreTrainedModel"]


def split(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, T, H*D) → (B, H, T, D)."""
    return x.view(*x.shape[:-1], heads, -1).transpose(-3, -2)


class DebertaEmbeddings(nn.Module):
    def __init__(self, config, norm=DebertaLayerNorm):
        super().__init__()
        width = config.embedding_size or config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, width, padding_idx=config.pad_token_id)
        self.position_biased_input = config.position_biased_input
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, width) \
            if config.position_biased_input else None
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, width) if config.type_vocab_size > 0 else None
        self.embed_proj = nn.Linear(width, config.hidden_size, bias=False) if width != config.hidden_size else None
        self.LayerNorm = norm(config.hidden_size, config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings)[None], persistent=False)

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, mask=None, inputs_embeds=None):
        embeddings = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        if self.position_embeddings is not None:
            if position_ids is None:
                position_ids = self.position_ids[:, :embeddings.shape[1]]
            embeddings = embeddings + self.position_embeddings(position_ids.long())
        if self.token_type_embeddings is not None:
            types = self.token_type_embeddings.weight[0] if token_type_ids is None \
                else self.token_type_embeddings(token_type_ids)
            embeddings = embeddings + types
        if self.embed_proj is not None:
            embeddings = self.embed_proj(embeddings)
        embeddings = self.LayerNorm(embeddings)
        if mask is not None:  # padding positions start from zero
            embeddings = embeddings * mask[..., None].to(embeddings.dtype)
        return self.dropout(embeddings)


class DisentangledSelfAttention(nn.Module):
    """v1: one bias-free ``in_proj`` (q, k, v interleaved per head) plus ``q_bias``/``v_bias``."""

    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = heads = config.num_attention_heads
        self.head_dim = config.hidden_size // heads
        size = heads * self.head_dim
        self.in_proj = nn.Linear(config.hidden_size, size * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(size))
        self.v_bias = nn.Parameter(torch.zeros(size))
        self.pos_att_type = list(config.pos_att_type or [])
        self.relative_attention = config.relative_attention
        self.talking_head = config.talking_head
        if self.talking_head:
            self.head_logits_proj = nn.Linear(heads, heads, bias=False)
            self.head_weights_proj = nn.Linear(heads, heads, bias=False)
        if self.relative_attention:
            self.max_relative_positions = config.relative_span
            self.pos_dropout = nn.Dropout(config.hidden_dropout_prob)
            if "c2p" in self.pos_att_type:
                self.pos_proj = nn.Linear(config.hidden_size, size, bias=False)
            if "p2c" in self.pos_att_type:
                self.pos_q_proj = nn.Linear(config.hidden_size, size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.scale = (self.head_dim * (1 + len(self.pos_att_type))) ** 0.5

    def forward(self, hidden_states, mask, relative, rel_embeddings, output_attentions=False):
        heads, dim = self.num_attention_heads, self.head_dim
        qkv = self.in_proj(hidden_states).view(*hidden_states.shape[:-1], heads, 3, dim)  # per head: q, k, v
        query = (qkv[..., 0, :] + self.q_bias.view(heads, dim)).transpose(1, 2)  # (B, H, T, D)
        key = qkv[..., 1, :].transpose(1, 2)
        value = (qkv[..., 2, :] + self.v_bias.view(heads, dim)).transpose(1, 2)
        bias = 0.0
        if self.relative_attention:
            length = hidden_states.shape[1]
            span = min(length, self.max_relative_positions)
            table = self.pos_dropout(rel_embeddings)[self.max_relative_positions - span:
                                                     self.max_relative_positions + span]  # (2S, hidden)
            pos_key = split(self.pos_proj(table), heads) if "c2p" in self.pos_att_type else None
            pos_query = split(self.pos_q_proj(table), heads) if "p2c" in self.pos_att_type else None
            bias = position_bias(query, key, pos_key, pos_query, relative, span, self.scale)
        context, weights = attend(query, key, value, bias, mask, self.scale,
                                  self.dropout.p if self.training else 0.0, output_attentions,
                                  self.head_logits_proj if self.talking_head else None,
                                  self.head_weights_proj if self.talking_head else None)
        return context.transpose(1, 2).reshape(hidden_states.shape[:-1] + (-1,)), weights


class DebertaSelfOutput(nn.Module):
    def __init__(self, config, norm=DebertaLayerNorm, in_size=None):
        super().__init__()
        self.dense = nn.Linear(in_size or config.hidden_size, config.hidden_size)
        self.LayerNorm = norm(config.hidden_size, config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, residual):
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class DebertaAttention(nn.Module):
    def __init__(self, config, self_attention, norm):
        super().__init__()
        self.self = self_attention
        self.output = DebertaSelfOutput(config, norm, in_size=self_attention.num_attention_heads
                                        * self_attention.head_dim)

    def forward(self, hidden_states, mask, relative, rel_embeddings, output_attentions=False):
        context, weights = self.self(hidden_states, mask, relative, rel_embeddings, output_attentions)
        return self.output(context, hidden_states), weights


class DebertaIntermediate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)

    def forward(self, hidden_states):
        return self.intermediate_act_fn(self.dense(hidden_states))


class DebertaLayer(nn.Module):
    def __init__(self, config, attention_class=DisentangledSelfAttention, norm=DebertaLayerNorm):
        super().__init__()
        self.attention = DebertaAttention(config, attention_class(config), norm)
        self.intermediate = DebertaIntermediate(config)
        self.output = DebertaSelfOutput(config, norm, in_size=config.intermediate_size)

    def forward(self, hidden_states, mask, relative, rel_embeddings, output_attentions=False):
        attended, weights = self.attention(hidden_states, mask, relative, rel_embeddings, output_attentions)
        return self.output(self.intermediate(attended), attended), weights


class DebertaEncoder(nn.Module):
    """The layers plus the relative-distance table they share."""

    layer_class = DebertaLayer

    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([self.layer_class(config) for _ in range(config.num_hidden_layers)])
        self.relative_attention = config.relative_attention
        if self.relative_attention:
            self.rel_embeddings = nn.Embedding(self.table_size(config), config.hidden_size)
        self.gradient_checkpointing = False

    @staticmethod
    def table_size(config) -> int:
        return config.relative_span * 2

    def relative(self, length: int, device) -> torch.Tensor | None:
        return relative_positions(length, device) if self.relative_attention else None

    def rel_table(self) -> torch.Tensor | None:
        return self.rel_embeddings.weight if self.relative_attention else None

    def after_layer(self, index, output, embeddings, attention_mask):
        return output

    def forward(self, hidden_states, attention_mask, output_attentions=False, output_hidden_states=False):
        mask = pairwise_mask(attention_mask, hidden_states.dtype)
        relative = self.relative(hidden_states.shape[1], hidden_states.device)
        table = self.rel_table()
        embeddings = hidden_states
        all_hidden = [hidden_states] if output_hidden_states else None
        all_weights = [] if output_attentions else None
        for index, layer in enumerate(self.layer):
            hidden_states, weights = run_layer(layer, hidden_states, mask, relative, table, output_attentions,
                                               checkpointed=self.gradient_checkpointing and self.training)
            hidden_states = self.after_layer(index, hidden_states, embeddings, attention_mask)
            if output_hidden_states:
                all_hidden.append(hidden_states)
            if output_attentions:
                all_weights.append(weights)
        return hidden_states, all_hidden and tuple(all_hidden), all_weights and tuple(all_weights)


class DebertaPreTrainedModel(BertPreTrainedModel):
    config_class = DebertaConfig
    base_model_prefix = "deberta"
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"position_embeddings", r"^cls\.", r"^lm_predictions\.",
                                          r"^pooler\.", r"^classifier\.", r"^qa_outputs\.", r"mask_predictions")

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, DebertaLayerNorm):
            init_norm(module)


class DebertaModel(DebertaPreTrainedModel):
    """The bare encoder: ``last_hidden_state`` (DeBERTa has no pooler in the base model)."""

    encoder_class = DebertaEncoder
    norm = DebertaLayerNorm

    def __init__(self, config, add_pooling_layer: bool = False):
        super().__init__(config)
        self.embeddings = DebertaEmbeddings(config, self.norm)
        self.encoder = self.encoder_class(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def _check_length(self, length: int) -> None:
        if self.config.position_biased_input and length > self.config.max_position_embeddings:
            raise InvalidInputError(
                f"{type(self).__name__}: the input has {length} tokens but max_position_embeddings="
                f"{self.config.max_position_embeddings}. Tokenize with truncation=True "
                f"(max_length={self.config.max_position_embeddings}), or split long texts with "
                "stride/return_overflowing_tokens."
            )

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        _check_text_inputs(input_ids, inputs_embeds, attention_mask, type(self).__name__)
        if position_ids is None:
            self._check_length((input_ids if input_ids is not None else inputs_embeds).shape[1])
        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, attention_mask, inputs_embeds)
        last, hidden, weights = self.encoder(embeddings, attention_mask, output_attentions, output_hidden_states)
        return BaseModelOutput(last_hidden_state=last, hidden_states=hidden, attentions=weights)


# --------------------------------------------------------------------------- heads
class ContextPooler(nn.Module):
    """First token → dropout → dense → ``pooler_hidden_act``."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.pooler_hidden_size, config.pooler_hidden_size)
        self.dropout = nn.Dropout(config.pooler_dropout)
        self.activation = get_activation(config.pooler_hidden_act)

    def forward(self, hidden_states):
        return self.activation(self.dense(self.dropout(hidden_states[:, 0])))


def _cls_dropout(config) -> float:
    return config.hidden_dropout_prob if config.cls_dropout is None else config.cls_dropout


def deberta_sequence_loss(logits, labels, config):
    """DeBERTa's own rule when ``problem_type`` is unset: class ids below 0 are skipped, float
    ``(B, num_labels)`` targets are soft labels; otherwise the shared rule."""
    from ...nn.classification_loss import classification_loss

    if config.problem_type is not None or config.num_labels == 1:
        return classification_loss(logits, labels, config)
    labels = labels.to(logits.device)
    if labels.dim() == 1 or labels.shape[-1] == 1:
        labels = labels.reshape(-1).long()
        keep = labels >= 0
        bad = labels[keep & (labels >= config.num_labels)]
        if bad.numel():
            raise InvalidInputError(
                f"labels contain class id {int(bad[0])}, but the model has num_labels={config.num_labels}; every "
                f"label must be in [0, {config.num_labels - 1}] (negative ids are skipped)."
            )
        if not keep.any():
            return logits.new_zeros(())
        return F.cross_entropy(logits[keep].float(), labels[keep])
    if labels.shape != logits.shape:
        raise InvalidInputError(f"soft labels must have the logits' shape {tuple(logits.shape)}, got "
                                f"{tuple(labels.shape)}.")
    return -(F.log_softmax(logits, -1) * labels).sum(-1).mean()


class _Deberta:
    config_class = DebertaConfig
    base_model_class = DebertaModel
    base_model_prefix = "deberta"
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"position_embeddings", r"mask_predictions")


class DebertaLMPredictionHead(nn.Module):
    """``legacy=False``: dense → act → LayerNorm, then scores against the word embeddings plus a bias."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden_states, word_embeddings):
        hidden_states = self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))
        return torch.matmul(hidden_states, word_embeddings.weight.t()) + self.bias


class DebertaOnlyMLMHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.lm_head = DebertaLMPredictionHead(config)

    def forward(self, sequence_output, word_embeddings):
        return self.lm_head(sequence_output, word_embeddings)


class DebertaForMaskedLM(_Deberta, BertForMaskedLM):
    """``legacy=True`` (the default): BERT's ``cls.predictions`` head at ``embedding_size`` with a
    tied decoder; ``legacy=False``: ``lm_predictions.lm_head`` over the word embeddings."""

    def build_head(self, config) -> None:
        if config.legacy:
            from ..bert.heads import BertOnlyMLMHead

            width = config.embedding_size or config.hidden_size
            self.cls = BertOnlyMLMHead(config)
            if width != config.hidden_size:  # transform down to the embedding width, as Transformers does
                self.cls.predictions.transform.dense = nn.Linear(config.hidden_size, width)
                self.cls.predictions.transform.LayerNorm = nn.LayerNorm(width, eps=config.layer_norm_eps)
                self.cls.predictions.decoder = nn.Linear(width, config.vocab_size)
        else:
            self.lm_predictions = DebertaOnlyMLMHead(config)

    def _tied_pairs(self):
        return super()._tied_pairs() if self.config.legacy else []

    def get_output_embeddings(self):
        return self.cls.predictions.decoder if self.config.legacy else self.lm_predictions.lm_head.dense

    def lm_logits(self, sequence_output):
        if self.config.legacy:
            return self.cls(sequence_output)
        return self.lm_predictions(sequence_output, self.encoder_model.embeddings.word_embeddings)


class DebertaForSequenceClassification(_Deberta, BertForSequenceClassification):
    with_pooler = False

    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.pooler = ContextPooler(config)
        self.classifier = nn.Linear(config.pooler_hidden_size, config.num_labels)
        self.dropout = nn.Dropout(_cls_dropout(config))

    def head_logits(self, outputs):
        return self.classifier(self.dropout(self.pooler(outputs.last_hidden_state)))

    def sequence_loss(self, logits, labels):
        return deberta_sequence_loss(logits, labels, self.config)


class DebertaForTokenClassification(_Deberta, BertForTokenClassification):
    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)


class DebertaForQuestionAnswering(_Deberta, BertForQuestionAnswering):
    pass


class DebertaMultipleChoiceMixin:
    """Choices scored through the ContextPooler in the head. Transformers has this head for
    DeBERTa-v2 only; v1 gets none, so checkpoints stay interchangeable."""

    with_pooler = False

    def build_head(self, config) -> None:
        self.pooler = ContextPooler(config)
        self.classifier = nn.Linear(config.pooler_hidden_size, 1)
        self.dropout = nn.Dropout(_cls_dropout(config))

    def choice_logits(self, outputs):
        return self.classifier(self.dropout(self.pooler(outputs.last_hidden_state)))

