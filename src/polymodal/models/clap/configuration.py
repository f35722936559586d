"""CLAP configs: ``ClapTextConfig`` (RoBERTa), ``ClapAudioConfig`` (HTSAT) and the composite ``ClapConfig``.

Field names and defaults are Transformers' (``laion/clap-htsat-fused``). As there, the composite
config copies its ``projection_dim`` and ``projection_hidden_act`` into both tower configs, so
the two projections always meet in one space. ``from_text_audio_configs`` is kept (Transformers 5
dropped it in favour of passing both configs to the constructor; both spellings work here).
"""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError
from ..bert.configuration import check_heads


class ClapTextConfig(PretrainedConfig):
    """A RoBERTa encoder with a two-layer projection head (``projection_dim``, ``projection_hidden_act``)."""

    model_type = "clap_text_model"

    vocab_size: int = 50265
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 514
    type_vocab_size: int = 1
    initializer_factor: float = 1.0
    layer_norm_eps: float = 1e-12
    projection_dim: int = 512
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2
    projection_hidden_act: str = "relu"

    def validate(self) -> None:
        check_heads(self)


class ClapAudioConfig(PretrainedConfig):
    """HTSAT: a Swin transformer over the log-mel "image" (``spec_size`` square), optional patch fusion."""

    model_type = "clap_audio_model"

    window_size: int = 8
    num_mel_bins: int = 64
    spec_size: int = 256
    hidden_act: str = "gelu"
    patch_size: int = 4
    patch_stride: list = [4, 4]
    num_classes: int = 527
    hidden_size: int = 768
    projection_dim: int = 512
    depths: list = [2, 2, 6, 2]
    num_attention_heads: list = [4, 8, 16, 32]
    enable_fusion: bool = False
    hidden_dropout_prob: float = 0.1
    fusion_type: str | None = None
    patch_embed_input_channels: int = 1
    flatten_patch_embeds: bool = True
    patch_embeds_hidden_size: int = 96
    enable_patch_layer_norm: bool = True
    drop_path_rate: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    qkv_bias: bool = True
    mlp_ratio: float = 4.0
    aff_block_r: int = 4
    num_hidden_layers: int = 4
    projection_hidden_act: str = "relu"
    layer_norm_eps: float = 1e-5
    initializer_factor: float = 1.0

    def validate(self) -> None:
        if len(self.depths) != len(self.num_attention_heads):
            raise ConfigError(
                f"depths={list(self.depths)} and num_attention_heads={list(self.num_attention_heads)} must have "
                "one entry per stage (the same length)."
            )
        for stage, heads in enumerate(self.num_attention_heads):
            width = self.patch_embeds_hidden_size * 2**stage
            if heads <= 0 or width % heads:
                raise ConfigError(
                    f"Stage {stage} has width patch_embeds_hidden_size * 2**{stage} = {width}, which "
                    f"num_attention_heads[{stage}]={heads} does not divide; pick heads that divide each width."
                )
        if self.num_mel_bins <= 0 or self.spec_size < self.num_mel_bins:
            raise ConfigError(
                f"spec_size={self.spec_size} must be at least num_mel_bins={self.num_mel_bins}: the model folds "
                "the spectrogram into a spec_size x spec_size image, spec_size // num_mel_bins rows per mel bin."
            )
        if self.window_size <= 0:
            raise ConfigError(f"window_size must be positive, got {self.window_size}.")

    @property
    def encoder_width(self) -> int:
        """Channels after the last stage: ``patch_embeds_hidden_size * 2**(stages - 1)``."""
        return self.patch_embeds_hidden_size * 2 ** (len(self.depths) - 1)


class ClapConfig(PretrainedConfig):
    model_type = "clap"
    sub_configs = {"text_config": ClapTextConfig, "audio_config": ClapAudioConfig}

    text_config: ClapTextConfig | None = None
    audio_config: ClapAudioConfig | None = None
    logit_scale_init_value: float = 1 / 0.07
    projection_dim: int = 512
    projection_hidden_act: str = "relu"
    initializer_factor: float = 1.0

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for tower in (self.text_config, self.audio_config):
            tower.projection_dim = self.projection_dim
            tower.projection_hidden_act = self.projection_hidden_act
        # Transformers sets these two on the composite config (its weight init reads them).
        self.hidden_size = self.text_config.hidden_size
        self.num_hidden_layers = self.text_config.num_hidden_layers + len(self.audio_config.depths)

    @classmethod
    def from_text_audio_configs(cls, text_config: ClapTextConfig, audio_config: ClapAudioConfig, **kwargs):
        """Build the composite config from a text config and an audio config (objects or dicts)."""
        def plain(config):
            return config.to_dict() if isinstance(config, PretrainedConfig) else dict(config)

        return cls(text_config=plain(text_config), audio_config=plain(audio_config), **kwargs)
