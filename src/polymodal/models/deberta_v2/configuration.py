"""``DebertaV2Config``: DeBERTa's fields plus v2's buckets, shared keys and convolution."""

from __future__ import annotations

from ..deberta.configuration import DebertaConfig


class DebertaV2Config(DebertaConfig):
    model_type = "deberta-v2"

    vocab_size: int = 128100
    hidden_size: int = 1536
    num_hidden_layers: int = 24
    num_attention_heads: int = 24
    intermediate_size: int = 6144
    position_buckets: int = -1  # > 0: log-bucketed relative positions
    share_att_key: bool = False  # position projections reuse query_proj/key_proj
    norm_rel_ebd: str = "none"  # "layer_norm": LayerNorm over the relative embeddings
    conv_kernel_size: int = 0  # > 0: a convolution beside the first layer
    conv_groups: int = 1
    conv_act: str = "tanh"
    attention_head_size: int | None = None  # None: hidden_size // num_attention_heads

    def _validate_sizes(self) -> None:
        saved = self.position_buckets, self.conv_kernel_size
        self.position_buckets, self.conv_kernel_size = None, None
        try:
            super()._validate_sizes()
        finally:
            self.position_buckets, self.conv_kernel_size = saved
