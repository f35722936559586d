"""``BatchEncoding`` (what a tokenizer returns) and the input checks every tokenizer shares."""

from __future__ import annotations

from collections import UserDict

import numpy as np

from ..core.errors import InvalidInputError


def _to_numpy(value):
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple, np.ndarray)):
        if len({len(v) for v in value}) > 1:  # ragged: keep the rows, as Transformers does
            out = np.empty(len(value), dtype=object)
            out[:] = [np.asarray(v) for v in value]
            return out
    array = np.asarray(value)
    return array.astype(np.int64) if array.size == 0 else array


def _to_torch(value):
    import torch

    if torch.is_tensor(value):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray):
        return torch.from_numpy(np.stack(value))
    array = np.asarray(value)
    if array.dtype == object:
        raise ValueError("ragged")
    return torch.from_numpy(array.astype(np.int64) if array.size == 0 else array)


class BatchEncoding(UserDict):
    """Tokenizer output: a dict (``input_ids``, ``attention_mask`` …) with attribute access.

    ``encodings`` keeps the ``tokenizers.Encoding`` objects of a fast tokenizer, so
    ``tokens()``, ``word_ids()`` and ``sequence_ids()`` work as in Transformers.
    """

    def __init__(self, data=None, encoding=None, tensor_type=None, prepend_batch_axis=False,
                 n_sequences=None):
        super().__init__(data)
        if encoding is not None and not isinstance(encoding, (list, tuple)):
            encoding = [encoding]
        self._encodings = list(encoding) if encoding is not None else None
        if n_sequences is None and self._encodings:
            n_sequences = self._encodings[0].n_sequences
        self._n_sequences = n_sequences
        self.convert_to_tensors(tensor_type=tensor_type, prepend_batch_axis=prepend_batch_axis)

    def __getitem__(self, item):
        if isinstance(item, str):
            return self.data[item]
        if self._encodings is not None:
            return self._encodings[item]
        if isinstance(item, slice):
            return {key: value[item] for key, value in self.data.items()}
        raise KeyError(f"BatchEncoding keys are strings ({list(self.data)}); got {item!r}.")

    def __getattr__(self, item: str):
        if item.startswith("__") or item in ("data", "_encodings", "_n_sequences"):
            raise AttributeError(item)
        try:
            return self.data[item]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no '{item}' (it holds: {list(self.data)}).") from None

    def __getstate__(self):
        return {"data": self.data, "encodings": self._encodings, "n_sequences": self._n_sequences}

    def __setstate__(self, state):
        self.data = state.get("data", {})
        self._encodings = state.get("encodings")
        self._n_sequences = state.get("n_sequences")

    @property
    def n_sequences(self):
        return self._n_sequences

    @property
    def is_fast(self) -> bool:
        return self._encodings is not None

    @property
    def encodings(self):
        return self._encodings

    def _encoding(self, batch_index: int):
        if self._encodings is None:
            raise InvalidInputError("tokens()/word_ids() need the output of a fast tokenizer.")
        return self._encodings[batch_index]

    def tokens(self, batch_index: int = 0) -> list[str]:
        return self._encoding(batch_index).tokens

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        return self._encoding(batch_index).word_ids

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        return self._encoding(batch_index).sequence_ids

    def convert_to_tensors(self, tensor_type=None, prepend_batch_axis: bool = False):
        """Turn the lists into ``"pt"`` tensors or ``"np"`` arrays (``None`` leaves them)."""
        if tensor_type is None:
            return self
        tensor_type = getattr(tensor_type, "value", tensor_type)
        if tensor_type not in ("pt", "np"):
            raise InvalidInputError(f"return_tensors={tensor_type!r} is not supported; use 'pt', 'np' or None.")
        convert = _to_torch if tensor_type == "pt" else _to_numpy
        for key, value in self.data.items():
            try:
                self.data[key] = convert([value] if prepend_batch_axis else value)
            except (ValueError, TypeError):
                raise InvalidInputError(
                    f"Unable to create a tensor from '{key}': its sequences have different lengths. "
                    "Pass padding=True (and truncation=True) to get a rectangular batch."
                ) from None
        return self

    def to(self, device, *, non_blocking: bool = False) -> BatchEncoding:
        """Move every tensor to ``device`` (ids are never cast to a floating dtype)."""
        self.data = {k: v.to(device=device, non_blocking=non_blocking) if hasattr(v, "to") else v
                     for k, v in self.data.items()}
        return self



def _to_py(ids):
    """Tensors / arrays / numpy ints → plain Python ints and lists."""
    if hasattr(ids, "tolist"):
        return ids.tolist()
    if isinstance(ids, (list, tuple)):
        return [_to_py(i) for i in ids]
    return ids


def _check_text(text, name: str = "text"):
    """Single str, list of str, or (is_split_into_words) list of lists of str."""
    if isinstance(text, str):
        return
    if isinstance(text, (list, tuple)) and all(
        isinstance(t, str) or (isinstance(t, (list, tuple)) and all(isinstance(w, str) for w in t)) for t in text
    ):
        return
    got = type(text).__name__
    if isinstance(text, (list, tuple)):
        got += " containing " + ", ".join(sorted({type(t).__name__ for t in text}))
    raise InvalidInputError(
        f"{name} must be a str, a list of str (a batch) or a list of lists of str (pre-split words); got {got}."
    )
