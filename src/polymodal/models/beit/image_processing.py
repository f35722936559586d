"""``BeitImageProcessor``: resize to 224x224 (bicubic), rescale, normalise to [-1, 1]."""

from __future__ import annotations

from ...vision.base import BaseImageProcessor
from ...vision.transforms import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, PILImageResampling


class BeitImageProcessor(BaseImageProcessor):
    # do_reduce_labels only concerns segmentation maps; it is kept for round trips.
    extra_kwargs = ("do_reduce_labels",)
    resample = PILImageResampling.BICUBIC
    image_mean = list(IMAGENET_STANDARD_MEAN)
    image_std = list(IMAGENET_STANDARD_STD)
    size = {"height": 224, "width": 224}
    crop_size = {"height": 224, "width": 224}
    do_resize = True
    do_center_crop = False
    do_rescale = True
    do_normalize = True
    do_reduce_labels = False


BeitImageProcessorFast = BeitImageProcessor
