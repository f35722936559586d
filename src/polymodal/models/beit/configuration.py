"""``BeitConfig``: Transformers' field names and defaults (``microsoft/beit-base-patch16-224``)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ..vit.configuration import pair, validate_vit_fields


class BeitConfig(PretrainedConfig):
    model_type = "beit"

    vocab_size: int = 8192
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    image_size: int = 224
    patch_size: int = 16
    num_channels: int = 3
    use_mask_token: bool = False
    use_absolute_position_embeddings: bool = False
    use_relative_position_bias: bool = False
    use_shared_relative_position_bias: bool = False
    layer_scale_init_value: float = 0.1
    drop_path_rate: float = 0.1
    use_mean_pooling: bool = True
    # Semantic-segmentation head fields (kept for round trips; the heads are not implemented).
    pool_scales: list = (1, 2, 3, 6)
    use_auxiliary_head: bool = True
    auxiliary_loss_weight: float = 0.4
    auxiliary_channels: int = 256
    auxiliary_num_convs: int = 1
    auxiliary_concat_input: bool = False
    semantic_loss_ignore_index: int = 255

    def validate(self) -> None:
        self.pool_scales = list(self.pool_scales)
        validate_vit_fields(self)

    @property
    def window_size(self) -> tuple[int, int]:
        (h, w), (ph, pw) = pair(self.image_size), pair(self.patch_size)
        return h // ph, w // pw
