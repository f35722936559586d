"""What ``generate(..., return_dict_in_generate=True)`` returns (Transformers' class names)."""

from __future__ import annotations

from typing import Any

from ..core.outputs import ModelOutput, output_dataclass


@output_dataclass
class GenerateDecoderOnlyOutput(ModelOutput):
    sequences: Any = None
    scores: Any = None  # tuple, one (B, V) tensor of processed scores per generated token
    logits: Any = None  # tuple, one (B, V) tensor of raw logits per generated token
    attentions: Any = None
    hidden_states: Any = None
    past_key_values: Any = None


@output_dataclass
class GenerateEncoderDecoderOutput(ModelOutput):
    sequences: Any = None
    scores: Any = None
    logits: Any = None
    encoder_attentions: Any = None
    encoder_hidden_states: Any = None
    decoder_attentions: Any = None
    cross_attentions: Any = None
    decoder_hidden_states: Any = None
    past_key_values: Any = None


@output_dataclass
class GenerateBeamDecoderOnlyOutput(ModelOutput):
    sequences: Any = None
    sequences_scores: Any = None
    scores: Any = None
    logits: Any = None
    beam_indices: Any = None
    attentions: Any = None
    hidden_states: Any = None
    past_key_values: Any = None


@output_dataclass
class GenerateBeamEncoderDecoderOutput(ModelOutput):
    sequences: Any = None
    sequences_scores: Any = None
    scores: Any = None
    logits: Any = None
    beam_indices: Any = None
    encoder_attentions: Any = None
    encoder_hidden_states: Any = None
    decoder_attentions: Any = None
    cross_attentions: Any = None
    decoder_hidden_states: Any = None
    past_key_values: Any = None


# Transformers 4.x names, documented in text_generation.md
GreedySearchDecoderOnlyOutput = SampleDecoderOnlyOutput = GenerateDecoderOnlyOutput
GreedySearchEncoderDecoderOutput = SampleEncoderDecoderOutput = GenerateEncoderDecoderOutput
BeamSearchDecoderOnlyOutput = BeamSampleDecoderOnlyOutput = GenerateBeamDecoderOnlyOutput
BeamSearchEncoderDecoderOutput = BeamSampleEncoderDecoderOutput = GenerateBeamEncoderDecoderOutput
