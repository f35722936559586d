"""``DataCollatorForSeq2Seq``: pad inputs with the tokenizer, labels with -100, and (given the model)
build ``decoder_input_ids`` from the padded labels — the batches Transformers' collator makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..core.errors import InvalidInputError
from .text_collators import _as_dicts, _check_return_tensors


@dataclass
class DataCollatorForSeq2Seq:
    """``model`` is optional; when it has ``prepare_decoder_input_ids_from_labels`` the batch also holds
    ``decoder_input_ids`` (labels shifted right), so a label-smoothed loss need not run the shift
    twice. A model given as a string (as in the summarisation guide) is ignored, as in Transformers."""

    tokenizer: Any
    model: Any | None = None
    padding: Any = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    label_pad_token_id: int = -100
    return_tensors: str = "pt"

    def __post_init__(self):
        _check_return_tensors(type(self).__name__, self.return_tensors)

    def __call__(self, features, return_tensors: str | None = None) -> dict[str, Any]:
        if return_tensors is not None:
            _check_return_tensors(type(self).__name__, return_tensors)
        features = _as_dicts(features)
        if not features:
            raise InvalidInputError("DataCollatorForSeq2Seq got an empty list of examples.")
        label_name = "label" if "label" in features[0] else "labels"
        labels = [f.get(label_name) for f in features] if label_name in features[0] else None
        if labels is not None and all(label is None for label in labels):
            labels = None
        if labels is not None and any(label is None for label in labels):
            raise InvalidInputError(f"Some examples have {label_name!r} and some do not; give every example labels.")
        inputs = [{k: v for k, v in f.items() if k != label_name} for f in features]
        batch = dict(self.tokenizer.pad(inputs, padding=self.padding, max_length=self.max_length,
                                        pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt"))
        if labels is None:
            batch["labels"] = None
            return batch
        labels = [label.tolist() if hasattr(label, "tolist") else list(label) for label in labels]
        if self.padding is False or self.padding == "do_not_pad":
            batch["labels"] = labels  # no padding: ragged lists, as Transformers returns them
            return batch
        if self.padding == "max_length" and self.max_length is not None:
            length = self.max_length
        else:
            length = max(len(label) for label in labels)
        if self.pad_to_multiple_of is not None:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        if any(len(label) > length for label in labels):
            raise InvalidInputError(f"A label sequence is longer than max_length={length}; truncate the targets "
                                    "(tokenizer(text_target=..., max_length=..., truncation=True)).")
        right = self.tokenizer.padding_side == "right"
        rows = [label + [self.label_pad_token_id] * (length - len(label)) if right
                else [self.label_pad_token_id] * (length - len(label)) + label for label in labels]
        batch["labels"] = torch.tensor(rows, dtype=torch.int64)
        if self.model is not None and hasattr(self.model, "prepare_decoder_input_ids_from_labels"):
            batch["decoder_input_ids"] = self.model.prepare_decoder_input_ids_from_labels(labels=batch["labels"])
        return batch
