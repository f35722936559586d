"""``EncoderDecoderConfig``: the encoder's and the decoder's configs nested under one ``config.json``."""

from __future__ import annotations

import copy

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


def _sub_config(name: str, value, decoder: bool) -> PretrainedConfig:
    from ..auto import class_for

    if isinstance(value, PretrainedConfig):
        return value
    if value is None:  # Transformers' default pair: BERT encoder, BERT decoder with cross-attention
        value = {"model_type": "bert", **({"is_decoder": True, "add_cross_attention": True} if decoder else {})}
    if not isinstance(value, dict):
        raise ConfigError(f"EncoderDecoderConfig.{name} must be a config or a dict, got {type(value).__name__}.")
    if not value.get("model_type"):
        raise ConfigError(f"EncoderDecoderConfig.{name} has no 'model_type'; cannot tell which model it configures.")
    klass = class_for(value["model_type"], "config", f"EncoderDecoderConfig.{name}")
    try:
        return klass.from_dict(value)
    except ConfigError as exc:
        if not decoder:
            raise
        raise ConfigError(f"EncoderDecoderConfig.decoder: {exc} The decoder needs cross-attention: use "
                          "BertGenerationDecoder (a BERT checkpoint loads into it).") from None


class EncoderDecoderConfig(PretrainedConfig):
    model_type = "encoder-decoder"

    encoder: PretrainedConfig | dict | None = None
    decoder: PretrainedConfig | dict | None = None
    pad_token_id: int | None = None
    decoder_start_token_id: int | None = None
    is_encoder_decoder: bool = True

    def _init_sub_configs(self) -> None:
        # The nested configs' classes come from their model_type (any registered family).
        object.__setattr__(self, "encoder", _sub_config("encoder", self.encoder, decoder=False))
        object.__setattr__(self, "decoder", _sub_config("decoder", self.decoder, decoder=True))

    @classmethod
    def from_encoder_decoder_configs(cls, encoder_config: PretrainedConfig, decoder_config: PretrainedConfig,
                                     **kwargs) -> "EncoderDecoderConfig":
        """Pair two configs; the decoder's is switched to a causal decoder with cross-attention."""
        decoder_config = copy.deepcopy(decoder_config)
        decoder_config.is_decoder = True
        decoder_config.add_cross_attention = True
        return cls(encoder=copy.deepcopy(encoder_config), decoder=decoder_config, **kwargs)

    def get_text_config(self, decoder: bool = False) -> PretrainedConfig:
        return self.decoder if decoder else self.encoder
