"""``BlenderbotConfig``: BART's fields with Blenderbot's defaults (``facebook/blenderbot-3B`` shapes)."""

from __future__ import annotations

from ..bart.configuration import BartConfig


class BlenderbotConfig(BartConfig):
    model_type = "blenderbot"

    vocab_size: int = 8008
    max_position_embeddings: int = 128
    encoder_layers: int = 2
    encoder_ffn_dim: int = 10240
    encoder_attention_heads: int = 32
    decoder_layers: int = 24
    decoder_ffn_dim: int = 10240
    decoder_attention_heads: int = 32
    d_model: int = 2560
    pad_token_id: int | None = 0
    bos_token_id: int | None = 1
    eos_token_id: int | None = 2
    decoder_start_token_id: int | None = 1
    encoder_no_repeat_ngram_size: int = 3
    forced_eos_token_id: int | None = 2
