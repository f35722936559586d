"""``BigBirdConfig``: Transformers' field names and defaults (``google/bigbird-roberta-base`` shapes)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError
from ..bert.configuration import check_heads

ATTENTION_TYPES = ("block_sparse", "original_full")


def check_attention_type(config) -> None:
    """``attention_type`` names one of the two kernels (shared with BigBird-Pegasus)."""
    if config.attention_type not in ATTENTION_TYPES:
        raise ConfigError(
            f"attention_type={config.attention_type!r} is not one of {ATTENTION_TYPES}: 'block_sparse' is BigBird's "
            "linear-cost attention, 'original_full' ordinary full attention."
        )


class BigBirdConfig(PretrainedConfig):
    model_type = "big_bird"

    vocab_size: int = 50358
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu_new"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 4096
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    use_cache: bool = True
    pad_token_id: int | None = 0
    bos_token_id: int | None = 1
    eos_token_id: int | None = 2
    sep_token_id: int | None = 66
    attention_type: str = "block_sparse"
    use_bias: bool = True
    rescale_embeddings: bool = False
    block_size: int = 64
    num_random_blocks: int = 3
    classifier_dropout: float | None = None
    is_decoder: bool = False
    add_cross_attention: bool = False
    tie_word_embeddings: bool = True

    def validate(self) -> None:
        check_heads(self)
        check_attention_type(self)
        if self.add_cross_attention:
            raise ConfigError(
                "add_cross_attention=True: polymodal's BigBird has no cross-attention (it is an encoder, or with "
                "is_decoder=True a stand-alone causal LM); set it to False."
            )
