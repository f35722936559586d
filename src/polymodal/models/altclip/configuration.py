"""AltCLIP configs: an XLM-R text config with a projection size, CLIP's vision config, and the pair.

Field names and defaults are Transformers' (``BAAI/AltCLIP``).
"""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ..bert.configuration import check_heads
from ..clip.configuration import CLIPVisionConfig, TextVisionConfig


class AltCLIPTextConfig(PretrainedConfig):
    """XLM-R encoder fields, plus ``project_dim``: the width of the ``transformation`` output."""

    model_type = "altclip_text_model"

    vocab_size: int = 250002
    hidden_size: int = 1024
    intermediate_size: int = 4096
    num_hidden_layers: int = 24
    num_attention_heads: int = 16
    max_position_embeddings: int = 514
    hidden_act: str = "gelu"
    layer_norm_eps: float = 1e-5
    initializer_range: float = 0.02
    initializer_factor: float = 0.02
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.0
    type_vocab_size: int = 1
    project_dim: int = 768

    def validate(self) -> None:
        check_heads(self)


class AltCLIPVisionConfig(CLIPVisionConfig):
    model_type = "altclip_vision_model"


class AltCLIPConfig(TextVisionConfig):
    model_type = "altclip"
    sub_configs = {"text_config": AltCLIPTextConfig, "vision_config": AltCLIPVisionConfig}

    text_config: AltCLIPTextConfig | None = None
    vision_config: AltCLIPVisionConfig | None = None
    projection_dim: int = 768
    logit_scale_init_value: float = 2.6592
    initializer_factor: float = 1.0
