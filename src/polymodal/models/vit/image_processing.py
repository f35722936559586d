"""``ViTImageProcessor``: resize to 224x224 (bilinear), rescale, normalise to [-1, 1]."""

from __future__ import annotations

from ...vision.base import BaseImageProcessor
from ...vision.transforms import (
    IMAGENET_STANDARD_MEAN,
    IMAGENET_STANDARD_STD,
    PILImageResampling,
)


class ViTImageProcessor(BaseImageProcessor):
    """The image side of ViT checkpoints (and DeiT / BEiT ones configured like them).

    Example::

        processor = ViTImageProcessor()
        pixel_values = processor(images=[image1, image2], return_tensors="pt").pixel_values  # (2, 3, 224, 224)
    """

    resample = PILImageResampling.BILINEAR
    image_mean = list(IMAGENET_STANDARD_MEAN)
    image_std = list(IMAGENET_STANDARD_STD)
    size = {"height": 224, "width": 224}
    do_resize = True
    do_rescale = True
    do_normalize = True
    do_convert_rgb = None


# Transformers' backend-specific names; one class serves them all here.
ViTImageProcessorFast = ViTImageProcessor
