"""``AlignProcessor``: ``EfficientNetImageProcessor`` and ``BertTokenizer`` behind one call.

The ALIGN page's example runs as written with a local folder::

    inputs = processor(text=["an image of a cat", "an image of a dog"], images=image, return_tensors="pt")
    probs = model(**inputs).logits_per_image.softmax(dim=1)

Text is padded to 64 tokens by default (``padding="max_length", max_length=64``), as
Transformers does for ALIGN; pass ``padding=True`` (or other values) to override.
"""

from __future__ import annotations

from ...text.processing import ProcessorMixin


class AlignProcessor(ProcessorMixin):
    attributes = ["image_processor", "tokenizer"]
    image_processor_class = "EfficientNetImageProcessor"
    tokenizer_class = "BertTokenizer"
    # Transformers' class-level text defaults: below the tokenizer's saved settings and the call's keywords.
    text_kwargs = {"padding": "max_length", "max_length": 64}

    def __init__(self, image_processor=None, tokenizer=None, **kwargs):
        super().__init__(image_processor, tokenizer, **kwargs)

    def _route_kwargs(self, kwargs: dict) -> dict[str, dict]:
        routed = super()._route_kwargs(kwargs)
        for key, value in self.text_kwargs.items():
            routed["text"].setdefault(key, value)
        return routed
