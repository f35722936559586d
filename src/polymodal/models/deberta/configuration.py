"""``DebertaConfig``: Transformers' field names and defaults (DeBERTa-base's sizes)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError
from ..bert.configuration import check_heads

_POS_ATT_TYPES = ("c2p", "p2c", "p2p")


class DebertaConfig(PretrainedConfig):
    model_type = "deberta"

    vocab_size: int = 50265
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 0
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-7
    relative_attention: bool = False
    max_relative_positions: int = -1
    pad_token_id: int | None = 0
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    position_biased_input: bool = True
    pos_att_type: list | str | None = None
    pooler_dropout: float = 0.0
    pooler_hidden_act: str = "gelu"
    pooler_hidden_size: int | None = None  # None: hidden_size
    embedding_size: int | None = None  # None: hidden_size
    cls_dropout: float | None = None  # None: hidden_dropout_prob
    talking_head: bool = False
    legacy: bool = True
    tie_word_embeddings: bool = True

    def _validate_sizes(self) -> None:
        # -1 ("use max_position_embeddings") and a 0 type vocabulary are meaningful here.
        saved = self.max_relative_positions, self.type_vocab_size
        self.max_relative_positions, self.type_vocab_size = None, None
        try:
            super()._validate_sizes()
        finally:
            self.max_relative_positions, self.type_vocab_size = saved

    def validate(self) -> None:
        check_heads(self)
        if isinstance(self.pos_att_type, str):  # "p2c|c2p", the original config format
            self.pos_att_type = [part.strip() for part in self.pos_att_type.lower().split("|")]
        unknown = [t for t in (self.pos_att_type or []) if t not in _POS_ATT_TYPES]
        if unknown:
            raise ConfigError(f"pos_att_type has {unknown}; the disentangled attention knows {list(_POS_ATT_TYPES)}.")
        if self.pooler_hidden_size is None:
            self.pooler_hidden_size = self.hidden_size
        if self.type_vocab_size < 0:
            raise ConfigError(f"type_vocab_size={self.type_vocab_size} must be 0 (no segment embeddings) or more.")

    # Transformers reads these with getattr(config, name, default): a saved null would reach the layers.
    _UNSET_NOT_SAVED = ("embedding_size", "attention_head_size")

    def to_dict(self) -> dict:
        out = super().to_dict()
        for key in self._UNSET_NOT_SAVED:
            if out.get(key, 0) is None:
                del out[key]
        return out

    @property
    def relative_span(self) -> int:
        """``max_relative_positions``, or ``max_position_embeddings`` when unset (< 1)."""
        return self.max_relative_positions if self.max_relative_positions >= 1 else self.max_position_embeddings
