"""BLOOM (BigScience): ALiBi positions, fused query/key/value, embedding LayerNorm."""

from .configuration import BloomConfig
from .modeling import BloomForCausalLM, BloomForSequenceClassification, BloomModel, BloomPreTrainedModel

__all__ = ["BloomConfig", "BloomModel", "BloomForCausalLM", "BloomForSequenceClassification", "BloomPreTrainedModel"]
