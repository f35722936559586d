"""``DeiTImageProcessor``: resize to 256x256 (bicubic), center crop 224, rescale, normalise to [-1, 1]."""

from __future__ import annotations

from ...vision.base import BaseImageProcessor
from ...vision.transforms import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, PILImageResampling


class DeiTImageProcessor(BaseImageProcessor):
    resample = PILImageResampling.BICUBIC
    image_mean = list(IMAGENET_STANDARD_MEAN)
    image_std = list(IMAGENET_STANDARD_STD)
    size = {"height": 256, "width": 256}
    crop_size = {"height": 224, "width": 224}
    do_resize = True
    do_center_crop = True
    do_rescale = True
    do_normalize = True


DeiTImageProcessorFast = DeiTImageProcessor
