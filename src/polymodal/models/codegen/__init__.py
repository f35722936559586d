"""CodeGen (Salesforce): GPT-J-style blocks for program synthesis."""

from .configuration import CodeGenConfig
from .modeling import CodeGenForCausalLM, CodeGenModel, CodeGenPreTrainedModel

__all__ = ["CodeGenConfig", "CodeGenModel", "CodeGenForCausalLM", "CodeGenPreTrainedModel"]
