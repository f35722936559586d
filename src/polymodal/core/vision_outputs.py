"""Output classes of the vision backbones and their heads (Transformers' names and fields)."""

from __future__ import annotations

from typing import Any

from .outputs import ModelOutput, output_dataclass


@output_dataclass
class ImageClassifierOutput(ModelOutput):
    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class ImageClassifierOutputWithNoAttention(ModelOutput):
    loss: Any = None
    logits: Any = None
    hidden_states: Any = None


@output_dataclass
class BaseModelOutputWithNoAttention(ModelOutput):
    last_hidden_state: Any = None
    hidden_states: Any = None


@output_dataclass
class BaseModelOutputWithPoolingAndNoAttention(ModelOutput):
    last_hidden_state: Any = None
    pooler_output: Any = None
    hidden_states: Any = None


@output_dataclass
class MaskedImageModelingOutput(ModelOutput):
    loss: Any = None
    reconstruction: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class MaskedLMOutput(ModelOutput):
    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None
