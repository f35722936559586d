"""The BERT / RoBERTa / XLM-R text encoder shared by ALIGN, AltCLIP, Chinese-CLIP and CLAP."""

from .configuration import BertConfig, RobertaConfig, XLMRobertaConfig
from .modeling import BertModel, BertPreTrainedModel, RobertaModel, XLMRobertaModel

__all__ = ["BertConfig", "RobertaConfig", "XLMRobertaConfig", "BertModel", "BertPreTrainedModel",
           "RobertaModel", "XLMRobertaModel"]
