"""``AlbertConfig``: Transformers' field names and defaults (ALBERT-xxlarge's sizes)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError
from ..bert.configuration import check_heads


class AlbertConfig(PretrainedConfig):
    model_type = "albert"

    vocab_size: int = 30000
    embedding_size: int = 128
    hidden_size: int = 4096
    num_hidden_layers: int = 12
    num_hidden_groups: int = 1
    num_attention_heads: int = 64
    intermediate_size: int = 16384
    inner_group_num: int = 1
    hidden_act: str = "gelu_new"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    classifier_dropout_prob: float | None = 0.1
    pad_token_id: int | None = 0
    bos_token_id: int | None = 2
    eos_token_id: int | None = 3
    tie_word_embeddings: bool = True

    def validate(self) -> None:
        check_heads(self)
        if self.num_hidden_groups < 1 or self.num_hidden_layers % self.num_hidden_groups:
            raise ConfigError(
                f"num_hidden_groups={self.num_hidden_groups} must divide num_hidden_layers={self.num_hidden_layers} "
                "(each group is shared by an equal run of layers)."
            )
