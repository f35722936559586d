"""``ChineseCLIPImageProcessor``: CLIP's preprocessing, under Chinese-CLIP's name.

Transformers 5 defines it with exactly CLIP's steps and defaults (shortest edge 224 with
bicubic resampling, center crop 224, rescale, CLIP's mean/std, RGB conversion), so it is a
subclass that only renames. Chinese-CLIP checkpoints usually ask for a square resize
(``size={"height": 224, "width": 224}``) in their ``preprocessor_config.json``.
"""

from __future__ import annotations

from ..clip.image_processing import CLIPImageProcessor


class ChineseCLIPImageProcessor(CLIPImageProcessor):
    """Example::

        processor = ChineseCLIPImageProcessor.from_pretrained("path/to/chinese-clip")
        pixel_values = processor(images=image, return_tensors="pt").pixel_values  # (1, 3, 224, 224)
    """


# Transformers' torchvision-backend name; one class serves both here.
ChineseCLIPImageProcessorFast = ChineseCLIPImageProcessor
