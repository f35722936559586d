"""One BERT-like text encoder, served as ``BertModel``, ``RobertaModel`` and ``XLMRobertaModel``.

BERT, RoBERTa and XLM-R share the architecture and every parameter name
(``encoder.layer.N.attention.self.query`` …); they differ in one detail, the position ids:
BERT counts ``0, 1, 2 …``, RoBERTa counts from ``pad_token_id + 1`` and gives padding the
padding index (fairseq's convention). That is a class attribute here, not a second encoder.

The encoder is a building block: AltCLIP wraps an ``XLMRobertaModel`` (its config is an
``AltCLIPTextConfig``, which has the same fields), ALIGN a ``BertModel``.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.errors import InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import BaseModelOutputWithPooling, model_forward
from ...nn.activations import get_activation
from ...nn.attention import attention, merge_heads, padding_mask, prefer_eager, split_heads
from ...nn.checkpointing import run_layers
from ...nn.init import init_dense_and_norm
from .configuration import BertConfig, RobertaConfig, XLMRobertaConfig


def roberta_position_ids(input_ids: torch.Tensor, padding_idx: int) -> torch.Tensor:
    """fairseq positions: tokens count up from ``padding_idx + 1``; padding keeps ``padding_idx``."""
    keep = input_ids.ne(padding_idx).int()
    return (torch.cumsum(keep, dim=1) * keep).long() + padding_idx


class BertEmbeddings(nn.Module):
    """Word + position + token-type embeddings, layer-normed; ``width`` (default ``hidden_size``) is
    smaller in families that factorise their embeddings (ALBERT, ConvBERT: ``embedding_size``)."""

    def __init__(self, config, padding_positions: bool = False, width: int | None = None):
        super().__init__()
        width = width or config.hidden_size
        self.padding_positions = padding_positions
        self.padding_idx = config.pad_token_id
        self.word_embeddings = nn.Embedding(config.vocab_size, width, padding_idx=config.pad_token_id)
        position_padding = config.pad_token_id if padding_positions else None
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, width, padding_idx=position_padding)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, width)
        self.LayerNorm = nn.LayerNorm(width, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings)[None], persistent=False)

    def _position_ids(self, input_ids, inputs_embeds) -> torch.Tensor:
        length = (input_ids if input_ids is not None else inputs_embeds[..., 0]).shape[1]
        if not self.padding_positions:
            return self.position_ids[:, :length]
        if input_ids is not None:
            return roberta_position_ids(input_ids, self.padding_idx)
        # Without ids padding cannot be seen: number every position.
        return self.position_ids[:, self.padding_idx + 1: self.padding_idx + 1 + length]

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None) -> torch.Tensor:
        if position_ids is None:
            position_ids = self._position_ids(input_ids, inputs_embeds)
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        if token_type_ids is None:
            # All segment ids are 0: add row 0 of the table instead of gathering a zero index tensor.
            types = self.token_type_embeddings.weight[0]
        else:
            types = self.token_type_embeddings(token_type_ids)
        embeddings = inputs_embeds + types + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_p = config.attention_probs_dropout_prob

    def forward(self, hidden_states, mask=None, output_attentions=False):
        heads = self.num_attention_heads
        query = split_heads(self.query(hidden_states), heads)  # (B, H, T, D)
        key = split_heads(self.key(hidden_states), heads)
        value = split_heads(self.value(hidden_states), heads)
        eager = prefer_eager(hidden_states.shape[1], hidden_states.device)
        context, weights = attention(query, key, value, mask, dropout=self.dropout_p if self.training else 0.0,
                                     output_attentions=output_attentions, eager=eager)
        return merge_heads(context), weights  # (B, T, H*D)


class BertSelfOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, residual):
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        context, weights = self.self(hidden_states, mask, output_attentions)
        return self.output(context, hidden_states), weights


class BertIntermediate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)

    def forward(self, hidden_states):
        return self.intermediate_act_fn(self.dense(hidden_states))


class BertOutput(BertSelfOutput):
    def __init__(self, config):
        super().__init__(config)
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)


class BertLayer(nn.Module):
    """Post-norm transformer block: attention → add & norm → feed-forward → add & norm."""

    def __init__(self, config):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        attended, weights = self.attention(hidden_states, mask, output_attentions)
        return self.output(self.intermediate(attended), attended), weights


class BertEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(self, hidden_states, mask=None, output_attentions=False, output_hidden_states=False):
        return run_layers(self.layer, hidden_states, mask, output_attentions, output_hidden_states,
                          checkpointed=self.gradient_checkpointing and self.training)


class BertPooler(nn.Module):
    """tanh(dense(first token)): BERT's sentence vector."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states):
        return self.activation(self.dense(hidden_states[:, 0]))


class BertPreTrainedModel(PreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    main_input_name = "input_ids"
    # Older checkpoints saved the position-id buffer; heads' weights are not ours.
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"token_type_ids$", r"^cls\.", r"^lm_head\.",
                                          r"^pooler\.", r"^classifier\.", r"^qa_outputs\.")

    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, getattr(self.config, "initializer_range", 0.02), embeddings=True)


class BertModel(BertPreTrainedModel):
    """The bare encoder: ``last_hidden_state`` and, with the pooler, ``pooler_output``."""

    padding_positions = False  # RoBERTa-style position ids (see the module docstring)

    def __init__(self, config, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config, padding_positions=self.padding_positions)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def _check_length(self, length: int) -> None:
        # Past the table an embedding lookup fails deep inside torch; say what to do instead.
        offset = (self.config.pad_token_id or 0) + 1 if self.padding_positions else 0
        limit = self.config.max_position_embeddings - offset
        if length > limit:
            raise InvalidInputError(
                f"{type(self).__name__}: the input has {length} tokens but max_position_embeddings="
                f"{self.config.max_position_embeddings} allows {limit}. Tokenize with truncation=True "
                f"(max_length={limit}), or split long texts with stride/return_overflowing_tokens."
            )

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    @model_forward
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ):
        _check_text_inputs(input_ids, inputs_embeds, attention_mask, type(self).__name__)
        if position_ids is None:
            self._check_length((input_ids if input_ids is not None else inputs_embeds).shape[1])
        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        mask = None if attention_mask is None or bool(attention_mask.all()) else padding_mask(attention_mask, embeddings.dtype)
        last, hidden, weights = self.encoder(embeddings, mask, output_attentions, output_hidden_states)
        out = BaseModelOutputWithPooling(
            last_hidden_state=last,
            pooler_output=self.pooler(last) if self.pooler is not None else None,
            hidden_states=hidden,
            attentions=weights,
        )
        return out


def _check_text_inputs(input_ids, inputs_embeds, attention_mask, name: str) -> None:
    if (input_ids is None) == (inputs_embeds is None):
        raise InvalidInputError(f"{name}: pass exactly one of input_ids or inputs_embeds.")
    shape = input_ids.shape if input_ids is not None else inputs_embeds.shape[:-1]
    if len(shape) != 2:
        raise InvalidInputError(f"{name}: input_ids must be (batch, sequence); got shape {tuple(shape)}.")
    if attention_mask is not None and tuple(attention_mask.shape) != tuple(shape):
        raise InvalidInputError(
            f"{name}: attention_mask has shape {tuple(attention_mask.shape)} but input_ids has {tuple(shape)}; "
            "pass the mask the tokenizer returned with these ids."
        )


class RobertaModel(BertModel):
    config_class = RobertaConfig
    base_model_prefix = "roberta"
    padding_positions = True


class XLMRobertaModel(RobertaModel):
    config_class = XLMRobertaConfig
    base_model_prefix = "roberta"
