"""``BartConfig``: Transformers' field names and defaults (``facebook/bart-large`` shapes)."""

from __future__ import annotations

from typing import ClassVar

from ...core.config import PretrainedConfig
from ..whisper.configuration import check_seq2seq_heads


class BartConfig(PretrainedConfig):
    model_type = "bart"
    attribute_map: ClassVar[dict[str, str]] = {
        "num_attention_heads": "encoder_attention_heads",
        "hidden_size": "d_model",
        "num_hidden_layers": "encoder_layers",
    }

    vocab_size: int = 50265
    max_position_embeddings: int = 1024
    encoder_layers: int = 12
    encoder_ffn_dim: int = 4096
    encoder_attention_heads: int = 16
    decoder_layers: int = 12
    decoder_ffn_dim: int = 4096
    decoder_attention_heads: int = 16
    encoder_layerdrop: float = 0.0
    decoder_layerdrop: float = 0.0
    activation_function: str = "gelu"
    d_model: int = 1024
    dropout: float = 0.1
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    init_std: float = 0.02
    classifier_dropout: float = 0.0
    scale_embedding: bool = False
    use_cache: bool = True
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2
    is_encoder_decoder: bool = True
    decoder_start_token_id: int | None = 2
    forced_eos_token_id: int | None = 2
    forced_bos_token_id: int | None = None
    is_decoder: bool = False
    tie_word_embeddings: bool = True

    def validate(self) -> None:
        check_seq2seq_heads(self)
