"""``Wav2Vec2Processor``: the feature extractor and the CTC tokenizer behind one object.

``processor(audio, sampling_rate=16000)`` → ``input_values``; ``processor(text=...)`` →
``input_ids``; both together → the audio features with the text ids as ``labels`` (what CTC
fine-tuning wants). ``pad`` does the same split for a data collator.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

from ...core.errors import InvalidInputError
from ...text.processing import ProcessorMixin


class Wav2Vec2Processor(ProcessorMixin):
    attributes = ["feature_extractor", "tokenizer"]
    feature_extractor_class = "Wav2Vec2FeatureExtractor"
    tokenizer_class = "Wav2Vec2CTCTokenizer"

    def __init__(self, feature_extractor=None, tokenizer=None):
        super().__init__(feature_extractor=feature_extractor, tokenizer=tokenizer)
        self.current_processor = self.feature_extractor
        self._in_target_context_manager = False

    def __call__(self, audio=None, text=None, *args, **kwargs):
        """Features for ``audio``, ids for ``text``; with both, the ids become ``labels``."""
        if "raw_speech" in kwargs:  # Transformers 4's name for the audio argument
            audio = kwargs.pop("raw_speech")
        if self._in_target_context_manager:
            return self.current_processor(audio if text is None else text, *args, **kwargs)
        if audio is None and text is None:
            raise InvalidInputError("Wav2Vec2Processor needs `audio` (a waveform or a batch) and/or `text`.")
        routed = self._route_kwargs(dict(kwargs))
        inputs = self.feature_extractor(audio, *args, **routed["audio"]) if audio is not None else None
        encodings = self.tokenizer(text, **routed["text"]) if text is not None else None
        if encodings is None:
            return inputs
        if inputs is None:
            return encodings
        inputs["labels"] = encodings["input_ids"]
        return inputs

    def pad(self, *args, **kwargs):
        """``pad(input_features)`` → feature extractor, ``pad(labels=...)`` → tokenizer, or both."""
        if self._in_target_context_manager:
            return self.current_processor.pad(*args, **kwargs)
        input_features = kwargs.pop("input_features", None)
        labels = kwargs.pop("labels", None)
        if args:
            input_features, args = args[0], args[1:]
        if input_features is None and labels is None:
            raise InvalidInputError("Wav2Vec2Processor.pad needs input features and/or labels=.")
        if input_features is not None:
            input_features = self.feature_extractor.pad(input_features, *args, **kwargs)
        if labels is not None:
            labels = self.tokenizer.pad(labels, **kwargs)
        if labels is None:
            return input_features
        if input_features is None:
            return labels
        input_features["labels"] = labels["input_ids"]
        return input_features

    @contextmanager
    def as_target_processor(self):
        """Legacy: inside the block, calls go to the tokenizer (use ``text=`` instead)."""
        warnings.warn("as_target_processor() is deprecated; pass text= to the processor call instead.",
                      FutureWarning, stacklevel=3)
        self._in_target_context_manager = True
        self.current_processor = self.tokenizer
        try:
            yield
        finally:
            self.current_processor = self.feature_extractor
            self._in_target_context_manager = False

    @property
    def model_input_names(self) -> list[str]:
        return [*self.feature_extractor.model_input_names, "labels"]


__all__ = ["Wav2Vec2Processor"]
