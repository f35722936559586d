"""``EfficientNetImageProcessor`` (ALIGN's image side): resize to 346x346 (bicubic), rescale
with an optional offset, normalise, and with ``include_top`` divide by the std once more."""

from __future__ import annotations

import numpy as np

from ...vision.base import BaseImageProcessor
from ...vision.transforms import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, PILImageResampling, _per_channel


class EfficientNetImageProcessor(BaseImageProcessor):
    """Example::

        processor = EfficientNetImageProcessor.from_pretrained("path/to/align")
        pixel_values = processor(image, return_tensors="pt").pixel_values
    """

    extra_kwargs = ("rescale_offset", "include_top")

    resample = PILImageResampling.BICUBIC
    image_mean = list(IMAGENET_STANDARD_MEAN)
    image_std = list(IMAGENET_STANDARD_STD)
    size = {"height": 346, "width": 346}
    crop_size = {"height": 289, "width": 289}
    do_resize = True
    do_center_crop = False
    do_rescale = True
    rescale_factor = 1 / 255
    rescale_offset = False
    do_normalize = True
    include_top = True

    def affine(self, o: dict, channels: int):
        """Rescale (``x * factor - 1`` with ``rescale_offset``), normalise, then, with
        ``include_top``, divide by the std a second time: Transformers' order, folded into one
        ``x * scale + offset``."""
        if not (o["do_rescale"] or o["do_normalize"] or o["include_top"]):
            return None
        scale, offset = np.ones(channels), np.zeros(channels)
        if o["do_rescale"]:
            scale = scale * o["rescale_factor"]
            offset = offset - (1.0 if o["rescale_offset"] else 0.0)
        std = _per_channel(o["image_std"], channels, "image_std")
        if o["do_normalize"]:
            mean = _per_channel(o["image_mean"], channels, "image_mean")
            scale, offset = scale / std, (offset - mean) / std
        if o["include_top"]:
            scale, offset = scale / std, offset / std
        return scale, offset


EfficientNetImageProcessorFast = EfficientNetImageProcessor
