"""``CLIPImageProcessor``: shortest edge to 224 (bicubic), center crop 224, rescale, CLIP mean/std."""

from __future__ import annotations

from ...vision.base import BaseImageProcessor
from ...vision.transforms import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, PILImageResampling


class CLIPImageProcessor(BaseImageProcessor):
    """The image side of CLIP, AltCLIP, Chinese-CLIP and X-CLIP checkpoints.

    Example::

        processor = CLIPImageProcessor.from_pretrained("path/to/clip")
        pixel_values = processor(images=[image1, image2], return_tensors="pt").pixel_values  # (2, 3, 224, 224)
    """

    resample = PILImageResampling.BICUBIC
    image_mean = list(OPENAI_CLIP_MEAN)
    image_std = list(OPENAI_CLIP_STD)
    size = {"shortest_edge": 224}
    default_to_square = False
    crop_size = {"height": 224, "width": 224}
    do_resize = True
    do_center_crop = True
    do_rescale = True
    do_normalize = True
    do_convert_rgb = True

    def __init__(self, **kwargs):
        # KOSMOS-2 configs ask for a square resize this way.
        if kwargs.pop("use_square_size", False):
            kwargs["size"] = {"height": self.size["shortest_edge"], "width": self.size["shortest_edge"]}
        super().__init__(**kwargs)


# Transformers' torchvision-backend name; one class serves both here.
CLIPImageProcessorFast = CLIPImageProcessor
