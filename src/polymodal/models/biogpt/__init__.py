"""BioGPT (Microsoft): a GPT-2-sized decoder trained on PubMed, with a Moses + BPE tokenizer."""

from .configuration import BioGptConfig
from .modeling import (
    BioGptForCausalLM,
    BioGptForSequenceClassification,
    BioGptForTokenClassification,
    BioGptModel,
    BioGptPreTrainedModel,
)

__all__ = ["BioGptConfig", "BioGptModel", "BioGptForCausalLM", "BioGptForSequenceClassification", "BioGptForTokenClassification",
           "BioGptPreTrainedModel"]
