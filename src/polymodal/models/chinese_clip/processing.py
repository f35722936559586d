"""``ChineseCLIPProcessor``: ``ChineseCLIPImageProcessor`` and ``BertTokenizer`` behind one call.

``processor(text=["一只猫的照片", "一只狗的照片"], images=image, return_tensors="pt", padding=True)``
returns ``input_ids``, ``token_type_ids``, ``attention_mask`` and ``pixel_values`` — what
``ChineseCLIPModel`` takes.
"""

from __future__ import annotations

from ..clip.processing import CLIPProcessor


class ChineseCLIPProcessor(CLIPProcessor):
    image_processor_class = "ChineseCLIPImageProcessor"
    tokenizer_class = "BertTokenizer"
