"""Configs of the BERT-like text encoders: ``BertConfig``, ``RobertaConfig``, ``XLMRobertaConfig``.

The three share every field (Transformers' names and defaults); they differ only in
``model_type`` and a few token ids / vocabulary sizes. RoBERTa-style models count positions
from ``pad_token_id + 1``, which is a property of the model class, not of the config.
"""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


def check_heads(config: PretrainedConfig) -> None:
    """The hidden size must split evenly into attention heads (shared by every text/vision tower)."""
    if config.num_attention_heads <= 0 or config.hidden_size % config.num_attention_heads:
        raise ConfigError(
            f"hidden_size={config.hidden_size} is not a multiple of num_attention_heads="
            f"{config.num_attention_heads}; choose sizes where hidden_size % num_attention_heads == 0."
        )


class BertConfig(PretrainedConfig):
    model_type = "bert"

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    use_cache: bool = True
    classifier_dropout: float | None = None
    is_decoder: bool = False
    add_cross_attention: bool = False
    tie_word_embeddings: bool = True

    def validate(self) -> None:
        check_heads(self)
        if self.is_decoder or self.add_cross_attention:
            raise ConfigError(
                "is_decoder/add_cross_attention=True: polymodal's BERT-like models are encoders only; "
                "set both to False."
            )


class RobertaConfig(BertConfig):
    model_type = "roberta"

    vocab_size: int = 50265
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2


class XLMRobertaConfig(RobertaConfig):
    model_type = "xlm-roberta"

    vocab_size: int = 30522
