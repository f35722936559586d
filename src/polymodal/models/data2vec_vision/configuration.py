"""``Data2VecVisionConfig``: BEiT's fields (less ``vocab_size``) under ``model_type="data2vec-vision"``."""

from __future__ import annotations

from ..beit.configuration import BeitConfig


class Data2VecVisionConfig(BeitConfig):
    model_type = "data2vec-vision"
