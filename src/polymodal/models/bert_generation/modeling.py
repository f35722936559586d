"""BertGeneration: BERT's post-norm layers without token types or pooler, usable three ways.

* ``BertGenerationEncoder`` with ``is_decoder=False``: a BERT encoder (bidirectional);
* with ``is_decoder=True``: causal self-attention with a KV cache, and with
  ``add_cross_attention=True`` a ``crossattention`` block after it that reads the encoder's output
  (what ``EncoderDecoderModel`` needs);
* ``BertGenerationDecoder``: that decoder plus an LM head (``lm_head.decoder`` tied to the word
  embeddings, its bias the parameter ``lm_head.bias``).

Parameter names are BERT's (``encoder.layer.N.attention.self.query`` …), so a BERT checkpoint
loads into either class (its ``token_type_embeddings`` and pooler are not used), which is how the
paper warm-starts Bert2Bert (RoBERTa's numbering of positions from the padding index is not
BertGeneration's, so RoBERTa weights load but do not compute the same function). The feed-forward and add-&-norm blocks are BERT's own.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.errors import InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import model_forward
from ...generation import GenerationMixin
from ...generation.cache import DynamicCache, EncoderDecoderCache
from ...nn.attention import attention, merge_heads, padding_mask, split_heads
from ...nn.decoder import causal_lm_loss, decoder_attention_mask
from ...nn.init import init_dense_and_norm
from ...nn.seq2seq import TiedWeightsMixin, cached_keys_values, run_decoder_layers
from ..bert.modeling import BertIntermediate, BertOutput, BertSelfOutput
from ..outputs_decoder import BaseModelOutputWithPastAndCrossAttentions, CausalLMOutputWithCrossAttentions
from .configuration import BertGenerationConfig


class BertGenerationEmbeddings(nn.Module):
    """Word + absolute position embeddings (no token types), then LayerNorm and dropout."""

    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings)[None], persistent=False)

    def forward(self, input_ids=None, position_ids=None, inputs_embeds=None, past: int = 0):
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        if position_ids is None:
            position_ids = self.position_ids[:, past: past + inputs_embeds.shape[1]]
        return self.dropout(self.LayerNorm(inputs_embeds + self.position_embeddings(position_ids)))


class BertGenerationSelfAttention(nn.Module):
    """BERT's ``query``/``key``/``value``; self-attention, or cross-attention over ``encoder_states``."""

    def __init__(self, config, layer_idx: int):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.layer_idx = layer_idx
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_p = config.attention_probs_dropout_prob

    def _keys_values(self, states):
        heads = self.num_attention_heads
        return split_heads(self.key(states), heads), split_heads(self.value(states), heads)  # (B, H, S, D)

    def forward(self, hidden_states, mask=None, encoder_states=None, cache=None, output_attentions=False):
        query = split_heads(self.query(hidden_states), self.num_attention_heads)  # (B, H, T, D)
        key, value = cached_keys_values(self._keys_values, hidden_states, encoder_states, cache, self.layer_idx)
        context, weights = attention(query, key, value, mask, dropout=self.dropout_p if self.training else 0.0,
                                     output_attentions=output_attentions)
        return merge_heads(context), weights  # (B, T, H*D)


class BertGenerationAttention(nn.Module):
    def __init__(self, config, layer_idx: int):
        super().__init__()
        self.self = BertGenerationSelfAttention(config, layer_idx)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states, mask=None, encoder_states=None, cache=None, output_attentions=False):
        context, weights = self.self(hidden_states, mask, encoder_states, cache, output_attentions)
        return self.output(context, hidden_states), weights


class BertGenerationLayer(nn.Module):
    """Self-attention → (cross-attention) → feed-forward, each with BERT's add & norm."""

    def __init__(self, config, layer_idx: int):
        super().__init__()
        self.attention = BertGenerationAttention(config, layer_idx)
        if config.add_cross_attention:
            self.crossattention = BertGenerationAttention(config, layer_idx)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states, self_mask, encoder_states, cross_mask, cache=None, output_attentions=False):
        attended, self_weights = self.attention(hidden_states, self_mask, cache=cache,
                                                output_attentions=output_attentions)
        cross_weights = None
        if encoder_states is not None:
            if not hasattr(self, "crossattention"):
                raise InvalidInputError(
                    "encoder_hidden_states were passed but this model has no cross-attention layers; "
                    "load it with is_decoder=True, add_cross_attention=True.")
            attended, cross_weights = self.crossattention(attended, cross_mask, encoder_states, cache,
                                                          output_attentions)
        return self.output(self.intermediate(attended), attended), self_weights, cross_weights


class BertEncoder(nn.Module):
    """The layer stack (``encoder.layer.N``, BERT's name)."""

    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([BertGenerationLayer(config, i) for i in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False


class BertGenerationPreTrainedModel(PreTrainedModel):
    config_class = BertGenerationConfig
    base_model_prefix = "bert"
    main_input_name = "input_ids"
    # BERT/RoBERTa checkpoints carry parts BertGeneration does not have.
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"token_type_embeddings", r"pooler\.", r"^cls\.",
                                          r"^lm_head\.dense", r"^lm_head\.layer_norm")

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if init_dense_and_norm(module, std):
            return
        if isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, BertGenerationOnlyLMHead):
            nn.init.zeros_(module.bias)


def _self_attention_cache(cache, encoder_states):
    """The cache object the layers read: cross-attention needs the encoder-decoder kind."""
    if cache is None or isinstance(cache, EncoderDecoderCache):
        return cache
    if encoder_states is not None:
        raise InvalidInputError("With encoder_hidden_states pass an EncoderDecoderCache as past_key_values.")
    return EncoderDecoderCache(cache)  # self-attention writes go to the caller's DynamicCache


class BertGenerationEncoder(BertGenerationPreTrainedModel):
    """The bare stack: an encoder, or (``is_decoder=True``) a causal decoder returning hidden states."""

    def __init__(self, config):
        super().__init__(config)
        self.embeddings = BertGenerationEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def get_output_embeddings(self):
        return None

    def _check_inputs(self, input_ids, inputs_embeds, past: int) -> int:
        if (input_ids is None) == (inputs_embeds is None):
            raise InvalidInputError(f"{type(self).__name__}: pass exactly one of input_ids or inputs_embeds.")
        length = (input_ids if input_ids is not None else inputs_embeds[..., 0]).shape[1]
        if past + length > self.config.max_position_embeddings:
            raise InvalidInputError(
                f"{type(self).__name__} got {past + length} positions but max_position_embeddings="
                f"{self.config.max_position_embeddings}; tokenize with truncation=True (max_length=...) or "
                "generate fewer tokens.")
        return length

    def _masks(self, attention_mask, encoder_attention_mask, length, past, dtype, device):
        if self.config.is_decoder:
            self_mask = decoder_attention_mask(attention_mask, length, past, dtype, device)
        elif attention_mask is None or bool(attention_mask.all()):
            self_mask = None
        else:
            self_mask = padding_mask(attention_mask, dtype)
        cross_mask = None
        if encoder_attention_mask is not None and not bool(encoder_attention_mask.all()):
            cross_mask = padding_mask(encoder_attention_mask, dtype)
        return self_mask, cross_mask

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None,
                encoder_hidden_states=None, encoder_attention_mask=None, past_key_values=None, use_cache=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        use_cache = bool(self.config.is_decoder and (self.config.use_cache if use_cache is None else use_cache))
        if use_cache and past_key_values is None:
            past_key_values = EncoderDecoderCache() if encoder_hidden_states is not None else DynamicCache()
        past = past_key_values.get_seq_length() if past_key_values is not None else 0
        length = self._check_inputs(input_ids, inputs_embeds, past)
        hidden = self.embeddings(input_ids, position_ids, inputs_embeds, past)
        self_mask, cross_mask = self._masks(attention_mask, encoder_attention_mask, length, past, hidden.dtype,
                                            hidden.device)
        hidden, states, self_w, cross_w = run_decoder_layers(
            self.encoder.layer, hidden, self_mask, encoder_hidden_states, cross_mask,
            _self_attention_cache(past_key_values, encoder_hidden_states), output_attentions, output_hidden_states,
            checkpointed=self.encoder.gradient_checkpointing and self.training)
        if states is not None:
            states = states + (hidden,)
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=past_key_values if use_cache else None, hidden_states=states,
            attentions=self_w, cross_attentions=cross_w if encoder_hidden_states is not None else None)


class BertGenerationOnlyLMHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias  # one bias, saved under both names as in Transformers

    def forward(self, hidden_states):
        return self.decoder(hidden_states)


class BertGenerationDecoder(GenerationMixin, TiedWeightsMixin, BertGenerationPreTrainedModel):
    """Causal LM (next-token loss on ``labels``, shifted inside); cross-attends when given encoder states."""

    # Its cross-attention reads keys/values through nn.seq2seq's cache: beams may share one row per input.
    _shares_cross_attention_rows = True
    _tied_weights_keys = {  # noqa: RUF012
        "lm_head.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "lm_head.decoder.bias": "lm_head.bias",
    }

    def __init__(self, config):
        super().__init__(config)
        self.bert = BertGenerationEncoder(config)
        self.lm_head = BertGenerationOnlyLMHead(config)
        self.post_init()
        self.tie_weights()

    def _active_ties(self) -> dict[str, str]:
        # The bias is one parameter whatever tie_word_embeddings says; the matrix follows the flag.
        if getattr(self.config, "tie_word_embeddings", True):
            return self._tied_weights_keys
        return {"lm_head.decoder.bias": "lm_head.bias"}

    def get_input_embeddings(self) -> nn.Embedding:
        return self.bert.embeddings.word_embeddings

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head.decoder

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None,
                encoder_hidden_states=None, encoder_attention_mask=None, labels=None, past_key_values=None,
                use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                logits_to_keep=0, **kwargs):
        if labels is not None:
            use_cache = False
        out = self.bert(input_ids, attention_mask, position_ids, inputs_embeds, encoder_hidden_states,
                        encoder_attention_mask, past_key_values, use_cache, output_attentions, output_hidden_states,
                        return_dict=True)
        hidden = out.last_hidden_state
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]
        logits = self.lm_head(hidden)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        return CausalLMOutputWithCrossAttentions(loss=loss, logits=logits, past_key_values=out.past_key_values,
                                                 hidden_states=out.hidden_states, attentions=out.attentions,
                                                 cross_attentions=out.cross_attentions)


__all__ = ["BertGenerationEncoder", "BertGenerationDecoder", "BertGenerationPreTrainedModel"]
