"""DeBERTa-v2's encoder and task heads on DeBERTa's layers (``models/deberta``).

What v2 changes: separate ``query_proj``/``key_proj``/``value_proj`` (with biases); position
projections ``pos_key_proj``/``pos_query_proj`` or, with ``share_att_key``, the content ones;
a fixed span of relative distances (``position_buckets`` log buckets when set); an optional
LayerNorm over the relative table (``norm_rel_ebd``); an optional convolution over the
embeddings added to the first layer's output (``conv_kernel_size``); ``nn.LayerNorm``
everywhere. Heads as v1's, plus multiple choice.
"""

from __future__ import annotations

import torch
from torch import nn

from ...nn.activations import get_activation
from ..bert.heads import BertForMultipleChoice
from ..deberta.attention import attend, position_bias, relative_positions
from ..deberta.modeling import (
    DebertaEncoder,
    DebertaForMaskedLM,
    DebertaForQuestionAnswering,
    DebertaForSequenceClassification,
    DebertaForTokenClassification,
    DebertaLayer,
    DebertaModel,
    DebertaMultipleChoiceMixin,
    DebertaPreTrainedModel,
    _Deberta,
    split,
)
from .configuration import DebertaV2Config

__all__ = ["DebertaV2Config", "DebertaV2ForMaskedLM", "DebertaV2ForMultipleChoice", "DebertaV2ForQuestionAnswering",
           "DebertaV2ForSequenceClassification", "DebertaV2ForTokenClassification", "DebertaV2Model",
           "DebertaV2PreTrainedModel"]


def _span(config) -> int:
    """How many distances each side the relative table holds."""
    return config.position_buckets if config.position_buckets > 0 else config.relative_span


class DebertaV2SelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = heads = config.num_attention_heads
        self.head_dim = config.attention_head_size or config.hidden_size // heads
        size = heads * self.head_dim
        self.query_proj = nn.Linear(config.hidden_size, size)
        self.key_proj = nn.Linear(config.hidden_size, size)
        self.value_proj = nn.Linear(config.hidden_size, size)
        self.share_att_key = config.share_att_key
        self.pos_att_type = list(config.pos_att_type or [])
        self.relative_attention = config.relative_attention
        if self.relative_attention:
            self.span = _span(config)
            self.pos_dropout = nn.Dropout(config.hidden_dropout_prob)
            if not self.share_att_key:
                if "c2p" in self.pos_att_type:
                    self.pos_key_proj = nn.Linear(config.hidden_size, size)
                if "p2c" in self.pos_att_type:
                    self.pos_query_proj = nn.Linear(config.hidden_size, size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.scale = (self.head_dim * (1 + len(self.pos_att_type))) ** 0.5

    def _position_projections(self, table):
        heads = self.num_attention_heads
        if self.share_att_key:
            key_proj, query_proj = self.key_proj, self.query_proj
        else:
            key_proj, query_proj = getattr(self, "pos_key_proj", None), getattr(self, "pos_query_proj", None)
        pos_key = split(key_proj(table), heads) if "c2p" in self.pos_att_type else None
        pos_query = split(query_proj(table), heads) if "p2c" in self.pos_att_type else None
        return pos_key, pos_query

    def forward(self, hidden_states, mask, relative, rel_embeddings, output_attentions=False):
        heads = self.num_attention_heads
        query = split(self.query_proj(hidden_states), heads)  # (B, H, T, D)
        key = split(self.key_proj(hidden_states), heads)
        value = split(self.value_proj(hidden_states), heads)
        bias = 0.0
        if self.relative_attention:
            table = self.pos_dropout(rel_embeddings)[: self.span * 2]  # (2S, hidden)
            pos_key, pos_query = self._position_projections(table)
            bias = position_bias(query, key, pos_key, pos_query, relative, self.span, self.scale)
        context, weights = attend(query, key, value, bias, mask, self.scale, self.dropout.p if self.training else 0.0,
                                  output_attentions)
        return context.transpose(1, 2).reshape(hidden_states.shape[:-1] + (-1,)), weights


def _layer_norm(size, eps):
    return nn.LayerNorm(size, eps=eps)


class DebertaV2Layer(DebertaLayer):
    def __init__(self, config):
        super().__init__(config, DebertaV2SelfAttention, _layer_norm)


class ConvLayer(nn.Module):
    """A convolution over the embeddings, added to the first layer's output and re-normalised."""

    def __init__(self, config):
        super().__init__()
        kernel = config.conv_kernel_size
        self.conv = nn.Conv1d(config.hidden_size, config.hidden_size, kernel, padding=(kernel - 1) // 2,
                              groups=config.conv_groups)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.activation = get_activation(config.conv_act)

    def forward(self, hidden_states, residual, input_mask):
        out = self.conv(hidden_states.transpose(1, 2)).transpose(1, 2)  # (B, T, hidden)
        if input_mask is not None:
            out = out.masked_fill(~input_mask.bool()[..., None], 0)
        output = self.LayerNorm(residual + self.activation(self.dropout(out)))
        return output if input_mask is None else output * input_mask[..., None].to(output.dtype)


class DebertaV2Encoder(DebertaEncoder):
    layer_class = DebertaV2Layer

    def __init__(self, config):
        super().__init__(config)
        self.position_buckets = config.position_buckets
        self.max_relative_positions = config.relative_span
        self.norm_rel_ebd = [part.strip() for part in (config.norm_rel_ebd or "none").lower().split("|")]
        if "layer_norm" in self.norm_rel_ebd:
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.conv = ConvLayer(config) if config.conv_kernel_size > 0 else None

    @staticmethod
    def table_size(config) -> int:
        return _span(config) * 2

    def relative(self, length: int, device) -> torch.Tensor | None:
        if not self.relative_attention:
            return None
        return relative_positions(length, device, self.position_buckets, self.max_relative_positions)

    def rel_table(self):
        table = super().rel_table()
        if table is not None and "layer_norm" in self.norm_rel_ebd:
            table = self.LayerNorm(table)
        return table

    def after_layer(self, index, output, embeddings, attention_mask):
        if index == 0 and self.conv is not None:
            return self.conv(embeddings, output, attention_mask)
        return output


class DebertaV2PreTrainedModel(DebertaPreTrainedModel):
    config_class = DebertaV2Config


class DebertaV2Model(DebertaModel):
    config_class = DebertaV2Config
    encoder_class = DebertaV2Encoder
    norm = staticmethod(_layer_norm)

    def __init__(self, config, add_pooling_layer: bool = False):
        super().__init__(config, add_pooling_layer)


class _V2:
    config_class = DebertaV2Config
    base_model_class = DebertaV2Model


class DebertaV2ForMaskedLM(_V2, DebertaForMaskedLM):
    pass


class DebertaV2ForSequenceClassification(_V2, DebertaForSequenceClassification):
    pass


class DebertaV2ForTokenClassification(_V2, DebertaForTokenClassification):
    pass


class DebertaV2ForQuestionAnswering(_V2, DebertaForQuestionAnswering):
    pass


class DebertaV2ForMultipleChoice(_V2, DebertaMultipleChoiceMixin, _Deberta, BertForMultipleChoice):
    pass
