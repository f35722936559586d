"""OPT (Meta's Open Pre-trained Transformers)."""

from .configuration import OPTConfig
from .modeling import OPTForCausalLM, OPTForSequenceClassification, OPTModel, OPTPreTrainedModel

__all__ = ["OPTConfig", "OPTModel", "OPTForCausalLM", "OPTForSequenceClassification", "OPTPreTrainedModel"]
