"""``Data2VecTextConfig``: RoBERTa's fields (Transformers' defaults) under ``model_type="data2vec-text"``."""

from __future__ import annotations

from ..bert.configuration import RobertaConfig


class Data2VecTextConfig(RobertaConfig):
    model_type = "data2vec-text"

    vocab_size: int = 30522
