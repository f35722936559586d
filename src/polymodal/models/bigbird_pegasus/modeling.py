"""BigBird-Pegasus: ``BigBirdPegasusModel`` and ``BigBirdPegasusForConditionalGeneration``.

Pegasus's layout — pre-norm layers, learned positions (no offset), no norm on the embeddings,
one norm after the last layer (the checkpoint calls it ``layernorm_embedding``), ``use_bias``
on every attention projection — with BigBird's block-sparse self-attention in the encoder
(``self_attn.self.query`` … ``self_attn.output``). The decoder is the shared seq2seq decoder
(``nn/seq2seq.py``); the top-level model, LM head, tied embeddings and generation are BART's
(``models/bart``), of which this is a sibling.

As in BigBird (and Transformers), the encoder pads its input to a multiple of ``block_size``
with embedded pad ids (no positions), cuts the output back, and falls back to full attention
for good when an input is too short for block-sparse attention.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import InvalidInputError
from ...core.outputs import BaseModelOutput, model_forward
from ...core.seq2seq_outputs import (
    BaseModelOutputWithPastAndCrossAttentions,
    Seq2SeqQuestionAnsweringModelOutput,
    Seq2SeqSequenceClassifierOutput,
)
from ...generation import GenerationMixin
from ...nn.attention import padding_mask
from ...nn.block_sparse import BlockSparseMask, block_padding
from ...nn.checkpointing import run_layers
from ...nn.classification_loss import classification_loss
from ...nn.seq2seq import (
    ScaledEmbedding,
    Seq2SeqAttention,
    Seq2SeqDecoderLayer,
    Seq2SeqEncoderLayer,
    cache_length,
    decoder_self_mask,
    run_decoder_layers,
)
from ..bart.modeling import (
    BartForConditionalGeneration,
    BartLearnedPositionalEmbedding,
    BartModel,
    BartPreTrainedModel,
)
from ..bert.heads import span_loss
from ..big_bird.modeling import BigBirdSelfAttention, BlockSparseSwitch
from ..seq2seq_decoder_lm import Seq2SeqDecoderLM
from .configuration import BigBirdPegasusConfig

__all__ = ["BigBirdPegasusConfig", "BigBirdPegasusForCausalLM", "BigBirdPegasusForConditionalGeneration",
           "BigBirdPegasusForQuestionAnswering", "BigBirdPegasusForSequenceClassification", "BigBirdPegasusModel",
           "BigBirdPegasusPreTrainedModel"]


class BigBirdPegasusEncoderAttention(nn.Module):
    """BigBird's self-attention (``self``) and an output projection (``output``)."""

    def __init__(self, config, seed: int):
        super().__init__()
        self.self = BigBirdSelfAttention(config, seed)
        self.output = nn.Linear(config.d_model, config.d_model, bias=config.use_bias)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        context, weights = self.self(hidden_states, mask, output_attentions)
        return self.output(context), weights


class BigBirdPegasusEncoderLayer(Seq2SeqEncoderLayer):
    def __init__(self, config, seed: int):
        super().__init__(config, normalize_before=True)
        self.self_attn = BigBirdPegasusEncoderAttention(config, seed)
        self.activation_dropout = 0.0  # the reference's encoder layer has none (its decoder layer does)


class BigBirdPegasusDecoderLayer(Seq2SeqDecoderLayer):
    def __init__(self, config, layer_idx: int):
        super().__init__(config, layer_idx, normalize_before=True)
        heads, dropout, bias = config.decoder_attention_heads, config.attention_dropout, config.use_bias
        self.self_attn = Seq2SeqAttention(config.d_model, heads, dropout, bias=bias, layer_idx=layer_idx)
        self.encoder_attn = Seq2SeqAttention(config.d_model, heads, dropout, bias=bias, layer_idx=layer_idx)


def _positions(config):
    return BartLearnedPositionalEmbedding(config.max_position_embeddings, config.d_model, offset=0)


def _check_positions(module, total: int) -> None:
    limit = module.config.max_position_embeddings
    if total > limit:
        raise InvalidInputError(
            f"{type(module).__name__} got {total} positions but max_position_embeddings={limit}; truncate the text "
            f"(tokenizer truncation=True, max_length={limit}) or generate fewer tokens."
        )


def _embedded(module, input_ids, inputs_embeds):
    if (input_ids is None) == (inputs_embeds is None):
        raise InvalidInputError(f"{type(module).__name__}: pass exactly one of input_ids or inputs_embeds.")
    return module.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds


class BigBirdPegasusEncoder(BlockSparseSwitch, nn.Module):
    def __init__(self, config, arch, embed_tokens):
        super().__init__()
        self.config = config
        self.attention_type = config.attention_type
        self.dropout = config.dropout
        self.embed_tokens = embed_tokens
        self.embed_positions = _positions(config)
        self.layers = nn.ModuleList([BigBirdPegasusEncoderLayer(config, seed=i) for i in range(config.encoder_layers)])
        self.layernorm_embedding = nn.LayerNorm(config.d_model)  # despite the name: the norm after the last layer
        self.gradient_checkpointing = False

    def _pad_to_blocks(self, hidden, attention_mask, padding):
        """Append embedded pad ids (without positions, as the reference does) and mask them out."""
        pad_ids = torch.full((hidden.shape[0], padding), self.config.pad_token_id or 0, dtype=torch.long,
                             device=hidden.device)
        hidden = torch.cat([hidden, self.embed_tokens(pad_ids).to(hidden.dtype)], dim=1)
        return hidden, F.pad(attention_mask, (0, padding), value=0)

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_attentions=False,
                output_hidden_states=False, return_dict=True, **kwargs):
        inputs_embeds = _embedded(self, input_ids, inputs_embeds)
        batch, length = inputs_embeds.shape[:2]
        _check_positions(self, length)
        self._fall_back_if_short(length)
        sparse = self.attention_type == "block_sparse"
        hidden = inputs_embeds + self.embed_positions(length).to(inputs_embeds.dtype)
        hidden = F.dropout(hidden, p=self.dropout, training=self.training)
        if attention_mask is None:
            attention_mask = torch.ones(batch, length, dtype=torch.long, device=hidden.device)
        padding = block_padding(length, self.config.block_size) if sparse else 0
        if padding:
            hidden, attention_mask = self._pad_to_blocks(hidden, attention_mask, padding)
        if sparse:
            mask = BlockSparseMask(attention_mask.to(hidden.dtype))
        else:
            mask = None if bool(attention_mask.all()) else padding_mask(attention_mask, hidden.dtype)
        last, states, weights = run_layers(self.layers, hidden, mask, output_attentions, output_hidden_states,
                                           checkpointed=self.gradient_checkpointing and self.training)
        last = self.layernorm_embedding(last)[:, :length]
        if states is not None:
            states = states[:-1] + (last,)  # Transformers reports the final (normalised, unpadded) output last
        return BaseModelOutput(last_hidden_state=last, hidden_states=states, attentions=weights)


class BigBirdPegasusDecoder(nn.Module):
    def __init__(self, config, arch, embed_tokens):
        super().__init__()
        self.config = config
        self.dropout = config.dropout
        self.embed_tokens = embed_tokens
        self.embed_positions = _positions(config)
        self.layers = nn.ModuleList([BigBirdPegasusDecoderLayer(config, i) for i in range(config.decoder_layers)])
        self.layernorm_embedding = nn.LayerNorm(config.d_model)  # the final norm, as in the encoder
        self.gradient_checkpointing = False

    def forward(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                past_key_values=None, inputs_embeds=None, output_attentions=False, output_hidden_states=False):
        past = cache_length(past_key_values)
        inputs_embeds = _embedded(self, input_ids, inputs_embeds)
        length = inputs_embeds.shape[1]
        _check_positions(self, past + length)
        hidden = inputs_embeds + self.embed_positions(length, past).to(inputs_embeds.dtype)
        hidden = F.dropout(hidden, p=self.dropout, training=self.training)
        self_mask = decoder_self_mask(attention_mask, length, past, hidden.dtype, hidden.device)
        cross_mask = None
        if encoder_attention_mask is not None and not bool(encoder_attention_mask.all()):
            cross_mask = padding_mask(encoder_attention_mask, hidden.dtype)
        hidden, states, self_w, cross_w = run_decoder_layers(
            self.layers, hidden, self_mask, encoder_hidden_states, cross_mask, past_key_values, output_attentions,
            output_hidden_states, checkpointed=self.gradient_checkpointing and self.training)
        hidden = self.layernorm_embedding(hidden)
        if states is not None:
            states = states + (hidden,)
        return BaseModelOutputWithPastAndCrossAttentions(last_hidden_state=hidden, past_key_values=past_key_values,
                                                         hidden_states=states, attentions=self_w,
                                                         cross_attentions=cross_w)


class BigBirdPegasusPreTrainedModel(BartPreTrainedModel):
    config_class = BigBirdPegasusConfig
    normalize_before = True
    layernorm_embedding = False
    position_offset = 0


class BigBirdPegasusModel(BigBirdPegasusPreTrainedModel, BartModel):
    encoder_class = BigBirdPegasusEncoder
    decoder_class = BigBirdPegasusDecoder


class BigBirdPegasusForConditionalGeneration(BigBirdPegasusPreTrainedModel, BartForConditionalGeneration):
    base_model_class = BigBirdPegasusModel


# --------------------------------------------------------------------------- classification and QA heads
_MODEL_FIELDS = ("past_key_values", "decoder_hidden_states", "decoder_attentions", "cross_attentions",
                 "encoder_last_hidden_state", "encoder_hidden_states", "encoder_attentions")


class _HeadModel(BigBirdPegasusPreTrainedModel):
    """``model`` (the encoder-decoder) plus a head on the decoder's last hidden states."""

    _tied_weights_keys = {  # noqa: RUF012
        "model.encoder.embed_tokens.weight": "model.shared.weight",
        "model.decoder.embed_tokens.weight": "model.shared.weight",
    }

    def __init__(self, config):
        super().__init__(config)
        self.model = BigBirdPegasusModel(config)
        self.build_head(config)
        self.post_init()
        self.tie_weights()

    def get_encoder(self):
        return self.model.encoder

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.shared

    def _decode(self, input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, encoder_outputs,
                inputs_embeds, decoder_inputs_embeds, use_cache, output_attentions, output_hidden_states):
        return self.model(input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, encoder_outputs, None,
                          inputs_embeds, decoder_inputs_embeds, use_cache, output_attentions, output_hidden_states,
                          return_dict=True)


class BigBirdPegasusClassificationHead(nn.Module):
    """dropout → dense → tanh → dropout → out_proj (BART's sentence classifier)."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.out_proj = nn.Linear(config.d_model, config.num_labels)

    def forward(self, hidden_states):
        return self.out_proj(self.dropout(torch.tanh(self.dense(self.dropout(hidden_states)))))


def last_eos_states(hidden_states, input_ids, eos_token_id):
    """The decoder state at each example's last ``</s>`` of ``input_ids`` (BART's sentence vector)."""
    eos = input_ids.eq(eos_token_id).to(hidden_states.device)
    counts = eos.sum(dim=1)
    if bool((counts != counts[0]).any()) or int(counts[0]) == 0:
        raise InvalidInputError(
            f"Every example must contain the same number (at least one) of </s> tokens (eos_token_id={eos_token_id}); "
            f"got {counts.tolist()}. Tokenize with the model's tokenizer, which ends each text with </s>."
        )
    return hidden_states[eos].view(hidden_states.shape[0], -1, hidden_states.shape[-1])[:, -1]


class BigBirdPegasusForSequenceClassification(_HeadModel):
    def build_head(self, config) -> None:
        self.classification_head = BigBirdPegasusClassificationHead(config)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, inputs_embeds=None, decoder_inputs_embeds=None, labels=None, use_cache=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        if input_ids is None:
            raise InvalidInputError(f"{type(self).__name__} needs input_ids: it reads the state at the last </s>.")
        out = self._decode(input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, encoder_outputs,
                           inputs_embeds, decoder_inputs_embeds, False if labels is not None else use_cache,
                           output_attentions, output_hidden_states)
        logits = self.classification_head(last_eos_states(out.last_hidden_state, input_ids, self.config.eos_token_id))
        loss = None if labels is None else classification_loss(logits, labels, self.config)
        return Seq2SeqSequenceClassifierOutput(loss=loss, logits=logits, **{k: getattr(out, k) for k in _MODEL_FIELDS})


class BigBirdPegasusForQuestionAnswering(_HeadModel):
    def __init__(self, config):
        config.num_labels = 2  # start and end, whatever the config said (as Transformers does)
        super().__init__(config)

    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.qa_outputs = nn.Linear(config.d_model, config.num_labels)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, start_positions=None, end_positions=None, inputs_embeds=None,
                decoder_inputs_embeds=None, use_cache=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):
        training = start_positions is not None and end_positions is not None
        out = self._decode(input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, encoder_outputs,
                           inputs_embeds, decoder_inputs_embeds, False if training else use_cache,
                           output_attentions, output_hidden_states)
        logits = self.qa_outputs(out.last_hidden_state)  # (B, T, 2)
        start_logits, end_logits = (part.squeeze(-1).contiguous() for part in logits.split(1, dim=-1))
        loss = span_loss(start_logits, end_logits, start_positions, end_positions) if training else None
        return Seq2SeqQuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                                                   **{k: getattr(out, k) for k in _MODEL_FIELDS})


# --------------------------------------------------------------------------- the decoder alone
class BigBirdPegasusDecoderWrapper(BigBirdPegasusPreTrainedModel):
    """Holds the decoder under ``model.decoder``, the checkpoint's name for it."""

    def __init__(self, config):
        super().__init__(config)
        scale = config.d_model ** 0.5 if config.scale_embedding else 1.0
        embed = ScaledEmbedding(config.vocab_size, config.d_model, config.pad_token_id, embed_scale=scale)
        self.decoder = BigBirdPegasusDecoder(config, self, embed)


class BigBirdPegasusForCausalLM(Seq2SeqDecoderLM, GenerationMixin, BigBirdPegasusPreTrainedModel):
    """The decoder alone as a language model (see ``models/seq2seq_decoder_lm.py``); as in
    Transformers, ``lm_head`` is a weight of its own, not tied to the embeddings."""

    decoder_wrapper_class = BigBirdPegasusDecoderWrapper
