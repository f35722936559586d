"""``AltCLIPProcessor``: ``CLIPImageProcessor`` and ``XLMRobertaTokenizer`` behind one call.

The AltCLIP page's example runs as written::

    inputs = processor(text=["a photo of a cat", "a photo of a dog"], images=image,
                       return_tensors="pt", padding=True)
    probs = model(**inputs).logits_per_image.softmax(dim=1)
"""

from __future__ import annotations

from ..clip.processing import CLIPProcessor


class AltCLIPProcessor(CLIPProcessor):
    tokenizer_class = "XLMRobertaTokenizer"
