"""``WhisperConfig``: Transformers' field names and defaults (``openai/whisper-tiny`` shapes)."""

from __future__ import annotations

from typing import ClassVar

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


def check_seq2seq_heads(config) -> None:
    """``d_model`` must split evenly into the encoder's and the decoder's heads."""
    for name in ("encoder_attention_heads", "decoder_attention_heads"):
        heads = getattr(config, name)
        if heads <= 0 or config.d_model % heads:
            raise ConfigError(
                f"d_model={config.d_model} is not a multiple of {name}={heads}; choose sizes where "
                f"d_model % {name} == 0."
            )


class WhisperConfig(PretrainedConfig):
    model_type = "whisper"
    attribute_map: ClassVar[dict[str, str]] = {
        "num_key_value_heads": "encoder_attention_heads",
        "num_attention_heads": "encoder_attention_heads",
        "hidden_size": "d_model",
        "num_hidden_layers": "encoder_layers",
    }

    vocab_size: int = 51865
    num_mel_bins: int = 80
    encoder_layers: int = 4
    encoder_attention_heads: int = 6
    decoder_layers: int = 4
    decoder_attention_heads: int = 6
    decoder_ffn_dim: int = 1536
    encoder_ffn_dim: int = 1536
    encoder_layerdrop: float = 0.0
    decoder_layerdrop: float = 0.0
    decoder_start_token_id: int = 50257
    use_cache: bool = True
    is_encoder_decoder: bool = True
    activation_function: str = "gelu"
    d_model: int = 384
    dropout: float = 0.0
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    init_std: float = 0.02
    scale_embedding: bool = False
    max_source_positions: int = 1500
    max_target_positions: int = 448
    pad_token_id: int | None = 50256
    bos_token_id: int | None = 50256
    eos_token_id: int | None = 50256
    suppress_tokens: list | None = None
    begin_suppress_tokens: list | tuple | None = (220, 50256)
    use_weighted_layer_sum: bool = False
    classifier_proj_size: int = 256
    apply_spec_augment: bool = False
    mask_time_prob: float = 0.05
    mask_time_length: int = 10
    mask_time_min_masks: int = 2
    mask_feature_prob: float = 0.0
    mask_feature_length: int = 10
    mask_feature_min_masks: int = 0
    median_filter_width: int = 7
    tie_word_embeddings: bool = True

    def validate(self) -> None:
        check_seq2seq_heads(self)
        if self.num_mel_bins <= 0:
            raise ConfigError(f"num_mel_bins={self.num_mel_bins} must be positive (80 or 128 for Whisper).")
