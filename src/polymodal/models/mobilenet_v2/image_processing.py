"""``MobileNetV2ImageProcessor``: shortest edge to 256 (bilinear), center crop 224, rescale, normalise."""

from __future__ import annotations

from ...vision.base import BaseImageProcessor
from ...vision.transforms import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, PILImageResampling


class MobileNetV2ImageProcessor(BaseImageProcessor):
    # do_reduce_labels only concerns segmentation maps (label 0 → 255, the rest shifted down);
    # it is kept in the config for round trips. Image classification never uses it.
    extra_kwargs = ("do_reduce_labels",)
    resample = PILImageResampling.BILINEAR
    image_mean = list(IMAGENET_STANDARD_MEAN)
    image_std = list(IMAGENET_STANDARD_STD)
    size = {"shortest_edge": 256}
    default_to_square = False
    crop_size = {"height": 224, "width": 224}
    do_resize = True
    do_center_crop = True
    do_rescale = True
    do_normalize = True
    do_reduce_labels = False


MobileNetV2ImageProcessorFast = MobileNetV2ImageProcessor
