"""``ConvNextImageProcessor``: ConvNeXt's (and ResNet's, BiT-less checkpoints') preprocessing.

Below 384 pixels the shortest edge is resized to ``shortest_edge / crop_pct`` and the center
``shortest_edge`` square is cropped (the "resize 256, crop 224" evaluation recipe); from 384 on,
the image is resized straight to a square. Then rescale and normalise to [-1, 1].
"""

from __future__ import annotations

import numpy as np
import PIL.Image

from ...core.errors import InvalidInputError
from ...vision import transforms as T
from ...vision.base import BaseImageProcessor, _map
from ...vision.transforms import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, PILImageResampling


class ConvNextImageProcessor(BaseImageProcessor):
    extra_kwargs = ("crop_pct",)
    resample = PILImageResampling.BICUBIC
    image_mean = list(IMAGENET_STANDARD_MEAN)
    image_std = list(IMAGENET_STANDARD_STD)
    size = {"shortest_edge": 384}
    default_to_square = False
    do_resize = True
    do_rescale = True
    do_normalize = True
    crop_pct = 224 / 256

    def _resize_to_crop(self, pil: PIL.Image.Image, o: dict) -> np.ndarray:
        shortest = o["size"].get("shortest_edge")
        if shortest is None:
            raise InvalidInputError(f"ConvNextImageProcessor needs size={{'shortest_edge': N}}; got {o['size']}.")
        if shortest >= 384:
            out = T.resize_pil(pil, (shortest, shortest), o["resample"])
        else:
            crop_pct = o["crop_pct"] if o["crop_pct"] is not None else 224 / 256
            size = T.get_resize_output_image_size(pil.height, pil.width,
                                                  {"shortest_edge": int(shortest / crop_pct)})
            out = T.resize_pil(pil, size, o["resample"])  # (H, W, C)
            top, left = T.center_crop_offsets(size[0], size[1], shortest, shortest)
            out = out[max(top, 0):max(top, 0) + shortest, max(left, 0):max(left, 0) + shortest]
        if o["do_center_crop"]:
            ch, cw = o["crop_size"]["height"], o["crop_size"]["width"]
            top, left = T.center_crop_offsets(out.shape[0], out.shape[1], ch, cw)
            if top >= 0 and left >= 0:
                out = out[top:top + ch, left:left + cw]
        return out

    def _resize_crop_torch(self, images: list, o: dict) -> list:
        # The two-step crop_pct resize has no batched torch form here: use the exact PIL path.
        return _map(lambda image: self._resize_crop_pil(image, o), images)


ConvNextImageProcessorFast = ConvNextImageProcessor
