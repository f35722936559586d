"""Outputs of encoder-decoder models (Whisper, BART, T5 …), with Transformers' field names."""

from __future__ import annotations

from typing import Any

import torch

from .outputs import BaseModelOutput, ModelOutput, output_dataclass


@output_dataclass
class BaseModelOutputWithPastAndCrossAttentions(ModelOutput):
    last_hidden_state: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None
    cross_attentions: Any = None


@output_dataclass
class Seq2SeqModelOutput(ModelOutput):
    last_hidden_state: Any = None
    past_key_values: Any = None
    decoder_hidden_states: Any = None
    decoder_attentions: Any = None
    cross_attentions: Any = None
    encoder_last_hidden_state: Any = None
    encoder_hidden_states: Any = None
    encoder_attentions: Any = None


@output_dataclass
class Seq2SeqLMOutput(ModelOutput):
    loss: Any = None
    logits: Any = None
    past_key_values: Any = None
    decoder_hidden_states: Any = None
    decoder_attentions: Any = None
    cross_attentions: Any = None
    encoder_last_hidden_state: Any = None
    encoder_hidden_states: Any = None
    encoder_attentions: Any = None


@output_dataclass
class Seq2SeqSequenceClassifierOutput(ModelOutput):
    loss: Any = None
    logits: Any = None
    past_key_values: Any = None
    decoder_hidden_states: Any = None
    decoder_attentions: Any = None
    cross_attentions: Any = None
    encoder_last_hidden_state: Any = None
    encoder_hidden_states: Any = None
    encoder_attentions: Any = None


@output_dataclass
class Seq2SeqQuestionAnsweringModelOutput(ModelOutput):
    loss: Any = None
    start_logits: Any = None
    end_logits: Any = None
    past_key_values: Any = None
    decoder_hidden_states: Any = None
    decoder_attentions: Any = None
    cross_attentions: Any = None
    encoder_last_hidden_state: Any = None
    encoder_hidden_states: Any = None
    encoder_attentions: Any = None


def as_encoder_output(encoder_outputs) -> BaseModelOutput:
    """Accept the encoder output as a ModelOutput, a tuple or a bare tensor."""
    if isinstance(encoder_outputs, BaseModelOutput):
        return encoder_outputs
    if isinstance(encoder_outputs, torch.Tensor):
        return BaseModelOutput(last_hidden_state=encoder_outputs)
    if isinstance(encoder_outputs, dict):
        return BaseModelOutput(**{k: encoder_outputs.get(k) for k in ("last_hidden_state", "hidden_states", "attentions")})
    items = list(encoder_outputs) + [None, None]
    return BaseModelOutput(last_hidden_state=items[0], hidden_states=items[1], attentions=items[2])


def seq2seq_model_output(decoder_out, encoder_out) -> Seq2SeqModelOutput:
    return Seq2SeqModelOutput(
        last_hidden_state=decoder_out.last_hidden_state,
        past_key_values=decoder_out.past_key_values,
        decoder_hidden_states=decoder_out.hidden_states,
        decoder_attentions=decoder_out.attentions,
        cross_attentions=decoder_out.cross_attentions,
        encoder_last_hidden_state=encoder_out.last_hidden_state,
        encoder_hidden_states=encoder_out.hidden_states,
        encoder_attentions=encoder_out.attentions,
    )


def lm_output(loss, logits, model_out: Seq2SeqModelOutput) -> Seq2SeqLMOutput:
    return Seq2SeqLMOutput(loss=loss, logits=logits, **{k: getattr(model_out, k) for k in (
        "past_key_values", "decoder_hidden_states", "decoder_attentions", "cross_attentions",
        "encoder_last_hidden_state", "encoder_hidden_states", "encoder_attentions")})
