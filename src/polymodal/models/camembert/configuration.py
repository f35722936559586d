"""``CamembertConfig``: RoBERTa's fields (Transformers' defaults) under ``model_type="camembert"``."""

from __future__ import annotations

from ..bert.configuration import RobertaConfig


class CamembertConfig(RobertaConfig):
    model_type = "camembert"

    vocab_size: int = 30522
