"""``pipeline("zero-shot-image-classification")``: images and free-text labels in, ranked labels out.

Scores are the softmax over ``logits_per_image`` of the labels written into
``hypothesis_template``, sorted best first — the same numbers Transformers returns. Unlike
Transformers, which by default runs the text tower again for every image, the label sentences are encoded
once per call and the images go through the vision tower ``batch_size`` (default 8) at a time; the
similarity is then the model's own head maths (CLIP's ``logit_scale``, ALIGN's ``temperature``).
"""

from __future__ import annotations

import os

import numpy as np
import PIL.Image
import torch

from ..core.errors import InvalidInputError
from .base import Pipeline, check_batch_size, chunks, describe

# Images per vision-tower call when the caller gives no batch_size: results do not depend on it,
# and one batched call is several times faster than one call per image.
DEFAULT_BATCH_SIZE = 8


class ZeroShotImageClassificationPipeline(Pipeline):
    task = "zero-shot-image-classification"
    call_parameters = ("candidate_labels", "hypothesis_template", "tokenizer_kwargs")

    def __init__(self, *args, batch_size: int | None = None, **kwargs):
        super().__init__(*args, batch_size=batch_size, **kwargs)
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE

    def __call__(self, images=None, candidate_labels=None, hypothesis_template: str | None = None,
                 batch_size: int | None = None, tokenizer_kwargs: dict | None = None, **kwargs):
        """Rank ``candidate_labels`` for one image (→ list of ``{"score", "label"}``) or a list (→ list of lists).

        Images may be file paths, PIL images, or numpy arrays / torch tensors (H, W, C or C, H, W).
        """
        images = kwargs.pop("image", images)  # Transformers' first parameter is called `image`
        if kwargs:
            raise InvalidInputError(f"Unknown argument(s) {sorted(kwargs)} for the zero-shot image pipeline.")
        labels = _check_labels(self._defaults.get("candidate_labels") if candidate_labels is None else candidate_labels)
        template = hypothesis_template or self._defaults.get("hypothesis_template", "This is a photo of {}.")
        sentences = _hypotheses(labels, template)
        tokenizer_kwargs = self._defaults.get("tokenizer_kwargs") if tokenizer_kwargs is None else tokenizer_kwargs
        if images is None:
            raise InvalidInputError("The zero-shot image pipeline needs an image (a path, PIL image or array).")
        if isinstance(images, (list, tuple)) and not images:
            raise InvalidInputError("The zero-shot image pipeline got an empty list of images.")
        size = check_batch_size(batch_size) or self.batch_size
        with torch.inference_mode():
            text_inputs = self._tokenize(sentences, tokenizer_kwargs or {})
            text_embeds = self._text_embeds(text_inputs)

        @torch.inference_mode()
        def process(items: list, first: int | None) -> list:
            loaded = [_load(item, None if first is None else first + i) for i, item in enumerate(items)]
            results = []
            # Every image is resized to the processor's fixed size: any grouping gives the same numbers.
            for group in chunks(loaded, size):
                results.extend(self.postprocess(self._logits_per_image(group, text_inputs, text_embeds), labels))
            return results

        return self.run(images, process, size)

    def _tokenize(self, sentences: list[str], tokenizer_kwargs: dict) -> dict[str, torch.Tensor]:
        kwargs = {"padding": True, **tokenizer_kwargs}
        if "siglip" in getattr(self.model.config, "model_type", ""):
            kwargs = {"padding": "max_length", "max_length": 64, "truncation": True, **tokenizer_kwargs}
        return self._model_inputs(self.tokenizer(sentences, return_tensors="pt", **kwargs))

    def _text_embeds(self, text_inputs) -> torch.Tensor | None:
        """Normalised label embeddings, once per call (None when the model has no known head)."""
        if _head(self.model) is None:
            return None
        embeds = self.model.get_text_features(**text_inputs)
        return embeds / embeds.norm(p=2, dim=-1, keepdim=True)

    def _logits_per_image(self, images: list, text_inputs, text_embeds) -> torch.Tensor:
        pixel_values = self._model_inputs(self.image_processor(images=images, return_tensors="pt"))["pixel_values"]
        head = _head(self.model)
        if head is None:  # any other contrastive model: its own forward
            return self.model(**text_inputs, pixel_values=pixel_values).logits_per_image.float()
        image_embeds = self.model.get_image_features(pixel_values=pixel_values)
        image_embeds = image_embeds / image_embeds.norm(p=2, dim=-1, keepdim=True)
        logits_per_text = text_embeds @ image_embeds.t()  # (labels, images), as the models compute it
        if head == "logit_scale":
            logits_per_text = logits_per_text * self.model.logit_scale.exp()
        else:
            logits_per_text = logits_per_text / self.model.temperature
        return logits_per_text.t().float()

    @staticmethod
    def postprocess(logits: torch.Tensor, labels: list[str]) -> list[list[dict]]:
        """Softmax over the labels; best first (ties keep the order the labels were given in)."""
        out = []
        for scores in logits.softmax(dim=-1).tolist():
            ranked = sorted(zip(scores, labels), key=lambda pair: -pair[0])
            out.append([{"score": score, "label": label} for score, label in ranked])
        return out


def _head(model) -> str | None:
    """Which contrastive head the model has, if it is one this pipeline can evaluate from features."""
    if not (hasattr(model, "get_text_features") and hasattr(model, "get_image_features")):
        return None
    if isinstance(getattr(model, "logit_scale", None), torch.Tensor):
        return "logit_scale"
    if isinstance(getattr(model, "temperature", None), torch.Tensor):
        return "temperature"
    return None


def _check_labels(candidate_labels) -> list[str]:
    if isinstance(candidate_labels, str):
        candidate_labels = [label.strip() for label in candidate_labels.split(",") if label.strip()]
    if candidate_labels is None or len(candidate_labels) == 0:
        raise InvalidInputError(
            "candidate_labels is empty; pass the labels to choose from, e.g. candidate_labels=['cat', 'dog']."
        )
    if not all(isinstance(label, str) for label in candidate_labels):
        kinds = sorted({type(label).__name__ for label in candidate_labels})
        raise InvalidInputError(f"candidate_labels must be strings; got {kinds}.")
    return list(candidate_labels)


def _hypotheses(labels: list[str], template: str) -> list[str]:
    if not isinstance(template, str) or template.format("§") == template:
        raise InvalidInputError(
            f"hypothesis_template={template!r} has no '{{}}' for the label; use e.g. 'This is a photo of {{}}.'"
        )
    return [template.format(label) for label in labels]


def _load(image, index: int | None):
    """Paths and PIL images as Transformers loads them (EXIF-rotated RGB); arrays as they are."""
    from ..vision.image_input import image_from_cell, open_image
    from ..vision.image_io import load_image

    where = f"image {index}" if index is not None else "the image"
    image = image_from_cell(image)  # a dataset row, or datasets' undecoded {"bytes", "path"}
    if isinstance(image, (bytes, bytearray)):
        return open_image(image, index)
    if isinstance(image, (str, os.PathLike, PIL.Image.Image)):
        return load_image(image)
    if isinstance(image, (np.ndarray, torch.Tensor)):
        if image.ndim not in (2, 3) or 0 in tuple(image.shape):
            raise InvalidInputError(f"{where} is {describe(image)}; expected one image of shape (H, W), "
                                    "(H, W, C) or (C, H, W). Pass a list for several images.")
        return image
    raise InvalidInputError(f"Cannot read {where} from {describe(image)}; pass a file path, bytes, PIL image or "
                            "array.")
