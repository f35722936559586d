"""Blenderbot-Small: BART's post-norm encoder-decoder, positions without fairseq's offset of 2.

It differs from BART only in how the decoder embeds its tokens, and we follow Transformers'
code exactly because checkpoints are judged against it:

* the encoder is BART's: ``layernorm_embedding(tokens * embed_scale + positions)``;
* the decoder normalises the token embeddings *before* adding the positions, and does not
  multiply them by ``embed_scale`` (Transformers computes that scale for the decoder but never
  applies it; the layer norm right after makes it nearly moot, up to its epsilon).

Weight names are BART's (``model.shared``, ``layernorm_embedding`` in both stacks, no final
layer norm), so the classes are BART's with those two switches.
"""

from __future__ import annotations

import copy

import torch.nn.functional as F
from torch import nn

from ...core.outputs import model_forward
from ...generation import GenerationMixin
from ...generation.cache import DynamicCache, EncoderDecoderCache
from ...nn.seq2seq import ScaledEmbedding, decoder_cache, seq2seq_lm_loss
from ..bart.modeling import BartDecoder, BartForConditionalGeneration, BartModel, BartPreTrainedModel
from ..outputs_decoder import CausalLMOutputWithCrossAttentions
from .configuration import BlenderbotSmallConfig


class BlenderbotSmallDecoder(BartDecoder):
    def _embed(self, input_ids, inputs_embeds, past: int = 0):
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError(f"{type(self).__name__}: pass exactly one of decoder_input_ids or decoder_inputs_embeds.")
        if inputs_embeds is None:
            # The raw table, without the shared embedding's encoder-side scale (see the module docstring).
            inputs_embeds = F.embedding(input_ids, self.embed_tokens.weight, self.embed_tokens.padding_idx)
        length = inputs_embeds.shape[1]
        if past + length > self.config.max_position_embeddings:
            raise ValueError(
                f"{type(self).__name__} got {past + length} positions but max_position_embeddings="
                f"{self.config.max_position_embeddings}; generate fewer tokens (max_new_tokens=...)."
            )
        positions = self.embed_positions(length, past).to(inputs_embeds.dtype)
        hidden = self.layernorm_embedding(inputs_embeds) + positions
        return F.dropout(hidden, p=self.dropout, training=self.training)


class BlenderbotSmallModel(BartModel):
    config_class = BlenderbotSmallConfig
    position_offset = 0
    decoder_class = BlenderbotSmallDecoder

    def _default_decoder_input_ids(self, input_ids):
        # Unlike BART, Transformers does not derive decoder inputs from input_ids here.
        raise ValueError(
            f"{type(self).__name__}: pass decoder_input_ids (start them with decoder_start_token_id="
            f"{self.config.decoder_start_token_id}), or use BlenderbotSmallForConditionalGeneration with labels."
        )


class BlenderbotSmallForConditionalGeneration(BartForConditionalGeneration):
    config_class = BlenderbotSmallConfig
    base_model_class = BlenderbotSmallModel


class BlenderbotSmallDecoderWrapper(BartPreTrainedModel):
    """Holds the decoder under ``model.decoder``, the checkpoint's name for it."""

    config_class = BlenderbotSmallConfig
    position_offset = 0
    positions_class = BartModel.positions_class

    def __init__(self, config):
        super().__init__(config)
        embed = ScaledEmbedding(config.vocab_size, config.d_model, config.pad_token_id)
        self.decoder = BlenderbotSmallDecoder(config, self, embed)


class BlenderbotSmallForCausalLM(GenerationMixin, BartPreTrainedModel):
    """The decoder alone as a language model (cross-attends when given ``encoder_hidden_states``).

    Like Transformers, ``labels`` are not shifted: ``labels[:, t]`` is the target of position ``t``.
    """

    config_class = BlenderbotSmallConfig
    _tied_weights_keys = {"lm_head.weight": "model.decoder.embed_tokens.weight"}  # noqa: RUF012
    # A full seq2seq checkpoint also holds the encoder: not used here.
    _keys_to_ignore_on_load_unexpected = (r"^model\.encoder\.", r"^model\.shared\.", r"^final_logits_bias$")

    def __init__(self, config):
        config = copy.copy(config)  # Transformers flips these two on the caller's object; we do not
        config.is_decoder, config.is_encoder_decoder = True, False
        super().__init__(config)
        self.model = BlenderbotSmallDecoderWrapper(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()
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


__all__ = ["BlenderbotSmallModel", "BlenderbotSmallForConditionalGeneration", "BlenderbotSmallForCausalLM"]
