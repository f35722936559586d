"""``CanineConfig``: Transformers' field names and defaults (CANINE-s/c sizes)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError
from ..bert.configuration import check_heads

PRIMES = (31, 43, 59, 61, 73, 97, 103, 113, 137, 149, 157, 173, 181, 193, 211, 223)  # one per hash function


class CanineConfig(PretrainedConfig):
    model_type = "canine"

    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 16384
    type_vocab_size: int = 16
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    bos_token_id: int | None = 0xE000
    eos_token_id: int | None = 0xE001
    downsampling_rate: int = 4
    upsampling_kernel_size: int = 4
    num_hash_functions: int = 8
    num_hash_buckets: int = 16384
    local_transformer_stride: int = 128

    def validate(self) -> None:
        check_heads(self)
        if not 1 <= self.num_hash_functions <= len(PRIMES):
            raise ConfigError(f"num_hash_functions={self.num_hash_functions} must be between 1 and {len(PRIMES)}.")
        if self.hidden_size % self.num_hash_functions:
            raise ConfigError(f"hidden_size={self.hidden_size} must be a multiple of num_hash_functions="
                              f"{self.num_hash_functions} (each hash fills an equal slice of the embedding).")
