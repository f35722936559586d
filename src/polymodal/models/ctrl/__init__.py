"""CTRL (Salesforce): a conditional transformer language model steered by control codes."""

from .configuration import CTRLConfig
from .modeling import CTRLForSequenceClassification, CTRLLMHeadModel, CTRLModel, CTRLPreTrainedModel

__all__ = ["CTRLConfig", "CTRLModel", "CTRLLMHeadModel", "CTRLForSequenceClassification", "CTRLPreTrainedModel"]
