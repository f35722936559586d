"""``BertGenerationConfig``: Transformers' field names and defaults (``bert_for_seq_generation_L-24``)."""

from __future__ import annotations

from ...core.config import PretrainedConfig

# Checkpoints BertGeneration warm-starts from (the paper's point): same fields, same weights.
_BERT_LIKE = ("bert", "roberta")


class BertGenerationConfig(PretrainedConfig):
    model_type = "bert-generation"

    vocab_size: int = 50358
    hidden_size: int = 1024
    num_hidden_layers: int = 24
    num_attention_heads: int = 16
    intermediate_size: int = 4096
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    bos_token_id: int | None = 2
    eos_token_id: int | None = 1
    use_cache: bool = True
    is_decoder: bool = False
    add_cross_attention: bool = False
    tie_word_embeddings: bool = True

    def validate(self) -> None:
        from ...core.errors import ConfigError

        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(f"hidden_size={self.hidden_size} must be a multiple of "
                              f"num_attention_heads={self.num_attention_heads}.")
        if self.add_cross_attention and not self.is_decoder:
            raise ConfigError("add_cross_attention=True needs is_decoder=True (cross-attention is a decoder layer).")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> "BertGenerationConfig":
        """Also reads a BERT (or RoBERTa) ``config.json``, as Transformers does, to warm-start from it."""
        config_dict, overrides = cls.get_config_dict(pretrained_model_name_or_path, **kwargs)
        if config_dict.get("model_type") not in _BERT_LIKE:
            return super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        config = cls.from_dict({k: v for k, v in config_dict.items() if k != "model_type"}, **overrides)
        config.name_or_path = str(pretrained_model_name_or_path)
        return config
