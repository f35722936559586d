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


# --- language modeling (issue 13: causal mlm=False; masked mlm=True) ---
@dataclass
class DataCollatorForLanguageModeling:
    """Pad token ids into a batch and make the language-modeling labels.

    ``mlm=False`` (causal LM): ``labels`` are the input ids with padding set to -100; the model
    shifts them itself, so position t learns to predict token t+1. ``mlm=True`` (masked LM):
    ``mlm_probability`` of the non-special tokens are chosen; of those 80% become the mask
    token, 10% a random token, 10% stay; only chosen positions have labels.
    """

    tokenizer: Any = None
    mlm: bool = True
    mlm_probability: float = 0.15
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"
    seed: int | None = None

    def __post_init__(self):
        if self.tokenizer is None:
            raise ValueError("DataCollatorForLanguageModeling needs tokenizer=… (it pads with it).")
        if self.mlm and self.tokenizer.mask_token is None:
            raise ValueError(
                "This tokenizer has no mask token, which masked language modeling needs. For a causal LM "
                "(GPT-2, Llama …) pass mlm=False."
            )
        if self.tokenizer.pad_token is None:
            raise ValueError("The tokenizer has no pad token: set tokenizer.pad_token = tokenizer.eos_token first.")
        if self.return_tensors != "pt":
            raise ValueError(f"return_tensors={self.return_tensors!r}: polymodal returns PyTorch tensors only ('pt').")
        self._generator = torch.Generator().manual_seed(self.seed) if self.seed is not None else None

    def __call__(self, examples: list[Any]) -> dict[str, Any]:
        examples = _as_dicts(examples)
        keep = [{k: v for k, v in e.items() if k in ("input_ids", "attention_mask", "special_tokens_mask")}
                for e in examples]
        batch = dict(self.tokenizer.pad(keep, padding=True, pad_to_multiple_of=self.pad_to_multiple_of,
                                        return_tensors="pt"))
        special = batch.pop("special_tokens_mask", None)
        if self.mlm:
            batch["input_ids"], batch["labels"] = self.torch_mask_tokens(batch["input_ids"], special)
        else:
            labels = batch["input_ids"].clone()
            labels[labels == self.tokenizer.pad_token_id] = -100
            batch["labels"] = labels
        return batch

    def torch_mask_tokens(self, inputs: torch.Tensor, special_tokens_mask=None):
        labels = inputs.clone()
        probability = torch.full(labels.shape, self.mlm_probability)
        if special_tokens_mask is None:
            special_ids = set(self.tokenizer.all_special_ids)
            special_tokens_mask = torch.tensor([[i in special_ids for i in row] for row in labels.tolist()])
        probability.masked_fill_(special_tokens_mask.bool(), 0.0)
        chosen = torch.bernoulli(probability, generator=self._generator).bool()
        labels[~chosen] = -100
        to_mask = torch.bernoulli(torch.full(labels.shape, 0.8), generator=self._generator).bool() & chosen
        inputs[to_mask] = self.tokenizer.mask_token_id
        to_random = torch.bernoulli(torch.full(labels.shape, 0.5), generator=self._generator).bool() & chosen & ~to_mask
        inputs[to_random] = torch.randint(len(self.tokenizer), labels.shape, generator=self._generator)[to_random]
        return inputs, labels
# --- end language modeling ---


# text collators (issue 14) live in text_collators.py; importable from here as in Transformers.
# Its DataCollatorForLanguageModeling (Transformers' full option set: whole_word_mask,
# mask_replace_prob, random_replace_prob, per-worker seeds; same draws as Transformers) is the
# exported one; it does the mlm=False labels the same way as the class above.
from .seq2seq_collator import DataCollatorForSeq2Seq  # noqa: E402,F401  (issue 16)
from .text_collators import (  # noqa: E402,F401
    DataCollatorForLanguageModeling,  # noqa: F811
    DataCollatorForMultipleChoice,
    DataCollatorForTokenClassification,
    DataCollatorForWholeWordMask,
)
