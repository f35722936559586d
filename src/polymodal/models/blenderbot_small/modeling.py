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

import torch.nn.functional as F

from ...generation import GenerationMixin
from ...nn.seq2seq import ScaledEmbedding
from ..bart.modeling import BartDecoder, BartForConditionalGeneration, BartModel, BartPreTrainedModel
from ..seq2seq_decoder_lm import Seq2SeqDecoderLM
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


class BlenderbotSmallForCausalLM(Seq2SeqDecoderLM, GenerationMixin, BartPreTrainedModel):
    """The decoder alone as a language model (see ``models/seq2seq_decoder_lm.py``); its head is
    tied to the decoder's embeddings, as Transformers'."""

    config_class = BlenderbotSmallConfig
    _tied_weights_keys = {"lm_head.weight": "model.decoder.embed_tokens.weight"}  # noqa: RUF012
    decoder_wrapper_class = BlenderbotSmallDecoderWrapper
    tie_lm_head = True


__all__ = ["BlenderbotSmallModel", "BlenderbotSmallForConditionalGeneration", "BlenderbotSmallForCausalLM"]
