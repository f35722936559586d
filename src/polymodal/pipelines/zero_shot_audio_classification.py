"""``pipeline("zero-shot-audio-classification")``: audio and free-text labels in, ranked labels out.

Scores are the softmax over ``logits_per_audio`` of the labels written into
``hypothesis_template``, sorted best first — the numbers Transformers returns. Unlike
Transformers, which runs the text tower again for every clip, the label sentences are encoded
once per call and the clips go through the audio tower ``batch_size`` at a time.

Transformers featurises each clip on its own; under CLAP's ``truncation="fusion"`` a lone clip
is always marked ``is_longer`` (a long one because it is, a short one because the extractor
marks one clip of every all-short batch). Batched here, the clips keep that flag, so
``batch_size`` does not change the results.
"""

from __future__ import annotations

import torch

from ..core.errors import InvalidInputError
from .base import Pipeline, audio_input, check_batch_size, chunks
from .zero_shot_image_classification import (
    ZeroShotImageClassificationPipeline,
    _check_labels,
    _hypotheses,
)


class ZeroShotAudioClassificationPipeline(Pipeline):
    task = "zero-shot-audio-classification"
    call_parameters = ("candidate_labels", "hypothesis_template")

    def __call__(self, audios=None, candidate_labels=None, hypothesis_template: str | None = None,
                 batch_size: int | None = None, **kwargs):
        """Rank ``candidate_labels`` for one clip (→ list of ``{"score", "label"}``), a list (→ list of
        lists) or a generator/dataset (→ an iterator).

        Clips may be file paths, bytes of an audio file, 1-D arrays/tensors at the extractor's
        rate, or ``{"raw": array, "sampling_rate": rate}`` (resampled).
        """
        audios = kwargs.pop("audio", audios)
        if kwargs:
            raise InvalidInputError(f"Unknown argument(s) {sorted(kwargs)} for the zero-shot audio pipeline.")
        if audios is None:
            raise InvalidInputError("The zero-shot audio pipeline needs audio (a path, bytes or a 1-D array).")
        labels = _check_labels(self._defaults.get("candidate_labels") if candidate_labels is None else candidate_labels)
        template = hypothesis_template or self._defaults.get("hypothesis_template", "This is a sound of {}.")
        sentences = _hypotheses(labels, template)
        rate = self.feature_extractor.sampling_rate
        size = check_batch_size(batch_size) or self.batch_size
        with torch.inference_mode():
            text_inputs = self._model_inputs(self.tokenizer(sentences, return_tensors="pt", padding=True))
            text_embeds = self._text_embeds(text_inputs)

        @torch.inference_mode()
        def process(items: list, first: int | None) -> list:
            clips = [audio_input(item, rate, index=None if first is None else first + i) for i, item in enumerate(items)]
            # CLAP's extractor gives every clip its fixed length on its own: any grouping is exact.
            return [result for group in chunks(clips, size)
                    for result in self.postprocess(self._logits_per_audio(group, text_inputs, text_embeds), labels)]

        return self.run(audios, process, batch_size)

    def _text_embeds(self, text_inputs) -> torch.Tensor | None:
        """Normalised label embeddings, once per call (None for a model without CLAP's head)."""
        if not _has_clap_head(self.model):
            return None
        return self.model.get_text_features(**text_inputs)

    def _logits_per_audio(self, clips: list, text_inputs, text_embeds) -> torch.Tensor:
        extractor = self.feature_extractor
        features = extractor(clips, sampling_rate=extractor.sampling_rate, return_tensors="pt")
        if getattr(extractor, "truncation", None) == "fusion":
            features["is_longer"] = torch.ones_like(features["is_longer"])  # see the module docstring
        features = self._model_inputs(features)
        if text_embeds is None:  # any other audio-text model: its own forward
            return self.model(**text_inputs, **features).logits_per_audio.float()
        audio_embeds = self.model.get_audio_features(**features)  # normalised, like text_embeds
        return (audio_embeds @ text_embeds.t() * self.model.logit_scale_a.exp()).float()  # (clips, labels)

    # Softmax over the labels, best first: the same as for images.
    postprocess = staticmethod(ZeroShotImageClassificationPipeline.postprocess)


def _has_clap_head(model) -> bool:
    return all(hasattr(model, name) for name in ("get_text_features", "get_audio_features", "logit_scale_a"))
