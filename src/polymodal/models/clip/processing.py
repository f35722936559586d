"""``CLIPProcessor``: ``CLIPImageProcessor`` and ``CLIPTokenizer`` behind one call.

``processor(text=[...], images=image, return_tensors="pt", padding=True)`` returns
``input_ids``, ``attention_mask`` and ``pixel_values`` — what ``CLIPModel`` takes.
"""

from __future__ import annotations

from ...text.processing import ProcessorMixin


class CLIPProcessor(ProcessorMixin):
    attributes = ["image_processor", "tokenizer"]
    image_processor_class = "CLIPImageProcessor"
    tokenizer_class = "CLIPTokenizer"

    def __init__(self, image_processor=None, tokenizer=None, **kwargs):
        # Transformers 4 called the image side `feature_extractor`.
        image_processor = kwargs.pop("feature_extractor", None) if image_processor is None else image_processor
        super().__init__(image_processor, tokenizer, **kwargs)
