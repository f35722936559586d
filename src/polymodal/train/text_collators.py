"""Text data collators: token classification, multiple choice and (masked) language modelling.

They match Transformers' collators output for output, including the random masking: with the
same ``seed`` (or the same global torch RNG state) the same tokens are masked, replaced by the
mask token, or replaced by a random token, because the draws are made in the same order.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..core.errors import ConfigError, InvalidInputError


def _check_return_tensors(name: str, return_tensors: str) -> None:
    if return_tensors != "pt":
        raise ConfigError(f"{name}(return_tensors={return_tensors!r}): polymodal collators return PyTorch tensors "
                          "only ('pt').")


def _as_dicts(features) -> list[dict]:
    return [dict(f) if isinstance(f, Mapping) else vars(f) for f in features]


@dataclass
class DataCollatorForTokenClassification:
    """Pads the inputs with the tokenizer and the per-token labels with ``label_pad_token_id`` (-100)."""

    tokenizer: Any
    padding: Any = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    label_pad_token_id: int = -100
    return_tensors: str = "pt"

    def __post_init__(self):
        _check_return_tensors(type(self).__name__, self.return_tensors)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        features = _as_dicts(features)
        label_name = "label" if "label" in features[0] else "labels"
        labels = [f.pop(label_name) for f in features] if label_name in features[0] else None
        batch = dict(self.tokenizer.pad(features, padding=self.padding, max_length=self.max_length,
                                        pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt"))
        if labels is None:
            return batch
        length = batch["input_ids"].shape[1]
        rows = []
        for label in labels:
            label = label.tolist() if isinstance(label, torch.Tensor) else list(label)
            if len(label) > length:
                raise InvalidInputError(
                    f"An example has {len(label)} labels but its input_ids were padded/truncated to {length}; give "
                    "one label per token (align word labels with word_ids(), -100 for special tokens)."
                )
            fill = [self.label_pad_token_id] * (length - len(label))
            rows.append(label + fill if self.tokenizer.padding_side == "right" else fill + label)
        batch[label_name] = torch.tensor(rows, dtype=torch.int64)
        return batch


@dataclass
class DataCollatorForMultipleChoice:
    """Flattens (example, choice) pairs, pads them as one batch, and reshapes to ``(B, C, T)``."""

    tokenizer: Any
    padding: Any = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self):
        _check_return_tensors(type(self).__name__, self.return_tensors)

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        examples = _as_dicts(examples)
        label_name = "label" if "label" in examples[0] else "labels"
        labels = [example.pop(label_name) for example in examples] if label_name in examples[0] else None
        choices = {len(example["input_ids"]) for example in examples}
        if len(choices) != 1:
            raise InvalidInputError(
                f"Every example must have the same number of choices; got {sorted(choices)}. Pad the choice lists "
                "(or drop the odd examples) before collating."
            )
        num_choices = choices.pop()
        flat = [{key: value[i] for key, value in example.items()} for example in examples for i in range(num_choices)]
        batch = self.tokenizer.pad(flat, padding=self.padding, max_length=self.max_length,
                                   pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt")
        batch = {key: value.view(len(examples), num_choices, -1) for key, value in batch.items()}  # (B, C, T)
        if labels is not None:
            batch["labels"] = torch.tensor(labels, dtype=torch.int64)
        return batch


def collate_ids(examples: list, tokenizer, pad_to_multiple_of: int | None = None) -> torch.Tensor:
    """Lists of ids → one (B, T) tensor, padded with the tokenizer's pad id on its padding side."""
    examples = [e if isinstance(e, torch.Tensor) else torch.tensor(e, dtype=torch.long) for e in examples]
    length = max(e.shape[0] for e in examples)
    if pad_to_multiple_of and length % pad_to_multiple_of:
        length = (length // pad_to_multiple_of + 1) * pad_to_multiple_of
    if all(e.shape[0] == length for e in examples):
        return torch.stack(examples)
    if tokenizer.pad_token is None:
        raise InvalidInputError(
            f"The examples have different lengths but {type(tokenizer).__name__} has no pad token to pad them; "
            "set tokenizer.pad_token (e.g. to tokenizer.eos_token)."
        )
    out = examples[0].new_full((len(examples), length), tokenizer.pad_token_id)
    for row, example in enumerate(examples):
        if tokenizer.padding_side == "right":
            out[row, :example.shape[0]] = example
        else:
            out[row, length - example.shape[0]:] = example
    return out


@dataclass
class DataCollatorForLanguageModeling:
    """Batches for masked LM (``mlm=True``: BERT's 80/10/10 masking) or causal LM (``mlm=False``).

    With ``whole_word_mask=True`` every token of a chosen word is masked (words are read from the
    ``offset_mapping`` the tokenizer returned: a token starts a new word when it does not touch
    the previous one); such masks are always the mask token.
    """

    tokenizer: Any
    mlm: bool = True
    whole_word_mask: bool = False
    mlm_probability: float | None = 0.15
    mask_replace_prob: float = 0.8
    random_replace_prob: float = 0.1
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"
    seed: int | None = None

    def __post_init__(self):
        _check_return_tensors(type(self).__name__, self.return_tensors)
        if self.mlm:
            if self.tokenizer.mask_token is None:
                raise ConfigError("This tokenizer has no mask token, which masked language modelling needs; pass "
                                  "mlm=False to train a causal language model instead.")
            if self.mlm_probability is None or not 0 <= self.mlm_probability <= 1:
                raise ConfigError(f"mlm_probability={self.mlm_probability!r}; it must be between 0 and 1.")
            self.mlm_probability = float(self.mlm_probability)
        elif self.whole_word_mask:
            raise ConfigError("whole_word_mask=True needs mlm=True (it chooses which words to mask).")
        for name in ("mask_replace_prob", "random_replace_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name}={getattr(self, name)!r}; it must be between 0 and 1.")
        if self.mask_replace_prob + self.random_replace_prob > 1:
            raise ConfigError("mask_replace_prob + random_replace_prob must not exceed 1.")
        if self.whole_word_mask and self.mask_replace_prob < 1:
            warnings.warn("Random token replacement is not supported with whole word masking; setting "
                          "mask_replace_prob to 1.", UserWarning, stacklevel=3)
            self.mask_replace_prob, self.random_replace_prob = 1.0, 0.0
        self.mask_replace_prob = float(self.mask_replace_prob)
        self.random_replace_prob = float(self.random_replace_prob)
        self.generator = None

    def __call__(self, examples: list) -> dict[str, Any]:
        if self.seed is not None and self.generator is None:
            self.generator = self._make_generator()
        if isinstance(examples[0], Mapping):
            batch = dict(self.tokenizer.pad(list(examples), return_tensors="pt",
                                            pad_to_multiple_of=self.pad_to_multiple_of))
        else:
            batch = {"input_ids": collate_ids(list(examples), self.tokenizer, self.pad_to_multiple_of)}
        special = batch.pop("special_tokens_mask", None)
        offsets = batch.pop("offset_mapping", None)
        if self.mlm:
            batch["input_ids"], batch["labels"] = self.torch_mask_tokens(batch["input_ids"], special, offsets)
        else:
            labels = batch["input_ids"].clone()
            if self.tokenizer.pad_token_id is not None:
                labels[labels == self.tokenizer.pad_token_id] = -100
            batch["labels"] = labels
        return batch

    def _make_generator(self) -> torch.Generator:
        # DataLoader workers each get their own stream: seed + worker id, as Transformers does.
        info = torch.utils.data.get_worker_info()
        return torch.Generator().manual_seed(self.seed + (info.id if info is not None else 0))

    def torch_mask_tokens(self, inputs: torch.Tensor, special_tokens_mask=None, offset_mapping=None):
        """Choose the tokens to predict; mask / randomise / keep them 80/10/10 (by default)."""
        labels = inputs.clone()
        probability = torch.full(labels.shape, self.mlm_probability)
        if special_tokens_mask is None:
            special_tokens_mask = [self.tokenizer.get_special_tokens_mask(row, already_has_special_tokens=True)
                                   for row in labels.tolist()]
        special = torch.as_tensor(special_tokens_mask).bool()
        if self.whole_word_mask:
            if offset_mapping is None:
                raise InvalidInputError("whole_word_mask=True needs 'offset_mapping' in the examples: tokenize with "
                                        "return_offsets_mapping=True (and return_special_tokens_mask=True).")
            word_ids, no_mask = word_ids_from_offsets(np.asarray(offset_mapping), special.numpy())
            probability.masked_fill_(torch.from_numpy(no_mask), 0.0)
        else:
            probability.masked_fill_(special, 0.0)
        masked = torch.bernoulli(probability, generator=self.generator).bool()
        if self.whole_word_mask:
            masked = torch.from_numpy(spread_to_words(word_ids, masked.numpy()))
        labels[~masked] = -100  # the loss only looks at the chosen tokens
        replaced = torch.bernoulli(torch.full(labels.shape, self.mask_replace_prob), generator=self.generator).bool()
        replaced &= masked
        inputs[replaced] = self.tokenizer.mask_token_id
        if self.mask_replace_prob == 1 or self.random_replace_prob == 0:
            return inputs, labels
        scaled = self.random_replace_prob / (1 - self.mask_replace_prob)
        randomised = torch.bernoulli(torch.full(labels.shape, scaled), generator=self.generator).bool()
        randomised &= masked & ~replaced
        words = torch.randint(len(self.tokenizer), labels.shape, dtype=torch.long, generator=self.generator)
        inputs[randomised] = words[randomised]
        return inputs, labels


def word_ids_from_offsets(offsets: np.ndarray, special: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Word index of every token (-1 for special tokens) and where a word may *not* start a mask.

    A token opens a new word when it does not start where the previous token ended (or follows a
    special token); only word-opening tokens get a masking probability.
    """
    starts, ends = offsets[:, :, 0], offsets[:, :, 1]
    previous_end = np.roll(ends, 1, axis=1)
    previous_end[:, 0] = -1
    previous_special = np.roll(special, 1, axis=1)
    previous_special[:, 0] = False
    new_word = ~special & ((starts != previous_end) | previous_special)
    word_ids = np.cumsum(new_word, axis=1)
    word_ids[special] = -1
    return word_ids, ~new_word


def spread_to_words(word_ids: np.ndarray, masked: np.ndarray) -> np.ndarray:
    """Mask every token of a word one of whose tokens is masked."""
    valid = word_ids != -1
    same = (word_ids[:, :, None] == word_ids[:, None, :]) & valid[:, :, None] & valid[:, None, :]  # (B, T, T)
    return np.any(same & masked[:, None, :], axis=2)


@dataclass
class DataCollatorForWholeWordMask(DataCollatorForLanguageModeling):
    """``DataCollatorForLanguageModeling(whole_word_mask=True)`` under its older name."""

    whole_word_mask: bool = True
