"""Data collators: turn a list of examples into one padded batch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


def _as_dicts(features) -> list[dict]:
    return [dict(f) if isinstance(f, Mapping) else vars(f) for f in features]


def _stack_rest(batch: dict, rest: list[dict]) -> dict:
    """Stack the non-padded columns (labels and the like) into tensors."""
    for key in rest[0]:
        values = [r[key] for r in rest]
        first = values[0]
        if isinstance(first, torch.Tensor):
            batch[key] = torch.stack(values)
        elif isinstance(first, (int, np.integer, bool)):
            batch[key] = torch.tensor(values, dtype=torch.long)
        elif isinstance(first, (float, np.floating)):
            batch[key] = torch.tensor(values, dtype=torch.float32)
        elif isinstance(first, np.ndarray):
            batch[key] = torch.from_numpy(np.stack(values))
        else:
            batch[key] = values
    return batch


def default_data_collator(features: list[Any]) -> dict[str, Any]:
    """Stack equal-length features; ``label``/``label_ids`` become ``labels`` like Transformers."""
    features = _as_dicts(features)
    for f in features:
        if "label" in f:
            f["labels"] = f.pop("label")
        elif "label_ids" in f:
            f["labels"] = f.pop("label_ids")
    batch: dict[str, Any] = {}
    for key in features[0]:
        values = [f[key] for f in features]
        if values[0] is None or isinstance(values[0], str):
            continue
        if isinstance(values[0], torch.Tensor):
            batch[key] = torch.stack(values)
        else:
            array = np.asarray(values)
            batch[key] = torch.from_numpy(array) if array.dtype != object else values
    return batch


# image classification (issue 15): the class form the vision guides use
@dataclass
class DefaultDataCollator:
    """``default_data_collator`` as an object: stacks examples without padding (``return_tensors='pt'``)."""

    return_tensors: str = "pt"

    def __call__(self, features: list[Any]) -> dict[str, Any]:
        if self.return_tensors != "pt":
            raise ValueError(f"DefaultDataCollator(return_tensors={self.return_tensors!r}): polymodal returns "
                             "PyTorch tensors only ('pt').")
        return default_data_collator(features)


@dataclass
class DataCollatorWithPadding:
    """Pads model inputs with the processing class's ``pad`` (feature extractor or tokenizer)."""

    processing_class: Any = None
    padding: Any = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"
    tokenizer: Any = None  # older name of processing_class

    def __post_init__(self):
        if self.processing_class is None:
            self.processing_class = self.tokenizer

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        features = _as_dicts(features)
        label_keys = [k for k in ("label", "labels", "label_ids") if k in features[0]]
        labels = [{k: f.pop(k) for k in label_keys} for f in features]
        batch = dict(self.processing_class.pad(
            features, padding=self.padding, max_length=self.max_length,
            pad_to_multiple_of=self.pad_to_multiple_of, return_tensors=self.return_tensors,
        ))
        if label_keys:
            renamed = [{"labels": next(iter(lab.values()))} for lab in labels]
            _stack_rest(batch, renamed)
        return batch


@dataclass
class DataCollatorCTCWithPadding:
    """Pads audio inputs with the feature extractor and label ids with the tokenizer, then
    replaces label padding with -100 so the CTC loss ignores it (the ASR guide's collator)."""

    processor: Any
    padding: Any = True
    max_length: int | None = None
    max_length_labels: int | None = None
    pad_to_multiple_of: int | None = None
    pad_to_multiple_of_labels: int | None = None

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        features = _as_dicts(features)
        input_name = self.processor.model_input_names[0] if hasattr(self.processor, "model_input_names") else "input_values"
        inputs = [{input_name: f[input_name]} for f in features]
        labels = [{"input_ids": f["labels"]} for f in features]
        feature_extractor = getattr(self.processor, "feature_extractor", self.processor)
        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        batch = dict(feature_extractor.pad(
            inputs, padding=self.padding, max_length=self.max_length,
            pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt",
        ))
        labels_batch = tokenizer.pad(
            labels, padding=self.padding, max_length=self.max_length_labels,
            pad_to_multiple_of=self.pad_to_multiple_of_labels, return_tensors="pt",
        )
        ids = labels_batch["input_ids"]
        mask = labels_batch.get("attention_mask")
        batch["labels"] = ids.masked_fill(mask.ne(1), -100) if mask is not None else ids
        return batch
