"""What the NLP pipelines share: text-input checks, tokenizer keywords and length-sorted batching.

Text models mask padding exactly (the attention mask hides it), so inputs of any length may
share a batch; sorting a call's inputs by token count before cutting batches keeps the padding
small. Results come back in input order and do not depend on the batch (up to float noise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..core.errors import InvalidInputError
from .base import Pipeline, chunks, describe, equal_length_groups

# Keywords the text pipelines pass on to the tokenizer (Transformers forwards them the same way).
TOKENIZER_KEYWORDS = frozenset({"truncation", "max_length", "add_special_tokens", "padding", "stride"})


def check_text(value: Any, index: int | None, what: str = "text") -> str:
    if not isinstance(value, str):
        where = f"input {index}" if index is not None else "the input"
        raise InvalidInputError(f"{where} is {describe(value)}; the pipeline expects {what} (a str).")
    return value


def split_tokenizer_kwargs(task: str, kwargs: dict, allowed: frozenset = TOKENIZER_KEYWORDS) -> dict:
    """The tokenizer keywords of ``kwargs``; anything else is an error naming the task."""
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise InvalidInputError(
            f"Unknown argument(s) {unknown} for the {task} pipeline; tokenizer options it forwards: "
            f"{', '.join(sorted(allowed))}."
        )
    return dict(kwargs)


class TextPipeline(Pipeline):
    """Base of the text pipelines: exact padding, length-sorted batches, tensors on the model's device."""

    def padding_is_exact(self) -> bool:
        """True for text models, whose attention mask removes padding from all their maths; a family
        whose layers mix positions before any mask applies (CANINE's downsampling convolution) sets
        ``text_padding_is_exact = False`` and its batches then hold inputs of one token length."""
        return bool(getattr(self.model, "text_padding_is_exact", True))

    def token_count(self, item) -> int:
        """Exact token count of a text, a ``(text, text_pair)`` tuple or a list of words (unpadded,
        untruncated: equal counts here stay equal after any truncation)."""
        if isinstance(item, tuple):
            first, second = item
            encoded = self.tokenizer(first, second) if second is not None else self.tokenizer(first)
        elif isinstance(item, list):
            encoded = self.tokenizer(item, is_split_into_words=True)
        else:
            encoded = self.tokenizer(item)
        return len(encoded["input_ids"])

    def tokenize(self, texts, pairs=None, **kwargs):
        options = {"padding": True, "return_tensors": "pt", **kwargs}
        return self.tokenizer(texts, pairs, **options) if pairs is not None else self.tokenizer(texts, **options)

    def to_model(self, encoding, keys=None) -> dict[str, torch.Tensor]:
        names = keys or [k for k in self.tokenizer.model_input_names if k in encoding]
        return self._model_inputs({k: encoding[k] for k in names})

    def sorted_batches(self, items: list, batch_size: int, forward: Callable[[list], list],
                       length: Callable[[Any], int], exact_length: Callable[[Any], int] | None = None) -> list:
        """``forward`` over batches of similar length; one result per item, in input order.

        ``length`` is a cheap estimate that only orders the items; when padding is not exact,
        ``exact_length`` (default :meth:`token_count`) groups them by their real token count.
        """
        size = max(1, int(batch_size))
        if self.padding_is_exact() or size == 1 or len(items) == 1:
            order = sorted(range(len(items)), key=lambda i: length(items[i]))
            groups = list(chunks(order, size))
        else:  # no padding at all: one token length per batch
            counts = [(exact_length or self.token_count)(item) for item in items]
            groups = equal_length_groups(sorted(range(len(items)), key=counts.__getitem__), counts, size)
        results: list = [None] * len(items)
        for group in groups:
            for i, result in zip(group, forward([items[i] for i in group]), strict=True):
                results[i] = result
        return results

    def approx_length(self, text) -> int:
        """A cheap stand-in for the token count, used only to group similar lengths."""
        if isinstance(text, tuple):
            return sum(len(t or "") for t in text)
        return len(text)

    def function_for(self, function_to_apply) -> str:
        """``function_to_apply`` as "softmax" / "sigmoid" / "none" (Transformers' default rule when None)."""
        if function_to_apply is None:
            config = self.model.config
            if config.problem_type == "regression":
                return "none"
            if config.problem_type == "multi_label_classification" or config.num_labels == 1:
                return "sigmoid"
            return "softmax"
        name = str(getattr(function_to_apply, "value", function_to_apply)).lower()
        if name not in ("softmax", "sigmoid", "none"):
            raise InvalidInputError(f"function_to_apply={function_to_apply!r}; use 'softmax', 'sigmoid' or 'none'.")
        return name


def apply_function(logits: torch.Tensor, function: str) -> torch.Tensor:
    if function == "softmax":
        return logits.softmax(-1)
    if function == "sigmoid":
        return logits.sigmoid()
    return logits
