"""``BlenderbotSmallConfig``: BART's fields with ``facebook/blenderbot_small-90M``'s defaults."""

from __future__ import annotations

from ..bart.configuration import BartConfig


class BlenderbotSmallConfig(BartConfig):
    model_type = "blenderbot-small"

    vocab_size: int = 50265
    max_position_embeddings: int = 512
    encoder_layers: int = 8
    encoder_ffn_dim: int = 2048
    encoder_attention_heads: int = 16
    decoder_layers: int = 8
    decoder_ffn_dim: int = 2048
    decoder_attention_heads: int = 16
    d_model: int = 512
    pad_token_id: int | None = 0
    bos_token_id: int | None = 1
    eos_token_id: int | None = 2
    decoder_start_token_id: int | None = 1
    forced_eos_token_id: int | None = 2
