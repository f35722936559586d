"""``BitImageProcessor``: shortest edge 224 (bicubic), center crop 224, rescale, CLIP mean/std."""

from __future__ import annotations

from ..clip.image_processing import CLIPImageProcessor


class BitImageProcessor(CLIPImageProcessor):
    """Same defaults as CLIP's processor (BiT checkpoints were converted with them)."""


BitImageProcessorFast = BitImageProcessor
