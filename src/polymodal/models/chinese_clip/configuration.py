"""Chinese-CLIP configs: a BERT text config, CLIP's vision config, and the pair.

Field names and defaults are Transformers' (``OFA-Sys/chinese-clip-vit-base-patch16``).
"""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ..bert.configuration import check_heads
from ..clip.configuration import CLIPVisionConfig, TextVisionConfig


class ChineseCLIPTextConfig(PretrainedConfig):
    """The fields of a BERT encoder (Chinese RoBERTa-wwm checkpoints use BERT's architecture)."""

    model_type = "chinese_clip_text_model"

    vocab_size: int = 30522
    hidden_size: int = 768
    intermediate_size: int = 3072
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    max_position_embeddings: int = 512
    hidden_act: str = "gelu"
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    initializer_factor: float | None = 1.0
    pad_token_id: int | None = 0
    bos_token_id: int | None = 0
    eos_token_id: int | None = None
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    type_vocab_size: int = 2

    def validate(self) -> None:
        check_heads(self)


class ChineseCLIPVisionConfig(CLIPVisionConfig):
    """CLIP's vision fields and defaults (ViT-B/32 sizes)."""

    model_type = "chinese_clip_vision_model"


class ChineseCLIPConfig(TextVisionConfig):
    model_type = "chinese_clip"
    sub_configs = {"text_config": ChineseCLIPTextConfig, "vision_config": ChineseCLIPVisionConfig}

    text_config: ChineseCLIPTextConfig | None = None
    vision_config: ChineseCLIPVisionConfig | None = None
    projection_dim: int | None = 512
    logit_scale_init_value: float = 2.6592
    initializer_factor: float | None = 1.0
    initializer_range: float = 0.02
