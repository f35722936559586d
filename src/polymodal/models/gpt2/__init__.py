"""GPT-2 (and DistilGPT2 / DialoGPT, which are GPT-2 checkpoints)."""

from .configuration import GPT2Config
from .modeling import GPT2ForSequenceClassification, GPT2LMHeadModel, GPT2Model, GPT2PreTrainedModel

__all__ = ["GPT2Config", "GPT2Model", "GPT2LMHeadModel", "GPT2ForSequenceClassification", "GPT2PreTrainedModel"]
