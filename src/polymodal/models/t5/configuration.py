"""``T5Config``: Transformers' field names and defaults (``t5-small`` shapes)."""

from __future__ import annotations

from typing import ClassVar

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class T5Config(PretrainedConfig):
    model_type = "t5"
    attribute_map: ClassVar[dict[str, str]] = {
        "hidden_size": "d_model",
        "num_attention_heads": "num_heads",
        "num_hidden_layers": "num_layers",
        "head_dim": "d_kv",
    }

    vocab_size: int = 32128
    d_model: int = 512
    d_kv: int = 64
    d_ff: int = 2048
    num_layers: int = 6
    num_decoder_layers: int | None = None
    num_heads: int = 8
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    dropout_rate: float = 0.1
    layer_norm_epsilon: float = 1e-6
    initializer_factor: float = 1.0
    feed_forward_proj: str = "relu"
    is_encoder_decoder: bool = True
    use_cache: bool = True
    pad_token_id: int | None = 0
    eos_token_id: int | None = 1
    decoder_start_token_id: int | None = None
    classifier_dropout: float = 0.0
    is_decoder: bool = False
    tie_word_embeddings: bool = True
    # Original T5 scales the decoder output by d_model**-0.5 before its (tied) LM head; T5 v1.1
    # does not. Transformers 5 stores this explicitly; older configs say it with tie_word_embeddings.
    scale_decoder_outputs: bool | None = None
    # Derived from feed_forward_proj when absent ('gated-gelu' means the tanh GELU, as in T5 v1.1).
    dense_act_fn: str | None = None
    is_gated_act: bool | None = None

    def validate(self) -> None:
        if self.num_decoder_layers is None:
            self.num_decoder_layers = self.num_layers
        if self.scale_decoder_outputs is None:
            self.scale_decoder_outputs = self.tie_word_embeddings is not False
        if self.decoder_start_token_id is None:
            self.decoder_start_token_id = self.pad_token_id  # T5's convention: decoding starts from <pad>
        parts = self.feed_forward_proj.split("-")
        if len(parts) > 2 or (len(parts) == 2 and parts[0] != "gated"):
            raise ConfigError(
                f"feed_forward_proj={self.feed_forward_proj!r} is not 'ACT' or 'gated-ACT' (e.g. 'relu', 'gated-gelu')."
            )
        if self.dense_act_fn is None:
            self.dense_act_fn = "gelu_new" if self.feed_forward_proj == "gated-gelu" else parts[-1]
        if self.is_gated_act is None:
            self.is_gated_act = parts[0] == "gated" and len(parts) == 2
