"""X-CLIP configs: ``XCLIPTextConfig``, ``XCLIPVisionConfig`` and the composite ``XCLIPConfig``.

Field names and defaults are Transformers' (``microsoft/xclip-base-patch32``). The vision
config adds the multi-frame integration transformer's sizes (``mit_*``) and ``num_frames``;
the composite config adds the video-specific prompt generator's (``prompt_*``).
"""

from __future__ import annotations

from ...core.errors import ConfigError
from ..clip.configuration import CLIPTextFields, CLIPVisionFields, TextVisionConfig


class XCLIPTextConfig(CLIPTextFields):
    model_type = "xclip_text_model"

    bos_token_id: int | None = 0
    eos_token_id: int | None = 2


class XCLIPVisionConfig(CLIPVisionFields):
    model_type = "xclip_vision_model"

    mit_hidden_size: int = 512
    mit_intermediate_size: int = 2048
    mit_num_hidden_layers: int = 1
    mit_num_attention_heads: int = 8
    num_frames: int = 8
    drop_path_rate: float = 0.0

    def validate(self) -> None:
        super().validate()
        if self.mit_num_attention_heads <= 0 or self.mit_hidden_size % self.mit_num_attention_heads:
            raise ConfigError(
                f"mit_hidden_size={self.mit_hidden_size} is not a multiple of mit_num_attention_heads="
                f"{self.mit_num_attention_heads}."
            )
        if self.num_frames < 1:
            raise ConfigError(f"num_frames={self.num_frames} must be at least 1.")

    def mit_config(self) -> "XCLIPVisionConfig":
        """The same config with the MIT's sizes as the transformer sizes (what its layers read)."""
        config = self.copy()
        config.hidden_size = self.mit_hidden_size
        config.intermediate_size = self.mit_intermediate_size
        config.num_hidden_layers = self.mit_num_hidden_layers
        config.num_attention_heads = self.mit_num_attention_heads
        return config


class XCLIPConfig(TextVisionConfig):
    model_type = "xclip"
    sub_configs = {"text_config": XCLIPTextConfig, "vision_config": XCLIPVisionConfig}

    text_config: XCLIPTextConfig | None = None
    vision_config: XCLIPVisionConfig | None = None
    projection_dim: int = 512
    prompt_layers: int = 2
    prompt_alpha: float = 0.1
    prompt_hidden_act: str = "quick_gelu"
    prompt_num_attention_heads: int = 8
    prompt_attention_dropout: float = 0.0
    prompt_projection_dropout: float = 0.0
    logit_scale_init_value: float = 2.6592
    initializer_factor: float = 1.0

    def validate(self) -> None:
        if self.prompt_num_attention_heads <= 0 or self.projection_dim % self.prompt_num_attention_heads:
            raise ConfigError(
                f"projection_dim={self.projection_dim} is not a multiple of prompt_num_attention_heads="
                f"{self.prompt_num_attention_heads}."
            )
        if self.vision_config.mit_hidden_size != self.projection_dim:
            raise ConfigError(
                f"vision_config.mit_hidden_size={self.vision_config.mit_hidden_size} must equal projection_dim="
                f"{self.projection_dim}: the MIT runs on the projected frame embeddings."
            )
