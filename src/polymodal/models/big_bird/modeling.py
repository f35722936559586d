"""BigBird's encoder and task heads, with Transformers' parameter names.

The block is BERT's post-norm block (``models/bert``) with one difference, the self-attention:
``attention_type="block_sparse"`` runs the kernel in ``nn/block_sparse.py`` (global, sliding
and random key blocks), ``"original_full"`` ordinary attention; both use the same
``query``/``key``/``value`` weights, so a model can switch (``set_attention_type``).

Behaviours kept from Transformers so the numbers match:

* Block-sparse needs the length to be a multiple of ``block_size``: inputs are padded (pad id,
  mask 0) and outputs cut back. ``hidden_states`` keep the padded length except the last one,
  which is ``last_hidden_state`` (Transformers' output recorder swaps it in).
* A sequence of at most ``(5 + 2 * num_random_blocks) * block_size`` tokens is too short for
  block-sparse: the model warns and switches to full attention *for good* (later long inputs
  also use full attention), as Transformers does; ``set_attention_type`` switches back.
* Embeddings apply dropout before their LayerNorm (BERT does it after), and optionally scale
  word vectors by ``sqrt(hidden_size)`` (``rescale_embeddings``).
* The pooler is a bare ``pooler`` linear + tanh on the model (BERT's is ``pooler.dense``).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import InvalidInputError
from ...core.outputs import ModelOutput, model_forward, output_dataclass
from ...generation import GenerationMixin
from ...generation.cache import DynamicCache
from ...nn.activations import get_activation
from ...nn.attention import attention, merge_heads, padding_mask, split_heads
from ...nn.block_sparse import (
    BlockSparseMask,
    block_padding,
    block_sparse_attention,
    max_full_attention_length,
    random_blocks,
)
from ...nn.checkpointing import run_layers
from ...nn.decoder import causal_lm_loss, decoder_attention_mask
from ..bert.heads import (
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertHeadModel,
    BertLMPredictionHead,
    BertOnlyMLMHead,
    classifier_dropout,
    span_loss,
    token_loss,
)
from ..bert.modeling import (
    BertEmbeddings,
    BertIntermediate,
    BertLayer,
    BertOutput,
    BertPreTrainedModel,
    _check_text_inputs,
)
from ..outputs_decoder import CausalLMOutputWithCrossAttentions
from .configuration import ATTENTION_TYPES, BigBirdConfig

logger = logging.getLogger("polymodal")

__all__ = ["BigBirdConfig", "BigBirdForCausalLM", "BigBirdForMaskedLM", "BigBirdForMultipleChoice", "BigBirdForPreTraining",
           "BigBirdForQuestionAnswering", "BigBirdForSequenceClassification", "BigBirdForTokenClassification",
           "BigBirdModel", "BigBirdPreTrainedModel", "BigBirdSelfAttention", "BlockSparseSwitch"]


class BigBirdEmbeddings(BertEmbeddings):
    def __init__(self, config):
        super().__init__(config)
        self.rescale = config.hidden_size ** 0.5 if config.rescale_embeddings else None

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None) -> torch.Tensor:
        if position_ids is None:
            position_ids = self._position_ids(input_ids, inputs_embeds)
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        if self.rescale is not None:
            inputs_embeds = inputs_embeds * self.rescale
        types = self.token_type_embeddings.weight[0] if token_type_ids is None else self.token_type_embeddings(
            token_type_ids)
        embeddings = inputs_embeds + types + self.position_embeddings(position_ids)
        return self.LayerNorm(self.dropout(embeddings))  # dropout before the norm, unlike BERT


class BigBirdSelfAttention(nn.Module):
    """BERT's ``query``/``key``/``value``; block-sparse when given a :class:`BlockSparseMask`, full
    attention otherwise. ``seed`` (the layer index) seeds the random blocks in training mode."""

    def __init__(self, config, seed: int | None = None):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.block_size, self.num_random_blocks = config.block_size, config.num_random_blocks
        self.seed, self.max_seqlen = seed, config.max_position_embeddings
        self.query = nn.Linear(config.hidden_size, config.hidden_size, bias=config.use_bias)
        self.key = nn.Linear(config.hidden_size, config.hidden_size, bias=config.use_bias)
        self.value = nn.Linear(config.hidden_size, config.hidden_size, bias=config.use_bias)
        self.dropout_p = config.attention_probs_dropout_prob

    def forward(self, hidden_states, mask=None, output_attentions=False, cache=None):
        heads = self.num_attention_heads
        query = split_heads(self.query(hidden_states), heads)  # (B, H, T, D)
        key = split_heads(self.key(hidden_states), heads)
        value = split_heads(self.value(hidden_states), heads)
        if cache is not None:  # decoder (full attention only): keys/values of every position so far
            key, value = cache.update(key, value, self.seed)
        if isinstance(mask, BlockSparseMask):  # no dropout on block-sparse weights (the reference has none)
            rand = random_blocks(hidden_states.shape[1], self.block_size, heads, self.num_random_blocks, self.seed,
                                 self.training, self.max_seqlen)
            context, weights = block_sparse_attention(query, key, value, mask.attention_mask, rand, self.block_size,
                                                      output_attentions)
        else:
            context, weights = attention(query, key, value, mask, dropout=self.dropout_p if self.training else 0.0,
                                         output_attentions=output_attentions)
        return merge_heads(context), weights  # (B, T, H*D)


class BigBirdLayer(BertLayer):
    def __init__(self, config, seed: int):
        super().__init__(config)
        self.attention.self = BigBirdSelfAttention(config, seed)

    def forward(self, hidden_states, mask=None, output_attentions=False, cache=None):
        context, weights = self.attention.self(hidden_states, mask, output_attentions, cache)
        attended = self.attention.output(context, hidden_states)
        return self.output(self.intermediate(attended), attended), weights


class BigBirdEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([BigBirdLayer(config, seed=index) for index in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(self, hidden_states, mask=None, output_attentions=False, output_hidden_states=False, cache=None):
        if cache is None:
            return run_layers(self.layer, hidden_states, mask, output_attentions, output_hidden_states,
                              checkpointed=self.gradient_checkpointing and self.training)
        states, weights = [hidden_states], []  # decoding with a cache: no checkpointing
        for layer in self.layer:
            hidden_states, layer_weights = layer(hidden_states, mask, output_attentions, cache)
            states.append(hidden_states)
            weights.append(layer_weights)
        states = tuple(states) if output_hidden_states else None
        return hidden_states, states, tuple(weights) if output_attentions else None


class BlockSparseSwitch:
    """The ``attention_type`` state of a block-sparse encoder (BigBird, BigBird-Pegasus's encoder)."""

    attention_type: str

    def set_attention_type(self, value: str) -> None:
        """Switch every layer to ``"block_sparse"`` or ``"original_full"`` (same weights)."""
        if value not in ATTENTION_TYPES:
            raise InvalidInputError(f"attention_type can only be one of {ATTENTION_TYPES}, got {value!r}.")
        self.attention_type = value

    def _fall_back_if_short(self, length: int) -> None:
        limit = max_full_attention_length(self.config.block_size, self.config.num_random_blocks)
        if self.attention_type == "block_sparse" and length <= limit:
            logger.warning(
                "%s: block-sparse attention needs more than (5 + 2 * num_random_blocks) * block_size = %d tokens, "
                "got %d; switching to attention_type='original_full' for this and later inputs (as Transformers "
                "does; set_attention_type('block_sparse') switches back).", type(self).__name__, limit, length)
            self.set_attention_type("original_full")


@output_dataclass
class BaseModelOutputWithPoolingAndCrossAttentions(ModelOutput):
    last_hidden_state: Any = None
    pooler_output: Any = None
    hidden_states: Any = None
    past_key_values: Any = None
    attentions: Any = None
    cross_attentions: Any = None


class BigBirdPreTrainedModel(BertPreTrainedModel):
    config_class = BigBirdConfig
    base_model_prefix = "bert"


class BigBirdModel(BlockSparseSwitch, BigBirdPreTrainedModel):
    """The bare encoder: ``last_hidden_state`` and, with the pooler, ``pooler_output``."""

    def __init__(self, config, add_pooling_layer: bool = True):
        super().__init__(config)
        self.attention_type = config.attention_type
        self.embeddings = BigBirdEmbeddings(config)
        self.encoder = BigBirdEncoder(config)
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None
        self.activation = nn.Tanh() if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def _check_length(self, length: int, padded: int) -> None:
        limit = self.config.max_position_embeddings
        if padded > limit:
            grown = f" (padded to {padded}, a multiple of block_size={self.config.block_size})" if padded > length else ""
            raise InvalidInputError(
                f"{type(self).__name__}: the input has {length} tokens{grown} but max_position_embeddings={limit}. "
                f"Tokenize with truncation=True (max_length={limit - limit % self.config.block_size}), or split long "
                "texts with stride/return_overflowing_tokens."
            )

    def _pad_to_blocks(self, padding, input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds):
        """Append ``padding`` pad tokens (mask 0, segment 0) so the length is a multiple of block_size."""
        pad_id = self.config.pad_token_id or 0
        if input_ids is not None:
            input_ids = F.pad(input_ids, (0, padding), value=pad_id)
        if position_ids is not None:
            position_ids = F.pad(position_ids, (0, padding), value=pad_id)  # the reference pads with the pad id
        if inputs_embeds is not None:
            # The reference pads embeddings with the embedding *output* of pad ids (positions 0…).
            pad_ids = inputs_embeds.new_full((inputs_embeds.shape[0], padding), pad_id, dtype=torch.long)
            inputs_embeds = torch.cat([inputs_embeds, self.embeddings(pad_ids)], dim=1)
        if token_type_ids is not None:
            token_type_ids = F.pad(token_type_ids, (0, padding), value=0)
        return input_ids, F.pad(attention_mask, (0, padding), value=0), token_type_ids, position_ids, inputs_embeds

    def _decoder_cache(self, past_key_values, use_cache):
        """With ``is_decoder``: the caller's cache, or a new one when caching is on (as Transformers)."""
        if not self.config.is_decoder or past_key_values is not None:
            return past_key_values
        return DynamicCache() if (self.config.use_cache if use_cache is None else use_cache) else None

    def _check_decoder(self, sparse: bool, length: int) -> None:
        if self.config.is_decoder and sparse:
            # Transformers would run bidirectional block-sparse attention here, with no cache.
            raise InvalidInputError(
                f"{type(self).__name__}: a decoder (is_decoder=True) attends causally with full attention, but "
                f"this {length}-token input would run block-sparse; load it with attention_type='original_full'."
            )

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                past_key_values=None, use_cache=None, **kwargs):
        cache = self._decoder_cache(past_key_values, use_cache)
        past = cache.get_seq_length() if cache is not None else 0
        _check_text_inputs(input_ids, inputs_embeds, attention_mask if not past else None, type(self).__name__)
        reference = input_ids if input_ids is not None else inputs_embeds[..., 0]
        batch, length = reference.shape
        self._fall_back_if_short(length)
        sparse = self.attention_type == "block_sparse"
        self._check_decoder(sparse, length)
        padding = block_padding(length, self.config.block_size) if sparse else 0
        if position_ids is None:
            self._check_length(past + length, past + length + padding)
            if past:
                position_ids = self.embeddings.position_ids[:, past:past + length]
        if attention_mask is None:
            attention_mask = torch.ones(batch, past + length, device=reference.device)
        if padding:
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds = self._pad_to_blocks(
                padding, input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds)
        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        if sparse:
            mask = BlockSparseMask(attention_mask.to(embeddings.dtype))
        elif self.config.is_decoder:
            mask = decoder_attention_mask(attention_mask, length, past, embeddings.dtype, embeddings.device)
        else:
            mask = None if bool(attention_mask.all()) else padding_mask(attention_mask, embeddings.dtype)
        last, hidden, weights = self.encoder(embeddings, mask, output_attentions, output_hidden_states, cache)
        pooled = self.activation(self.pooler(last[:, 0])) if self.pooler is not None else None
        if padding:
            last = last[:, :length]
            hidden = hidden[:-1] + (last,) if hidden is not None else None
        return BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=last, pooler_output=pooled,
                                                            hidden_states=hidden, past_key_values=cache,
                                                            attentions=weights)


# --------------------------------------------------------------------------- heads
class _BigBird:
    config_class = BigBirdConfig
    base_model_class = BigBirdModel
    base_model_prefix = "bert"
    with_pooler = True  # every head but question answering keeps the (unused) pooler, as Transformers does


class BigBirdForMaskedLM(_BigBird, BertForMaskedLM):
    pass


class BigBirdForCausalLM(GenerationMixin, _BigBird, BertHeadModel):
    """BigBird as a left-to-right LM (``is_decoder=True``; full attention, KV cache); the loss shifts the
    labels (``labels[:, t + 1]`` is position ``t``'s target). No cross-attention (``add_cross_attention``)."""

    tied_weights = BertForMaskedLM.tied_weights

    def build_head(self, config) -> None:
        self.cls = BertOnlyMLMHead(config)

    def get_output_embeddings(self) -> nn.Linear:
        return self.cls.predictions.decoder

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, past_key_values=None, labels=None, use_cache=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, logits_to_keep=0, **kwargs):
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds, output_attentions,
                        output_hidden_states, return_dict=True, past_key_values=past_key_values, use_cache=use_cache)
        hidden = out.last_hidden_state[:, -logits_to_keep:] if logits_to_keep else out.last_hidden_state
        logits = self.cls(hidden)  # (B, T, V)
        loss = None if labels is None else causal_lm_loss(logits, labels)
        return CausalLMOutputWithCrossAttentions(loss=loss, logits=logits, past_key_values=out.past_key_values,
                                                 hidden_states=out.hidden_states, attentions=out.attentions)


@output_dataclass
class BigBirdForPreTrainingOutput(ModelOutput):
    loss: Any = None
    prediction_logits: Any = None
    seq_relationship_logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


class BigBirdPreTrainingHeads(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output, pooled_output):
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)


class BigBirdForPreTraining(_BigBird, BertHeadModel):
    """Masked LM + next-sentence prediction; the NSP loss is added only when MLM labels are given too."""

    tied_weights = BertForMaskedLM.tied_weights

    def build_head(self, config) -> None:
        self.cls = BigBirdPreTrainingHeads(config)

    def get_output_embeddings(self) -> nn.Linear:
        return self.cls.predictions.decoder

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, next_sentence_label=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):
        out = self.encode(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                          output_attentions, output_hidden_states)
        prediction, relationship = self.cls(out.last_hidden_state, out.pooler_output)  # (B, T, V), (B, 2)
        loss = None
        if labels is not None:
            loss = token_loss(prediction, labels, self.config.vocab_size, "token id")
            if next_sentence_label is not None:
                loss = loss + token_loss(relationship[:, None], next_sentence_label.reshape(-1, 1), 2,
                                         "next_sentence_label")
        return BigBirdForPreTrainingOutput(loss=loss, prediction_logits=prediction,
                                           seq_relationship_logits=relationship, hidden_states=out.hidden_states,
                                           attentions=out.attentions)


class BigBirdClassificationHead(nn.Module):
    """First token → dropout → dense → ``hidden_act`` → dropout → out_proj."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)
        self.activation = get_activation(config.hidden_act)

    def forward(self, features):
        x = self.dropout(features[:, 0])
        return self.out_proj(self.dropout(self.activation(self.dense(x))))


class BigBirdForSequenceClassification(_BigBird, BertForSequenceClassification):
    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.classifier = BigBirdClassificationHead(config)

    def head_logits(self, outputs):
        return self.classifier(outputs.last_hidden_state)


class BigBirdForMultipleChoice(_BigBird, BertForMultipleChoice):
    @staticmethod
    def choice_dropout(config) -> float:
        return config.hidden_dropout_prob  # BigBird ignores classifier_dropout here


class BigBirdForTokenClassification(_BigBird, BertForTokenClassification):
    pass


@output_dataclass
class BigBirdForQuestionAnsweringModelOutput(ModelOutput):
    loss: Any = None
    start_logits: Any = None
    end_logits: Any = None
    pooler_output: Any = None
    hidden_states: Any = None
    attentions: Any = None


class BigBirdForQuestionAnsweringHead(nn.Module):
    """dropout → BERT's feed-forward block (with its residual and norm) → start/end logits."""

    def __init__(self, config):
        super().__init__()
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, encoder_output):
        hidden = self.intermediate(self.dropout(encoder_output))
        return self.qa_outputs(self.output(hidden, encoder_output))


def question_mask(question_lengths: torch.Tensor, length: int, batch: int) -> torch.Tensor:
    """``(B, T)`` 1 on the first ``question_lengths`` tokens of each row, 0 after."""
    lengths = torch.as_tensor(question_lengths)
    if lengths.numel() != batch or lengths.dim() > 2:
        raise InvalidInputError(
            f"question_lengths must hold one length per example, shape ({batch}, 1) or ({batch},); got "
            f"{tuple(lengths.shape)}."
        )
    positions = torch.arange(length, device=lengths.device)[None]  # (1, T)
    return (positions < lengths.reshape(batch, 1)).long()


class BigBirdForQuestionAnswering(_BigBird, BertForQuestionAnswering):
    """Span extraction that keeps question tokens out of the answer: their logits get ``-1e6``.

    Without ``question_lengths`` the question is everything up to the first ``[SEP]``
    (``config.sep_token_id``) — the layout ``[CLS] question [SEP] context [SEP]``; without
    ``token_type_ids`` the question (with ``[CLS]``) is segment 0 and the rest segment 1.
    ``[CLS]`` itself stays a candidate (the "no answer" position).
    """

    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"token_type_ids$", r"pooler\.")

    def __init__(self, config, add_pooling_layer: bool = False):
        self.with_pooler = add_pooling_layer
        config.num_labels = 2  # start and end, whatever the config said (as Transformers does)
        super().__init__(config)

    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.sep_token_id = config.sep_token_id
        self.qa_classifier = BigBirdForQuestionAnsweringHead(config)

    def _question_mask(self, input_ids, question_lengths, batch, length):
        if question_lengths is None and input_ids is not None:
            # position of the first [SEP] + 1 (argmax of a 0/1 row is its first 1)
            question_lengths = (input_ids.eq(self.sep_token_id).int().argmax(dim=-1) + 1)[:, None]
        return None if question_lengths is None else question_mask(question_lengths, length, batch)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, question_lengths=None, token_type_ids=None,
                position_ids=None, inputs_embeds=None, start_positions=None, end_positions=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        _check_text_inputs(input_ids, inputs_embeds, attention_mask, type(self).__name__)
        batch, length = (input_ids if input_ids is not None else inputs_embeds[..., 0]).shape
        question = self._question_mask(input_ids, question_lengths, batch, length)
        if question is not None and token_type_ids is None:
            token_type_ids = 1 - question
        out = self.encode(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                          output_attentions, output_hidden_states)
        logits = self.qa_classifier(out.last_hidden_state)  # (B, T, 2)
        if question is not None:
            question[:, 0] = 0  # [CLS] stays a candidate
            logits = logits - question[..., None] * 1e6
        start_logits, end_logits = (part.squeeze(-1).contiguous() for part in logits.split(1, dim=-1))
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start_logits, end_logits, start_positions, end_positions)
        return BigBirdForQuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                                                      pooler_output=out.pooler_output,
                                                      hidden_states=out.hidden_states, attentions=out.attentions)
