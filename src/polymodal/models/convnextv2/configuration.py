"""``ConvNextV2Config``: ConvNeXt's fields without ``layer_scale_init_value``."""

from __future__ import annotations

from ..convnext.configuration import ConvNextConfig


class ConvNextV2Config(ConvNextConfig):
    model_type = "convnextv2"

    layer_scale_init_value: float = 0.0  # not a V2 field; GRN replaces layer scale

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.pop("layer_scale_init_value", None)
        return out
