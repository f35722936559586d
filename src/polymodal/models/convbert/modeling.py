"""ConvBERT's encoder and task heads, with Transformers' parameter names.

The block is BERT's post-norm block; only the self-attention differs ("mixed attention"):
``num_attention_heads // head_ratio`` ordinary attention heads of width ``hidden / heads / 2``
and as many span-based dynamic convolution heads. A convolution head predicts, per token, a
softmax kernel over the ``conv_kernel_size`` neighbours from ``query * separable_conv(x)``
and applies it to ``conv_out_layer(x)`` at those neighbours. The outputs of both kinds are
concatenated (attention heads first). As in the reference the convolution ignores the
attention mask (padding neighbours take part).

Embeddings are BERT's at ``embedding_size`` (projected up by ``embeddings_project`` when it
differs); the feed-forward may use grouped linears (``num_groups``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...core.outputs import BaseModelOutput, model_forward
from ...nn.activations import get_activation
from ...nn.attention import attention, padding_mask, split_heads
from ...nn.checkpointing import run_layers
from ..bert.heads import (
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)
from ..bert.modeling import BertEmbeddings, BertModel, BertPreTrainedModel, BertSelfOutput, _check_text_inputs
from .configuration import ConvBertConfig

__all__ = ["ConvBertConfig", "ConvBertForMaskedLM", "ConvBertForMultipleChoice", "ConvBertForQuestionAnswering",
           "ConvBertForSequenceClassification", "ConvBertForTokenClassification", "ConvBertModel",
           "ConvBertPreTrainedModel"]


class ConvBertEmbeddings(BertEmbeddings):
    """BERT's embeddings at width ``embedding_size``."""

    def __init__(self, config):
        super().__init__(config, width=config.embedding_size)


class SeparableConv1D(nn.Module):
    """Depthwise then pointwise convolution over time, one bias at the end."""

    def __init__(self, input_filters: int, output_filters: int, kernel_size: int):
        super().__init__()
        self.depthwise = nn.Conv1d(input_filters, input_filters, kernel_size, groups=input_filters,
                                   padding=kernel_size // 2, bias=False)
        self.pointwise = nn.Conv1d(input_filters, output_filters, kernel_size=1, bias=False)
        self.bias = nn.Parameter(torch.zeros(output_filters, 1))

    def forward(self, hidden_states):  # (B, C, T)
        return self.pointwise(self.depthwise(hidden_states)) + self.bias


class ConvBertSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = heads = config.conv_heads
        self.attention_head_size = (config.hidden_size // heads) // 2
        self.all_head_size = size = heads * self.attention_head_size
        self.conv_kernel_size = config.conv_kernel_size
        self.query = nn.Linear(config.hidden_size, size)
        self.key = nn.Linear(config.hidden_size, size)
        self.value = nn.Linear(config.hidden_size, size)
        self.key_conv_attn_layer = SeparableConv1D(config.hidden_size, size, self.conv_kernel_size)
        self.conv_kernel_layer = nn.Linear(size, heads * self.conv_kernel_size)
        self.conv_out_layer = nn.Linear(config.hidden_size, size)
        self.dropout_p = config.attention_probs_dropout_prob

    def dynamic_convolution(self, hidden_states, mixed_query):
        """Each head mixes its token's ``conv_kernel_size`` neighbours with a kernel predicted from the token."""
        batch, length, _ = hidden_states.shape
        heads, width, span = self.num_attention_heads, self.attention_head_size, self.conv_kernel_size
        key_conv = self.key_conv_attn_layer(hidden_states.transpose(1, 2)).transpose(1, 2)  # (B, T, H*D)
        kernel = self.conv_kernel_layer(key_conv * mixed_query).view(batch, length, heads, span).softmax(-1)
        values = self.conv_out_layer(hidden_states)  # (B, T, H*D)
        pad = (span - 1) // 2
        windows = F.pad(values, (0, 0, pad, pad)).unfold(1, span, 1)  # (B, T, H*D, K): neighbours t-pad … t+pad
        windows = windows.reshape(batch, length, heads, width, span)
        return torch.einsum("bthdk,bthk->bthd", windows, kernel)  # (B, T, H, D)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        heads = self.num_attention_heads
        mixed_query = self.query(hidden_states)
        context, weights = attention(split_heads(mixed_query, heads), split_heads(self.key(hidden_states), heads),
                                     split_heads(self.value(hidden_states), heads), mask,
                                     dropout=self.dropout_p if self.training else 0.0,
                                     output_attentions=output_attentions)
        conv = self.dynamic_convolution(hidden_states, mixed_query)
        batch, length = hidden_states.shape[:2]
        mixed = torch.cat([context.transpose(1, 2), conv], dim=2)  # (B, T, 2H, D): attention heads first
        return mixed.reshape(batch, length, -1), weights


class GroupedLinearLayer(nn.Module):
    """``num_groups`` independent linears over equal slices of the features."""

    def __init__(self, input_size: int, output_size: int, num_groups: int):
        super().__init__()
        self.num_groups = num_groups
        self.weight = nn.Parameter(torch.empty(num_groups, input_size // num_groups, output_size // num_groups))
        self.bias = nn.Parameter(torch.zeros(output_size))

    def forward(self, hidden_states):
        batch, length, _ = hidden_states.shape
        x = hidden_states.reshape(batch * length, self.num_groups, -1).transpose(0, 1)  # (G, B*T, in/G)
        return torch.bmm(x, self.weight).transpose(0, 1).reshape(batch, length, -1) + self.bias


def _dense(config, size_in: int, size_out: int) -> nn.Module:
    if config.num_groups == 1:
        return nn.Linear(size_in, size_out)
    return GroupedLinearLayer(size_in, size_out, config.num_groups)


class ConvBertAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self = ConvBertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        context, weights = self.self(hidden_states, mask, output_attentions)
        return self.output(context, hidden_states), weights


class ConvBertIntermediate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = _dense(config, config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)

    def forward(self, hidden_states):
        return self.intermediate_act_fn(self.dense(hidden_states))


class ConvBertOutput(BertSelfOutput):
    def __init__(self, config):
        super().__init__(config)
        self.dense = _dense(config, config.intermediate_size, config.hidden_size)


class ConvBertLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = ConvBertAttention(config)
        self.intermediate = ConvBertIntermediate(config)
        self.output = ConvBertOutput(config)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        attended, weights = self.attention(hidden_states, mask, output_attentions)
        return self.output(self.intermediate(attended), attended), weights


class ConvBertEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([ConvBertLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(self, hidden_states, mask=None, output_attentions=False, output_hidden_states=False):
        return run_layers(self.layer, hidden_states, mask, output_attentions, output_hidden_states,
                          checkpointed=self.gradient_checkpointing and self.training)


class ConvBertPreTrainedModel(BertPreTrainedModel):
    config_class = ConvBertConfig
    base_model_prefix = "convbert"
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"token_type_ids$", r"^generator_", r"^classifier\.",
                                          r"^qa_outputs\.", r"^sequence_summary\.")

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        std = self.config.initializer_range
        if isinstance(module, SeparableConv1D):
            nn.init.normal_(module.depthwise.weight, std=std)
            nn.init.normal_(module.pointwise.weight, std=std)
            nn.init.zeros_(module.bias)
        elif isinstance(module, GroupedLinearLayer):
            nn.init.normal_(module.weight, std=std)
            nn.init.zeros_(module.bias)


class ConvBertModel(ConvBertPreTrainedModel):
    """The bare encoder: ``last_hidden_state`` (no pooler)."""

    padding_positions = False

    def __init__(self, config, add_pooling_layer: bool = False):
        super().__init__(config)
        self.embeddings = ConvBertEmbeddings(config)
        if config.embedding_size != config.hidden_size:
            self.embeddings_project = nn.Linear(config.embedding_size, config.hidden_size)
        self.encoder = ConvBertEncoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    _check_length = BertModel._check_length

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        _check_text_inputs(input_ids, inputs_embeds, attention_mask, type(self).__name__)
        if position_ids is None:
            self._check_length((input_ids if input_ids is not None else inputs_embeds).shape[1])
        hidden = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        if hasattr(self, "embeddings_project"):
            hidden = self.embeddings_project(hidden)
        mask = None if attention_mask is None or bool(attention_mask.all()) else padding_mask(attention_mask,
                                                                                              hidden.dtype)
        last, states, weights = self.encoder(hidden, mask, output_attentions, output_hidden_states)
        return BaseModelOutput(last_hidden_state=last, hidden_states=states, attentions=weights)


# --------------------------------------------------------------------------- heads
class _ConvBert:
    config_class = ConvBertConfig
    base_model_class = ConvBertModel
    base_model_prefix = "convbert"
    with_pooler = False


class ConvBertGeneratorPredictions(nn.Module):
    """hidden → ``embedding_size`` → GELU → LayerNorm (the ELECTRA-style generator head)."""

    def __init__(self, config):
        super().__init__()
        self.activation = get_activation("gelu")
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)

    def forward(self, hidden_states):
        return self.LayerNorm(self.activation(self.dense(hidden_states)))


class ConvBertForMaskedLM(_ConvBert, BertForMaskedLM):
    tied_weights = {"generator_lm_head.weight": "{prefix}.embeddings.word_embeddings.weight"}

    def build_head(self, config) -> None:
        self.generator_predictions = ConvBertGeneratorPredictions(config)
        self.generator_lm_head = nn.Linear(config.embedding_size, config.vocab_size)

    def get_output_embeddings(self) -> nn.Linear:
        return self.generator_lm_head

    def lm_logits(self, sequence_output):
        return self.generator_lm_head(self.generator_predictions(sequence_output))


class ConvBertClassificationHead(nn.Module):
    """First token → dropout → dense → ``hidden_act`` → dropout → out_proj."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        rate = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(rate)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)
        self.activation = get_activation(config.hidden_act)

    def forward(self, hidden_states):
        x = self.dropout(hidden_states[:, 0])
        return self.out_proj(self.dropout(self.activation(self.dense(x))))


class ConvBertForSequenceClassification(_ConvBert, BertForSequenceClassification):
    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.classifier = ConvBertClassificationHead(config)

    def head_logits(self, outputs):
        return self.classifier(outputs.last_hidden_state)


class ConvBertSequenceSummary(nn.Module):
    """XLNet-style summary read from ``summary_*`` config keys; ConvBERT's defaults take the *last*
    position with no projection (so with right padding a padding token: the reference's choice)."""

    def __init__(self, config):
        super().__init__()
        self.summary_type = getattr(config, "summary_type", "last")
        if self.summary_type not in ("last", "first", "mean"):
            from ...core.errors import ConfigError

            raise ConfigError(f"summary_type={self.summary_type!r}: polymodal's ConvBERT knows 'last', 'first' and "
                              "'mean'.")
        self.summary = nn.Identity()
        if getattr(config, "summary_use_proj", False):
            to_labels = getattr(config, "summary_proj_to_labels", False) and config.num_labels > 0
            self.summary = nn.Linear(config.hidden_size, config.num_labels if to_labels else config.hidden_size)
        activation = getattr(config, "summary_activation", None)
        self.activation = get_activation(activation) if activation else nn.Identity()
        self.first_dropout = nn.Dropout(getattr(config, "summary_first_dropout", 0.0) or 0.0)
        self.last_dropout = nn.Dropout(getattr(config, "summary_last_dropout", 0.0) or 0.0)

    def forward(self, hidden_states):
        if self.summary_type == "last":
            output = hidden_states[:, -1]
        elif self.summary_type == "first":
            output = hidden_states[:, 0]
        else:
            output = hidden_states.mean(dim=1)
        return self.last_dropout(self.activation(self.summary(self.first_dropout(output))))


class ConvBertForMultipleChoice(_ConvBert, BertForMultipleChoice):
    def build_head(self, config) -> None:
        self.sequence_summary = ConvBertSequenceSummary(config)
        self.classifier = nn.Linear(config.hidden_size, 1)

    def choice_logits(self, outputs):
        return self.classifier(self.sequence_summary(outputs.last_hidden_state))


class ConvBertForTokenClassification(_ConvBert, BertForTokenClassification):
    pass


class ConvBertForQuestionAnswering(_ConvBert, BertForQuestionAnswering):
    pass
