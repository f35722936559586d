"""The decoder of an encoder-decoder family alone, as a causal language model (``…ForCausalLM``).

Blenderbot-Small and BigBird-Pegasus (like Transformers' BART-family ``ForCausalLM`` classes)
keep the decoder under ``model.decoder`` — the seq2seq checkpoint's name — so a full seq2seq
checkpoint loads into it (its encoder ignored). The decoder cross-attends when given
``encoder_hidden_states``; ``labels`` are not shifted: ``labels[:, t]`` is the target of position ``t``.
"""

from __future__ import annotations

import copy

from torch import nn

from ..core.outputs import model_forward
from ..generation.cache import DynamicCache, EncoderDecoderCache
from ..nn.seq2seq import decoder_cache, seq2seq_lm_loss
from .outputs_decoder import CausalLMOutputWithCrossAttentions


class Seq2SeqDecoderLM:
    """Mixin: set ``decoder_wrapper_class`` (a model holding ``.decoder``) and ``tie_lm_head``."""

    decoder_wrapper_class: type
    tie_lm_head = False
    # A full seq2seq checkpoint also holds the encoder: not used here.
    _keys_to_ignore_on_load_unexpected = (r"^model\.encoder\.", r"^model\.shared\.", r"^final_logits_bias$")

    def __init__(self, config):
        config = copy.copy(config)  # Transformers flips these two on the caller's object; we do not
        config.is_decoder, config.is_encoder_decoder = True, False
        super().__init__(config)
        self.model = self.decoder_wrapper_class(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()
        if self.tie_lm_head:
            self.tie_weights()

    def _fix_checkpoint_keys(self, state_dict):
        # A seq2seq checkpoint may store the decoder's table only as the shared one.
        if "model.decoder.embed_tokens.weight" not in state_dict and "model.shared.weight" in state_dict:
            state_dict = {**state_dict, "model.decoder.embed_tokens.weight": state_dict["model.shared.weight"]}
        return super()._fix_checkpoint_keys(state_dict)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.decoder.embed_tokens

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                past_key_values=None, inputs_embeds=None, labels=None, use_cache=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, logits_to_keep=0, **kwargs):
        cache = decoder_cache(past_key_values, use_cache, self.config, labels)
        if isinstance(cache, DynamicCache):  # generate() hands a decoder-only model a plain cache
            cache = EncoderDecoderCache(cache)
        out = self.model.decoder(input_ids, attention_mask, encoder_hidden_states, encoder_attention_mask, cache,
                                 inputs_embeds, output_attentions, output_hidden_states)
        hidden = out.last_hidden_state[:, -logits_to_keep:] if logits_to_keep else out.last_hidden_state
        logits = self.lm_head(hidden)
        returned_cache = past_key_values if isinstance(past_key_values, DynamicCache) else cache
        return CausalLMOutputWithCrossAttentions(
            loss=seq2seq_lm_loss(logits, labels), logits=logits, past_key_values=returned_cache,
            hidden_states=out.hidden_states, attentions=out.attentions,
            cross_attentions=out.cross_attentions if encoder_hidden_states is not None else None)
