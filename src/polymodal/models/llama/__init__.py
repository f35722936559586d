"""Llama (1, 2, 3) and Code Llama."""

from .configuration import LlamaConfig
from .modeling import LlamaForCausalLM, LlamaForSequenceClassification, LlamaModel, LlamaPreTrainedModel

__all__ = ["LlamaConfig", "LlamaModel", "LlamaForCausalLM", "LlamaForSequenceClassification", "LlamaPreTrainedModel"]
