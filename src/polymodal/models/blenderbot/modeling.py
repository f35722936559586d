"""Blenderbot: BART's encoder-decoder with pre-norm blocks, a layer norm closing encoder and decoder,
no embedding norm and learned positions without fairseq's offset of 2 — class switches on BART's
classes (see models/bart/modeling.py), same weight names as Transformers."""

from __future__ import annotations

from ..bart.modeling import BartForConditionalGeneration, BartModel
from .configuration import BlenderbotConfig


class BlenderbotModel(BartModel):
    config_class = BlenderbotConfig
    normalize_before = True
    layernorm_embedding = False
    final_layer_norm = True
    position_offset = 0

    def _default_decoder_input_ids(self, input_ids):
        # Unlike BART, Transformers does not derive decoder inputs from input_ids here.
        raise ValueError(
            f"{type(self).__name__}: pass decoder_input_ids (start them with decoder_start_token_id="
            f"{self.config.decoder_start_token_id}), or use BlenderbotForConditionalGeneration with labels.")


class BlenderbotForConditionalGeneration(BartForConditionalGeneration):
    config_class = BlenderbotConfig
    base_model_class = BlenderbotModel
