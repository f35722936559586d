"""``pipeline("image-classification")``: images in, the top-k labels with scores out.

Scores follow Transformers: softmax for single-label models, sigmoid for multi-label ones (or
``num_labels == 1``), raw logits for regression; ``function_to_apply`` overrides. Images go
through the image processor and the model ``batch_size`` at a time (default 8); each image's
result does not depend on the batch it shares (the processor works image by image and the
models have no cross-image state).
"""

from __future__ import annotations

import os

import numpy as np
import PIL.Image
import torch

from ..core.errors import InvalidInputError
from ..vision.image_input import check_array, image_from_cell, open_image
from .base import Pipeline, check_batch_size, chunks

DEFAULT_BATCH_SIZE = 8
FUNCTIONS = ("softmax", "sigmoid", "none")


class ImageClassificationPipeline(Pipeline):
    task = "image-classification"
    call_parameters = ("top_k", "function_to_apply")

    def __init__(self, *args, batch_size: int | None = None, **kwargs):
        super().__init__(*args, batch_size=batch_size, **kwargs)
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE

    def __call__(self, inputs=None, top_k: int | None = None, function_to_apply: str | None = None,
                 batch_size: int | None = None, timeout: float | None = None, **kwargs):
        """Classify one image (→ ``[{"score", "label"}, …]``, best first) or a list (→ a list of those).

        An image is a file path, the bytes of an image file, a ``data:image/…;base64,`` URI, a PIL
        image, or a numpy array / torch tensor (H, W), (H, W, C) or (C, H, W). ``top_k`` defaults
        to 5 (capped at the number of labels); ``timeout`` is accepted for Transformers
        compatibility (nothing is downloaded).
        """
        inputs = kwargs.pop("images", inputs)  # Transformers' older keyword
        if kwargs:
            raise InvalidInputError(f"Unknown argument(s) {sorted(kwargs)} for the image-classification pipeline; "
                                    "it takes top_k, function_to_apply and batch_size.")
        if inputs is None:
            raise InvalidInputError("The image-classification pipeline needs an image (a path, bytes, PIL image or "
                                    "array) or a list of them.")
        top_k = _top_k(self._defaults.get("top_k", 5) if top_k is None else top_k, self.model.config.num_labels)
        function = self._function(function_to_apply or self._defaults.get("function_to_apply"))
        if isinstance(inputs, (list, tuple)) and not inputs:
            raise InvalidInputError("The image-classification pipeline got an empty list of images.")
        if isinstance(inputs, (np.ndarray, torch.Tensor)) and inputs.ndim == 4:
            inputs = list(inputs)  # a (N, …) stack of images
        size = check_batch_size(batch_size) or self.batch_size

        def process(items: list, first: int | None) -> list:
            images = [load_pipeline_image(item, None if first is None else first + i) for i, item in enumerate(items)]
            # Every image is resized to the processor's size: any grouping gives the same numbers.
            return [result for group in chunks(images, size)
                    for result in self.postprocess(self._forward(group), top_k, function)]

        # pipelines base: one input, a list, or a generator/dataset (→ an iterator of results)
        return self.run(list(inputs) if isinstance(inputs, tuple) else inputs, process, size)

    def _function(self, name) -> str:
        if name is None:
            config = self.model.config
            if config.problem_type == "regression":
                return "none"
            if config.problem_type == "multi_label_classification" or config.num_labels == 1:
                return "sigmoid"
            return "softmax"
        name = str(getattr(name, "value", name)).lower()
        if name not in FUNCTIONS:
            raise InvalidInputError(f"function_to_apply={name!r}; use 'softmax', 'sigmoid' or 'none'.")
        return name

    @torch.inference_mode()
    def _forward(self, images: list) -> torch.Tensor:
        features = self.image_processor(images=images, return_tensors="pt")
        logits = self.model(**self._model_inputs(features)).logits.float()
        if not torch.isfinite(logits).all():
            raise InvalidInputError("The model produced NaN or infinite logits; check the checkpoint's weights "
                                    "(and use float32 if you loaded it in float16).")
        return logits

    def postprocess(self, logits: torch.Tensor, top_k: int, function: str) -> list[list[dict]]:
        if function == "softmax":
            scores = logits.softmax(-1)
        elif function == "sigmoid":
            scores = logits.sigmoid()
        else:
            scores = logits
        id2label = self.model.config.id2label
        out = []
        for row in scores.tolist():
            # A stable sort: ties keep label order, as Transformers' list.sort does.
            ranked = sorted(range(len(row)), key=lambda i: -row[i])[:top_k]
            out.append([{"score": row[i], "label": id2label.get(i, f"LABEL_{i}")} for i in ranked])
        return out


def _top_k(top_k, num_labels: int) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise InvalidInputError(f"top_k={top_k!r}; pass a positive int (it is capped at the {num_labels} labels).")
    return min(int(top_k), num_labels)


def load_pipeline_image(value, index: int | None = None):
    """Files, bytes and PIL images → RGB PIL image (EXIF applied); arrays are checked and kept."""
    value = image_from_cell(value)  # a dataset row, or datasets' undecoded {"bytes", "path"}
    if isinstance(value, (str, os.PathLike, bytes, bytearray, PIL.Image.Image)):
        return open_image(value, index)
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return check_array(value, index)
    raise InvalidInputError(
        f"Cannot read image {index if index is not None else ''} from {type(value).__name__}; pass a file path, "
        "bytes, a PIL image or an array."
    )
