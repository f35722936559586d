"""``DeiTConfig``: ViT's fields and defaults under ``model_type="deit"``."""

from __future__ import annotations

from ..vit.configuration import ViTConfig


class DeiTConfig(ViTConfig):
    model_type = "deit"
