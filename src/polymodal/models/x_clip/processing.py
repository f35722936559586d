"""``XCLIPProcessor``: ``CLIPImageProcessor`` on every video frame and ``CLIPTokenizer`` behind one call.

``processor(videos=..., text=[...], return_tensors="pt", padding=True)`` returns ``input_ids``,
``attention_mask`` and ``pixel_values`` of shape ``(batch, frames, 3, H, W)`` — what
``XCLIPModel`` takes. ``videos`` is one video (a list of frames, or a ``(frames, H, W, C)``
array such as ``sample_frames`` returns) or a batch of them (a list of videos, or a 5-D array).

Transformers 5 sends ``videos`` through the image processor as a flat list of images, which
gives ``(batch * frames, 3, H, W)`` pixels its own ``XCLIPModel`` cannot take; here the same
pixels come back with the video axis restored. ``images=`` is processed as images, as in
Transformers.
"""

from __future__ import annotations

from ...core.batch import BatchFeature
from ...core.errors import InvalidInputError
from ...text.processing import ProcessorMixin
from ...vision.video import make_batched_videos


class XCLIPProcessor(ProcessorMixin):
    attributes = ["image_processor", "tokenizer"]
    image_processor_class = "CLIPImageProcessor"
    tokenizer_class = "CLIPTokenizer"

    def __init__(self, image_processor=None, tokenizer=None, **kwargs):
        # Transformers 4 called the image side `feature_extractor`.
        image_processor = kwargs.pop("feature_extractor", None) if image_processor is None else image_processor
        super().__init__(image_processor, tokenizer, **kwargs)

    @property
    def video_processor(self):
        """X-CLIP's frames go through the image processor (Transformers' alias)."""
        return self.image_processor

    def __call__(self, images=None, text=None, videos=None, **kwargs):
        if videos is None:
            return super().__call__(images=images, text=text, **kwargs)
        if images is not None:
            raise InvalidInputError("XCLIPProcessor got both images= and videos=; pass the frames as videos=.")
        output = super().__call__(text=text, **kwargs) if text is not None else BatchFeature()
        output["pixel_values"] = self._video_pixels(videos, kwargs)
        return output

    def _video_pixels(self, videos, kwargs: dict):
        """All frames of all videos in one image-processor call, then ``(B, T, C, H, W)``."""
        batch = make_batched_videos(videos)
        frames = [frame for video in batch for frame in video]
        options = self._route_kwargs(dict(kwargs))["images"]
        return_tensors = options.pop("return_tensors", None)
        pixels = self.image_processor(frames, return_tensors="pt", **options)["pixel_values"]
        pixels = pixels.view(len(batch), -1, *pixels.shape[1:])  # (B, T, C, H, W)
        if return_tensors in (None, "np"):
            array = pixels.numpy()
            return array if return_tensors == "np" else list(array)
        return pixels
