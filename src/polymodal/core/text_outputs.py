"""Output classes of the text-encoder task heads (Transformers' names and fields)."""

from __future__ import annotations

from typing import Any

from .outputs import ModelOutput, SequenceClassifierOutput, output_dataclass

__all__ = ["MaskedLMOutput", "MultipleChoiceModelOutput", "QuestionAnsweringModelOutput",
           "SequenceClassifierOutput", "TokenClassifierOutput"]


@output_dataclass
class MaskedLMOutput(ModelOutput):
    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class TokenClassifierOutput(ModelOutput):
    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class QuestionAnsweringModelOutput(ModelOutput):
    loss: Any = None
    start_logits: Any = None
    end_logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class MultipleChoiceModelOutput(ModelOutput):
    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None
