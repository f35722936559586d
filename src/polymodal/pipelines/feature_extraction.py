"""``pipeline("feature-extraction")``: the model's last hidden states for each text.

Each input gives a nested list of shape ``(1, tokens, hidden)`` (a ``(1, tokens, hidden)``
tensor with ``return_tensors=True``), as in Transformers; padding added for batching is cut off.
"""

from __future__ import annotations

import torch

from ..core.errors import InvalidInputError
from .base import check_batch_size
from .text_base import TextPipeline, check_text, split_tokenizer_kwargs


class FeatureExtractionPipeline(TextPipeline):
    task = "feature-extraction"
    call_parameters = ("truncation", "tokenize_kwargs", "return_tensors")

    def __call__(self, inputs, truncation=None, tokenize_kwargs: dict | None = None, return_tensors=None,
                 batch_size: int | None = None, **kwargs):
        if kwargs:
            raise InvalidInputError(f"Unknown argument(s) {sorted(kwargs)} for the feature-extraction pipeline; it "
                                    "takes truncation, tokenize_kwargs, return_tensors and batch_size.")
        options = split_tokenizer_kwargs(self.task, dict(tokenize_kwargs or self._defaults.get("tokenize_kwargs") or {}))
        truncation = truncation if truncation is not None else self._defaults.get("truncation")
        if truncation is not None:
            if "truncation" in options:
                raise InvalidInputError("truncation is given twice (as an argument and in tokenize_kwargs).")
            options["truncation"] = truncation
        tensors = bool(return_tensors if return_tensors is not None else self._defaults.get("return_tensors"))
        size = check_batch_size(batch_size) or self.batch_size

        def process(items: list, first: int | None) -> list:
            texts = [check_text(item, None if first is None else first + i) for i, item in enumerate(items)]
            return self.sorted_batches(texts, size, lambda group: self._features(group, options, tensors), len)

        return self.run(inputs, process, batch_size)

    @torch.inference_mode()
    def _features(self, texts: list[str], options: dict, tensors: bool) -> list:
        encoding = self.tokenize(texts, **options)
        hidden = self.model(**self.to_model(encoding))[0]  # (B, T, H)
        mask = encoding["attention_mask"].bool()
        out = []
        for row in range(len(texts)):
            states = hidden[row][mask[row].to(hidden.device)][None].cpu()  # (1, tokens, H), padding removed
            out.append(states if tensors else states.tolist())
        return out
