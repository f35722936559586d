"""``ClapProcessor``: ``ClapFeatureExtractor`` and ``RobertaTokenizer`` behind one call.

``processor(text=[...], audio=clip, sampling_rate=48000, return_tensors="pt", padding=True)``
returns ``input_ids``, ``attention_mask``, ``input_features`` and ``is_longer`` — what
``ClapModel`` takes. ``padding=True`` pads the text to the longest sentence and gives the audio
the extractor's own padding mode (``"repeatpad"`` by default).
"""

from __future__ import annotations

from ...text.processing import ProcessorMixin


class ClapProcessor(ProcessorMixin):
    attributes = ["feature_extractor", "tokenizer"]
    feature_extractor_class = "ClapFeatureExtractor"
    tokenizer_class = "RobertaTokenizer"

    def __call__(self, text=None, audio=None, **kwargs):
        # Transformers 4 called the audio argument `audios`.
        audio = kwargs.pop("audios", None) if audio is None else audio
        return super().__call__(text=text, audio=audio, **kwargs)
