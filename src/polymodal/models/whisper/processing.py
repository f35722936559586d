"""``WhisperProcessor``: the log-mel feature extractor and the Whisper tokenizer behind one object.

``processor(audio, sampling_rate=16000)`` → ``input_features``; ``processor(text=...)`` → ids;
both → features with the ids as ``labels`` (fine-tuning). Decoding goes to the tokenizer.
"""

from __future__ import annotations

from ...core.errors import InvalidInputError
from ...text.processing import ProcessorMixin


class WhisperProcessor(ProcessorMixin):
    attributes = ["feature_extractor", "tokenizer"]  # noqa: RUF012
    feature_extractor_class = "WhisperFeatureExtractor"
    tokenizer_class = "WhisperTokenizer"

    def __init__(self, feature_extractor=None, tokenizer=None):
        super().__init__(feature_extractor=feature_extractor, tokenizer=tokenizer)
        self.current_processor = self.feature_extractor

    def __call__(self, audio=None, text=None, *args, **kwargs):
        if "raw_speech" in kwargs:  # Transformers 4's name for the audio argument
            audio = kwargs.pop("raw_speech")
        if audio is None and text is None:
            raise InvalidInputError("WhisperProcessor needs `audio` (a waveform or a batch) and/or `text`.")
        routed = self._route_kwargs(dict(kwargs))
        inputs = self.feature_extractor(audio, *args, **routed["audio"]) if audio is not None else None
        encodings = self.tokenizer(text, **routed["text"]) if text is not None else None
        if encodings is None:
            return inputs
        if inputs is None:
            return encodings
        inputs["labels"] = encodings["input_ids"]
        return inputs

    def get_decoder_prompt_ids(self, task=None, language=None, no_timestamps: bool = True):
        return self.tokenizer.get_decoder_prompt_ids(task=task, language=language, no_timestamps=no_timestamps)

    def get_prompt_ids(self, text: str, return_tensors="np"):
        return self.tokenizer.get_prompt_ids(text, return_tensors=return_tensors)
