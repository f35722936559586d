"""Decision Transformer: offline reinforcement learning as sequence modelling on a GPT-2 backbone."""

from .configuration import DecisionTransformerConfig
from .modeling import (
    DecisionTransformerGPT2Model,
    DecisionTransformerModel,
    DecisionTransformerOutput,
    DecisionTransformerPreTrainedModel,
)

__all__ = ["DecisionTransformerConfig", "DecisionTransformerGPT2Model", "DecisionTransformerModel",
           "DecisionTransformerOutput", "DecisionTransformerPreTrainedModel"]
