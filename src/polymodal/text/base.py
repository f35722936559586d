"""Tokenizer base classes: ``BatchEncoding``, ``PreTrainedTokenizerBase`` and the fast base.

``PreTrainedTokenizerBase`` holds what every tokenizer shares: special tokens, the
padding/truncation argument rules, ``pad``, ``decode``/``batch_decode`` and the
``tokenizer_config.json`` round trip. ``PreTrainedTokenizerFast`` runs the actual
tokenisation in the Rust ``tokenizers`` library, so ids, padding and truncation are the
ones Transformers' fast tokenizers produce (they drive the same library the same way).

Like Transformers 5, a subclass builds its own normalizer / pre-tokenizer / decoder /
post-processor and takes only the vocabulary (and merges) from ``tokenizer.json`` or from
its legacy vocabulary files: that is what makes both libraries agree on any checkpoint.
"""

from __future__ import annotations

import json
import os
from collections import UserDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..core.config import read_json
from ..core.errors import CheckpointError, ConfigError, InvalidInputError
from ..core.hub import resolve_file
from ..core.io import atomic_path, atomic_write_text

TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"

# Transformers' "no limit" value for model_max_length (int(1e30)); written back verbatim.
VERY_LARGE_INTEGER = int(1e30)
LARGE_INTEGER = int(1e20)

_PADDING = ("longest", "max_length", "do_not_pad")
_TRUNCATION = ("longest_first", "only_first", "only_second", "do_not_truncate")
_HUB_KWARGS = ("cache_dir", "revision", "token", "local_files_only")
# tokenizer_config.json keys that describe files or provenance, never __init__ arguments
_NON_INIT_KEYS = ("tokenizer_class", "auto_map", "init_inputs", "name_or_path", "_commit_hash",
                  "special_tokens_map_file", "tokenizer_file", "fast_tokenizer_files", "backend",
                  "files_loaded", "is_local", "local_files_only")


# --------------------------------------------------------------------------- BatchEncoding
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


# --------------------------------------------------------------------------- argument rules
def _padding_strategy(padding) -> str:
    padding = getattr(padding, "value", padding)
    if padding is True:
        return "longest"
    if padding is False or padding is None:
        return "do_not_pad"
    if padding not in _PADDING:
        raise InvalidInputError(f"padding={padding!r} is not one of True, False, {', '.join(map(repr, _PADDING))}.")
    return padding


def _truncation_strategy(truncation) -> str:
    truncation = getattr(truncation, "value", truncation)
    if truncation is True:
        return "longest_first"
    if truncation is False or truncation is None:
        return "do_not_truncate"
    if truncation not in _TRUNCATION:
        raise InvalidInputError(
            f"truncation={truncation!r} is not one of True, False, {', '.join(map(repr, _TRUNCATION))}."
        )
    return truncation


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


class PreTrainedTokenizerBase:
    """Special tokens, argument rules, padding, decoding and the config-file round trip."""

    vocab_files_names: dict[str, str] = {}
    model_input_names: list[str] = ["input_ids", "attention_mask"]
    padding_side: str = "right"
    truncation_side: str = "right"
    SPECIAL_TOKENS_ATTRIBUTES = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                                 "cls_token", "mask_token"]

    def __init__(self, **kwargs):
        if "additional_special_tokens" in kwargs and "extra_special_tokens" not in kwargs:
            kwargs["extra_special_tokens"] = kwargs.pop("additional_special_tokens")
        kwargs.pop("additional_special_tokens", None)
        self.init_kwargs = {k: v for k, v in kwargs.items() if k not in _NON_INIT_KEYS}
        self.name_or_path = str(kwargs.pop("name_or_path", ""))
        self._processor_class = kwargs.pop("processor_class", None)
        self._special_tokens_map: dict[str, Any] = dict.fromkeys(self.SPECIAL_TOKENS_ATTRIBUTES)
        for key in self.SPECIAL_TOKENS_ATTRIBUTES:
            value = kwargs.pop(key, None)
            if value is not None and not isinstance(value, str) and not _is_added_token(value):
                raise InvalidInputError(f"{key} must be a str, got {type(value).__name__}.")
            self._special_tokens_map[key] = value
        extra = kwargs.pop("extra_special_tokens", None) or []
        self._extra_special_tokens = list(extra.values() if isinstance(extra, dict) else extra)
        max_len = kwargs.pop("model_max_length", kwargs.pop("max_len", None))
        self.model_max_length = int(max_len) if max_len is not None else VERY_LARGE_INTEGER
        self.padding_side = kwargs.pop("padding_side", type(self).padding_side)
        self.truncation_side = kwargs.pop("truncation_side", type(self).truncation_side)
        for name in ("padding_side", "truncation_side"):
            if getattr(self, name) not in ("right", "left"):
                raise ConfigError(f"{name} must be 'right' or 'left', got {getattr(self, name)!r}.")
        self.model_input_names = list(kwargs.pop("model_input_names", type(self).model_input_names))
        self.clean_up_tokenization_spaces = bool(kwargs.pop("clean_up_tokenization_spaces", False))
        self.split_special_tokens = bool(kwargs.pop("split_special_tokens", False))
        self.verbose = kwargs.pop("verbose", False)
        self._pad_token_type_id = 0
        self._in_target_context_manager = False

    # ------------------------------------------------------------------ special tokens
    @property
    def pad_token_type_id(self) -> int:
        return self._pad_token_type_id

    @property
    def special_tokens_map(self) -> dict[str, str]:
        return {k: str(v) for k, v in self._special_tokens_map.items() if v is not None}

    @property
    def extra_special_tokens(self) -> list[str]:
        return [str(t) for t in self._extra_special_tokens]

    additional_special_tokens = extra_special_tokens

    @property
    def all_special_tokens(self) -> list[str]:
        seen: dict[str, None] = {}
        for value in [*self._special_tokens_map.values(), *self._extra_special_tokens]:
            if value is not None:
                seen.setdefault(str(value))
        return list(seen)

    @property
    def all_special_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self.all_special_tokens)

    def _special_token(self, name: str):
        value = self._special_tokens_map.get(name)
        return None if value is None else str(value)

    def _special_token_id(self, name: str):
        token = self._special_token(name)
        return None if token is None else self.convert_tokens_to_ids(token)

    def _set_special_token(self, name: str, value):
        if value is not None and not isinstance(value, str) and not _is_added_token(value):
            raise InvalidInputError(f"{name} must be a str (or None), got {type(value).__name__}.")
        self._special_tokens_map[name] = value

    def _set_special_token_id(self, name: str, value):
        self._set_special_token(name, None if value is None else self.convert_ids_to_tokens(int(value)))

    def _set_processor_class(self, processor_class: str):
        self._processor_class = processor_class

    # ------------------------------------------------------------------ vocabulary (subclass)
    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def get_vocab(self) -> dict[str, int]:
        raise NotImplementedError

    def _convert_token_to_id(self, token: str) -> int | None:
        raise NotImplementedError

    def _convert_id_to_token(self, index: int) -> str | None:
        raise NotImplementedError

    def convert_tokens_to_ids(self, tokens):
        """A token (or list of tokens) → id(s); unknown tokens map to ``unk_token_id``."""
        if tokens is None:
            return None
        if isinstance(tokens, str):
            index = self._convert_token_to_id(tokens)
            return self._special_token_id("unk_token") if index is None else index
        return [self.convert_tokens_to_ids(t) for t in tokens]

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        ids = _to_py(ids)
        if isinstance(ids, int):
            return self._convert_id_to_token(ids)
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [self._convert_id_to_token(int(i)) for i in ids if int(i) not in skip]

    # ------------------------------------------------------------------ encoding
    def _resolve_strategies(self, padding, truncation, max_length, pad_to_multiple_of):
        """Transformers' rules for combining padding / truncation / max_length."""
        if max_length is not None and padding is False and truncation is None:
            truncation = "longest_first"  # max_length alone means "truncate to it"
        padding = _padding_strategy(padding)
        truncation = _truncation_strategy(truncation)
        if max_length is None:
            if padding == "max_length":
                if self.model_max_length > LARGE_INTEGER:
                    padding = "do_not_pad"
                else:
                    max_length = self.model_max_length
            if truncation != "do_not_truncate":
                if self.model_max_length > LARGE_INTEGER:
                    truncation = "do_not_truncate"
                else:
                    max_length = self.model_max_length
        if padding != "do_not_pad" and (self.pad_token is None or (self.pad_token_id or 0) < 0):
            raise InvalidInputError(
                "Asking to pad but the tokenizer has no pad token. Set one, e.g. "
                "tokenizer.pad_token = tokenizer.eos_token."
            )
        if (truncation != "do_not_truncate" and padding != "do_not_pad" and pad_to_multiple_of
                and max_length is not None and max_length % pad_to_multiple_of):
            raise InvalidInputError(
                f"Truncation length ({max_length}) is not a multiple of pad_to_multiple_of ({pad_to_multiple_of})."
            )
        return padding, truncation, max_length

    def __call__(self, text=None, text_pair=None, text_target=None, text_pair_target=None,
                 add_special_tokens: bool = True, padding=False, truncation=None, max_length=None,
                 stride: int = 0, is_split_into_words: bool = False, pad_to_multiple_of=None,
                 padding_side=None, return_tensors=None, return_token_type_ids=None,
                 return_attention_mask=None, return_overflowing_tokens: bool = False,
                 return_special_tokens_mask: bool = False, return_offsets_mapping: bool = False,
                 return_length: bool = False, verbose: bool = True, **kwargs) -> BatchEncoding:
        """Tokenize one text, a batch, or pairs; pad / truncate / tensorise as asked."""
        if text is None and text_target is None:
            raise InvalidInputError("Pass `text` (or `text_target`) to the tokenizer.")
        if padding_side is not None and padding_side not in ("left", "right"):
            raise InvalidInputError(f"padding_side must be 'left' or 'right', got {padding_side!r}.")
        padding, truncation, max_length = self._resolve_strategies(padding, truncation, max_length, pad_to_multiple_of)
        options = dict(add_special_tokens=add_special_tokens, padding_strategy=padding,
                       truncation_strategy=truncation, stride=stride, is_split_into_words=is_split_into_words,
                       pad_to_multiple_of=pad_to_multiple_of, padding_side=padding_side,
                       return_tensors=return_tensors, return_token_type_ids=return_token_type_ids,
                       return_attention_mask=return_attention_mask,
                       return_overflowing_tokens=return_overflowing_tokens,
                       return_special_tokens_mask=return_special_tokens_mask,
                       return_offsets_mapping=return_offsets_mapping, return_length=return_length,
                       split_special_tokens=kwargs.pop("split_special_tokens", self.split_special_tokens))
        encodings = targets = None
        if text is not None:
            encodings = self._encode_plus(text, text_pair, max_length=max_length, **options)
        if text_target is not None:
            target_length = kwargs.pop("max_target_length", None) or max_length
            targets = self._encode_plus(text_target, text_pair_target, max_length=target_length, **options)
        if targets is None:
            return encodings
        if encodings is None:
            return targets
        encodings["labels"] = targets["input_ids"]
        return encodings

    def _encode_plus(self, text, text_pair=None, **options) -> BatchEncoding:
        raise NotImplementedError

    def encode(self, text, text_pair=None, add_special_tokens: bool = True, padding=False, truncation=None,
               max_length=None, stride: int = 0, padding_side=None, return_tensors=None, **kwargs) -> list[int]:
        """Text → ids (``input_ids`` of ``__call__``)."""
        return self(text, text_pair=text_pair, add_special_tokens=add_special_tokens, padding=padding,
                    truncation=truncation, max_length=max_length, stride=stride, padding_side=padding_side,
                    return_tensors=return_tensors, **kwargs)["input_ids"]

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        raise NotImplementedError

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        raise NotImplementedError

    @property
    def max_len_single_sentence(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=False)

    @property
    def max_len_sentences_pair(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=True)

    # ------------------------------------------------------------------ padding
    def pad(self, encoded_inputs, padding=True, max_length=None, pad_to_multiple_of=None, padding_side=None,
            return_attention_mask=None, return_tensors=None, verbose: bool = True) -> BatchEncoding:
        """Pad already-encoded inputs (a dict of lists, or a list of dicts as a collator gets)."""
        if isinstance(encoded_inputs, (list, tuple)) and encoded_inputs and isinstance(encoded_inputs[0], Mapping):
            encoded_inputs = {key: [example[key] for example in encoded_inputs] for key in encoded_inputs[0]}
        if not isinstance(encoded_inputs, Mapping):
            raise InvalidInputError(
                f"pad() expects a dict of encoded inputs or a list of such dicts, got {type(encoded_inputs).__name__}."
            )
        main = self.model_input_names[0]
        if main not in encoded_inputs:
            raise InvalidInputError(f"pad() needs '{main}' in its input; got keys {list(encoded_inputs)}.")
        encoded_inputs = dict(encoded_inputs)
        first = encoded_inputs[main]
        if return_tensors is None:  # keep the input's tensor type, as Transformers does
            probe = first[0] if isinstance(first, (list, tuple)) and len(first) else first
            if hasattr(probe, "detach"):
                return_tensors = "pt"
            elif isinstance(probe, np.ndarray) or isinstance(first, np.ndarray):
                return_tensors = "np"
        encoded_inputs = {k: _to_py(v) for k, v in encoded_inputs.items()}
        if len(encoded_inputs[main]) == 0:
            if return_attention_mask:
                encoded_inputs["attention_mask"] = []
            return BatchEncoding(encoded_inputs)
        strategy, _, max_length = self._resolve_strategies(padding, False, max_length, None)
        rows = encoded_inputs[main]
        if not isinstance(rows[0], (list, tuple)):  # a single example
            out = self._pad_one(encoded_inputs, max_length, strategy, pad_to_multiple_of, padding_side,
                                return_attention_mask)
            return BatchEncoding(out, tensor_type=return_tensors)
        if strategy == "longest":
            max_length, strategy = max(len(r) for r in rows), "max_length"
        batch: dict[str, list] = {}
        for i in range(len(rows)):
            one = self._pad_one({k: v[i] for k, v in encoded_inputs.items()}, max_length, strategy,
                                pad_to_multiple_of, padding_side, return_attention_mask)
            for key, value in one.items():
                batch.setdefault(key, []).append(value)
        return BatchEncoding(batch, tensor_type=return_tensors)

    def _pad_one(self, inputs: dict, max_length, strategy, pad_to_multiple_of, padding_side, return_attention_mask):
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        main = self.model_input_names[0]
        ids = list(inputs[main])
        if strategy == "longest":
            max_length = len(ids)
        if max_length is not None and pad_to_multiple_of and max_length % pad_to_multiple_of:
            max_length = (max_length // pad_to_multiple_of + 1) * pad_to_multiple_of
        out = dict(inputs)
        if return_attention_mask and "attention_mask" not in out:
            out["attention_mask"] = [1] * len(ids)
        missing = 0 if strategy == "do_not_pad" or max_length is None else max_length - len(ids)
        if missing <= 0:
            return out
        side = padding_side or self.padding_side
        fills = {main: self.pad_token_id, "attention_mask": 0, "token_type_ids": self.pad_token_type_id,
                 "special_tokens_mask": 1}
        for key, fill in fills.items():
            if key in out and (key != "attention_mask" or return_attention_mask):
                pad = [fill] * missing
                out[key] = list(out[key]) + pad if side == "right" else pad + list(out[key])
        return out

    # ------------------------------------------------------------------ decoding
    def decode(self, token_ids, skip_special_tokens: bool = False, **kwargs):
        """Ids → text; a batch (list of lists / 2-D tensor) gives a list of texts."""
        token_ids = _to_py(token_ids)
        if isinstance(token_ids, (list, tuple)) and token_ids and isinstance(token_ids[0], (list, tuple)):
            return [self._decode(seq, skip_special_tokens=skip_special_tokens, **kwargs) for seq in token_ids]
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        return self._decode(token_ids, skip_special_tokens=skip_special_tokens, **kwargs)

    def batch_decode(self, sequences, skip_special_tokens: bool = False, clean_up_tokenization_spaces=None,
                     **kwargs) -> list[str]:
        result = self.decode(sequences, skip_special_tokens=skip_special_tokens,
                             clean_up_tokenization_spaces=clean_up_tokenization_spaces, **kwargs)
        return [result] if isinstance(result, str) else result

    def _decode(self, token_ids, skip_special_tokens=False, clean_up_tokenization_spaces=None, **kwargs) -> str:
        raise NotImplementedError

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return " ".join(tokens)

    @staticmethod
    def clean_up_tokenization(text: str) -> str:
        for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                              (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
            text = text.replace(before, after)
        return text

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *init_inputs, **kwargs):
        """Load from a folder (or hub id) holding ``tokenizer.json`` and/or the legacy vocabulary files."""
        path = str(pretrained_model_name_or_path)
        hub = {k: kwargs.pop(k) for k in _HUB_KWARGS if k in kwargs}
        for unused in ("force_download", "proxies", "subfolder", "trust_remote_code", "_from_auto",
                       "_from_pipeline", "use_fast"):
            kwargs.pop(unused, None)
        if Path(path).is_file():  # Transformers' legacy single-file form (vocab.txt / tokenizer.json)
            key = "tokenizer_file" if path.endswith(TOKENIZER_FILE) else "vocab_file"
            return cls(*init_inputs, **{key: path, **kwargs})
        files = {key: resolve_file(path, name, required=False, **hub) for key, name in cls.vocab_files_names.items()}
        config_path = resolve_file(path, TOKENIZER_CONFIG_FILE, required=False, **hub)
        config = read_json(config_path) if config_path else {}
        for key in _NON_INIT_KEYS:
            config.pop(key, None)
        init_kwargs = {**config, **kwargs}
        if "added_tokens_decoder" not in config:
            map_path = resolve_file(path, SPECIAL_TOKENS_MAP_FILE, required=False, **hub)
            for key, value in (read_json(map_path) if map_path else {}).items():
                if key not in kwargs:
                    init_kwargs[key] = _token_content(value) if key in cls.SPECIAL_TOKENS_ATTRIBUTES else value
            init_kwargs["added_tokens_decoder"] = cls._legacy_added_tokens(files, path, hub)
        for key, value in list(init_kwargs.items()):
            if key in cls.SPECIAL_TOKENS_ATTRIBUTES and isinstance(value, dict):
                init_kwargs[key] = _token_content(value)
        present = {key: value for key, value in files.items() if value}
        cls._check_files(path, present)
        init_kwargs.update({k: v for k, v in present.items() if kwargs.get(k) is None})
        init_kwargs["name_or_path"] = path
        return cls(*init_inputs, **init_kwargs)

    @classmethod
    def _legacy_added_tokens(cls, files: dict, path: str, hub: dict) -> dict:
        """Without ``added_tokens_decoder`` in the config, take ``tokenizer.json``'s added tokens."""
        tokenizer_file = files.get("tokenizer_file")
        if not tokenizer_file:
            return {}
        data = _read_tokenizer_json(tokenizer_file)
        return {int(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in data.get("added_tokens", [])}

    @classmethod
    def _check_files(cls, path: str, present: dict):
        if not present:
            wanted = " or ".join(f"'{name}'" for name in cls.vocab_files_names.values())
            raise CheckpointError(
                f"'{path}' has no tokenizer files: {cls.__name__} needs {wanted}. "
                "Point to a folder written by save_pretrained() (or a Transformers checkpoint folder)."
            )

    # ------------------------------------------------------------------ saving
    def _config_to_save(self) -> dict:
        config = {k: v for k, v in self.init_kwargs.items()
                  if k not in self.vocab_files_names and k not in ("added_tokens_decoder", "vocab", "merges")}
        for key in list(config):
            if key in self.SPECIAL_TOKENS_ATTRIBUTES or key.startswith("_"):
                config.pop(key)
            elif key in self.__dict__:  # the current value of an init option (e.g. do_lower_case)
                config[key] = self.__dict__[key]
        config.update(self.special_tokens_map)
        if self._extra_special_tokens:
            config["extra_special_tokens"] = self.extra_special_tokens
        config.pop("additional_special_tokens", None)
        config["model_max_length"] = self.model_max_length
        config["padding_side"] = self.padding_side
        config["truncation_side"] = self.truncation_side
        config["clean_up_tokenization_spaces"] = self.clean_up_tokenization_spaces
        config["model_input_names"] = list(self.model_input_names)
        config["tokenizer_class"] = type(self).__name__.removesuffix("Fast")
        if self._processor_class is not None:
            config["processor_class"] = self._processor_class
        return {k: v for k, v in config.items() if _jsonable(v)}

    def save_pretrained(self, save_directory, legacy_format=None, filename_prefix=None, push_to_hub=False,
                        **kwargs) -> tuple[str, ...]:
        """Write ``tokenizer_config.json``, ``special_tokens_map.json`` and the vocabulary files.

        Every file is written to a temporary name and renamed, so a crash leaves no half file.
        """
        directory = Path(save_directory)
        if directory.is_file():
            raise InvalidInputError(f"save_pretrained() needs a folder; '{directory}' is a file.")
        directory.mkdir(parents=True, exist_ok=True)
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        config = self._config_to_save()
        config_file = directory / f"{prefix}{TOKENIZER_CONFIG_FILE}"
        atomic_write_text(config_file, json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        map_file = directory / f"{prefix}{SPECIAL_TOKENS_MAP_FILE}"
        special = dict(self.special_tokens_map)
        if self._extra_special_tokens:
            special["additional_special_tokens"] = self.extra_special_tokens
        atomic_write_text(map_file, json.dumps(special, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        vocab_files = self.save_vocabulary(str(directory), filename_prefix=filename_prefix)
        return (str(config_file), str(map_file), *vocab_files)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name_or_path='{self.name_or_path}', vocab_size={self.vocab_size}, "
                f"model_max_length={self.model_max_length}, padding_side='{self.padding_side}', "
                f"truncation_side='{self.truncation_side}', special_tokens={self.special_tokens_map})")


def _make_special_properties():
    """``bos_token`` / ``bos_token_id`` … as properties (with setters) on the base class."""
    for name in PreTrainedTokenizerBase.SPECIAL_TOKENS_ATTRIBUTES:
        token = property(lambda self, n=name: self._special_token(n),
                         lambda self, value, n=name: self._set_special_token(n, value))
        token_id = property(lambda self, n=name: self._special_token_id(n),
                            lambda self, value, n=name: self._set_special_token_id(n, value))
        setattr(PreTrainedTokenizerBase, name, token)
        setattr(PreTrainedTokenizerBase, f"{name}_id", token_id)


_make_special_properties()


def _is_added_token(value) -> bool:
    return type(value).__name__ == "AddedToken"


def _token_content(value):
    """special_tokens_map.json / tokenizer_config.json store a token as a str or an AddedToken dict."""
    if isinstance(value, dict):
        return value.get("content")
    return value


def _jsonable(value) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def _read_tokenizer_json(path) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"'{path}' is not valid JSON ({exc.msg} at line {exc.lineno}); re-create it with save_pretrained()."
        ) from None
    except UnicodeDecodeError:
        raise CheckpointError(f"'{path}' is not UTF-8 text; expected a tokenizer.json file.") from None
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise CheckpointError(f"'{path}' has no 'model' section; it is not a tokenizers-library tokenizer.json.")
    return data


# --------------------------------------------------------------------------- fast base
class PreTrainedTokenizerFast(PreTrainedTokenizerBase):
    """A tokenizer whose work is done by a ``tokenizers.Tokenizer`` (``self._tokenizer``).

    Subclasses build the backend in ``__init__`` from ``vocab`` (+ ``merges``) and then call
    ``super().__init__(backend, **kwargs)``; loading files is handled here.
    """

    vocab_files_names = {"tokenizer_file": TOKENIZER_FILE}

    def __init__(self, tokenizer_object=None, *, added_tokens_decoder=None, **kwargs):
        if tokenizer_object is None:
            tokenizer_file = kwargs.pop("tokenizer_file", None)
            if tokenizer_file is None:
                raise CheckpointError(f"{type(self).__name__} needs a tokenizer.json or its vocabulary files.")
            from tokenizers import Tokenizer

            tokenizer_object = Tokenizer.from_file(str(tokenizer_file))
        for key in ("vocab_file", "merges_file", "tokenizer_file", "vocab", "merges"):
            kwargs.pop(key, None)
        self._tokenizer = tokenizer_object
        super().__init__(**kwargs)
        self._add_known_tokens(added_tokens_decoder or {})

    # ------------------------------------------------------------------ files → vocab
    @staticmethod
    def _vocab_from_tokenizer_json(path) -> tuple[Any, list | None, dict]:
        """(vocab, merges, model section) of a tokenizer.json, as the Python objects the models take."""
        data = _read_tokenizer_json(path)
        model = data["model"]
        vocab = model.get("vocab")
        if vocab is None:
            raise CheckpointError(f"'{path}' has no model vocabulary.")
        if isinstance(vocab, list) and vocab and isinstance(vocab[0], list):
            vocab = [(str(tok), float(score)) for tok, score in vocab]
        merges = model.get("merges")
        if merges is not None:
            merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in merges]
        return vocab, merges, data

    @classmethod
    def _pop_vocab(cls, vocab, merges, kwargs: dict):
        """Resolve ``vocab``/``merges`` from explicit values, a tokenizer.json, or legacy files."""
        tokenizer_file = kwargs.pop("tokenizer_file", None)
        vocab_file = kwargs.pop("vocab_file", None)
        merges_file = kwargs.pop("merges_file", None)
        extras: dict = {}
        if vocab is None and tokenizer_file and Path(tokenizer_file).is_file():
            vocab, file_merges, extras = cls._vocab_from_tokenizer_json(tokenizer_file)
            merges = merges if merges is not None else file_merges
        elif vocab is None and vocab_file:
            vocab, file_merges, extras = cls._read_legacy_vocab(vocab_file, merges_file, kwargs)
            merges = merges if merges is not None else file_merges
        elif isinstance(vocab, (str, os.PathLike)):  # Transformers also accepts file paths here
            path_merges = isinstance(merges, (str, os.PathLike))
            vocab, file_merges, extras = cls._read_legacy_vocab(vocab, merges if path_merges else merges_file, kwargs)
            merges = file_merges if merges is None or path_merges else merges
        return vocab, merges, extras

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs) -> tuple[Any, list | None, dict]:
        raise CheckpointError(f"{cls.__name__} cannot read legacy vocabulary file '{vocab_file}'.")

    def _add_known_tokens(self, added_tokens_decoder: dict):
        """Register saved added tokens, then every special token, as Transformers does."""
        present = {t.content for t in self._tokenizer.get_added_tokens_decoder().values()}
        to_add = []
        for _, token in sorted(((int(i), t) for i, t in added_tokens_decoder.items()), key=lambda x: x[0]):
            token = _as_added_token(token)
            if token.content not in present:
                to_add.append(token)
                present.add(token.content)
        for value in [*self._special_tokens_map.values(), *self._extra_special_tokens]:
            if value is None or str(value) in present:
                continue
            to_add.append(_as_added_token(value, special=True))
            present.add(str(value))
        named = {str(v) for v in self._special_tokens_map.values() if v is not None}
        for token in to_add:
            if str(token.content) in named and not token.special:
                token.special = True
        if to_add:
            self._tokenizer.add_tokens(to_add)

    # ------------------------------------------------------------------ vocabulary
    @property
    def backend_tokenizer(self):
        return self._tokenizer

    @property
    def is_fast(self) -> bool:
        return True

    def __len__(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=False)

    def get_vocab(self) -> dict[str, int]:
        return self._tokenizer.get_vocab(with_added_tokens=True)

    @property
    def vocab(self) -> dict[str, int]:
        return self.get_vocab()

    @property
    def added_tokens_decoder(self) -> dict:
        return self._tokenizer.get_added_tokens_decoder()

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        return {t.content: i for i, t in sorted(self.added_tokens_decoder.items())}

    def get_added_vocab(self) -> dict[str, int]:
        return self.added_tokens_encoder

    def _convert_token_to_id(self, token: str):
        return self._tokenizer.token_to_id(token)

    def _convert_id_to_token(self, index: int):
        return self._tokenizer.id_to_token(int(index))

    def add_tokens(self, new_tokens, special_tokens: bool = False) -> int:
        tokens = [new_tokens] if isinstance(new_tokens, str) or _is_added_token(new_tokens) else list(new_tokens)
        if special_tokens:
            return self._tokenizer.add_special_tokens(tokens)
        return self._tokenizer.add_tokens(tokens)

    def add_special_tokens(self, special_tokens_dict: dict, replace_extra_special_tokens: bool = True) -> int:
        """Set named special tokens (``{"pad_token": "[PAD]"}``), adding them to the vocabulary if new."""
        added = []
        for key, value in special_tokens_dict.items():
            if key in ("additional_special_tokens", "extra_special_tokens"):
                values = list(value)
                self._extra_special_tokens = values if replace_extra_special_tokens else [
                    *self._extra_special_tokens, *values]
                added.extend(values)
            elif key in self.SPECIAL_TOKENS_ATTRIBUTES:
                self._special_tokens_map[key] = value
                added.append(value)
            else:
                raise InvalidInputError(f"'{key}' is not a special token name ({self.SPECIAL_TOKENS_ATTRIBUTES}).")
        return self.add_tokens([_as_added_token(t, special=True) for t in added], special_tokens=True)

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return self._tokenizer.num_special_tokens_to_add(pair)

    # ------------------------------------------------------------------ encoding
    def _configure(self, padding_strategy, truncation_strategy, max_length, stride, pad_to_multiple_of,
                   padding_side):
        """Set the backend's truncation/padding for this call (reset when not asked for)."""
        backend = self._tokenizer
        if truncation_strategy == "do_not_truncate":
            if backend.truncation is not None:
                backend.no_truncation()
        else:
            backend.enable_truncation(max_length, stride=stride, strategy=truncation_strategy,
                                      direction=self.truncation_side)
        if padding_strategy == "do_not_pad":
            if backend.padding is not None:
                backend.no_padding()
        else:
            backend.enable_padding(
                direction=padding_side or self.padding_side, pad_id=self.pad_token_id,
                pad_type_id=self.pad_token_type_id,
                pad_token=self.pad_token, length=max_length if padding_strategy == "max_length" else None,
                pad_to_multiple_of=pad_to_multiple_of,
            )

    def _encode_plus(self, text, text_pair=None, *, add_special_tokens=True, padding_strategy="do_not_pad",
                     truncation_strategy="do_not_truncate", max_length=None, stride=0,
                     is_split_into_words=False, pad_to_multiple_of=None, padding_side=None, return_tensors=None,
                     return_token_type_ids=None, return_attention_mask=None, return_overflowing_tokens=False,
                     return_special_tokens_mask=False, return_offsets_mapping=False, return_length=False,
                     split_special_tokens=False, **_) -> BatchEncoding:
        _check_text(text, "text")
        if text_pair is not None:
            _check_text(text_pair, "text_pair")
        batched = (isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
                   if is_split_into_words else isinstance(text, (list, tuple)))
        if batched:
            if text_pair is not None and (isinstance(text_pair, str) or len(text_pair) != len(text)):
                raise InvalidInputError("text_pair must be a list with one entry per text of the batch.")
            inputs = list(zip(text, text_pair)) if text_pair is not None else list(text)
        else:
            inputs = [(text, text_pair)] if text_pair else [text]
        self._configure(padding_strategy, truncation_strategy, max_length, stride, pad_to_multiple_of, padding_side)
        if self._tokenizer.encode_special_tokens != split_special_tokens:
            self._tokenizer.encode_special_tokens = split_special_tokens
        if not inputs:
            encodings = []
        else:
            try:
                encodings = self._tokenizer.encode_batch(inputs, add_special_tokens=add_special_tokens,
                                                         is_pretokenized=is_split_into_words)
            except Exception as exc:  # the Rust side reports e.g. truncation that cannot fit
                raise InvalidInputError(f"Tokenization failed: {exc}") from None
        data, flat = self._collect(encodings, return_token_type_ids, return_attention_mask,
                                   return_overflowing_tokens, return_special_tokens_mask, return_offsets_mapping,
                                   return_length)
        output = BatchEncoding(data, flat, tensor_type=return_tensors)
        if not batched and return_tensors is None and not return_overflowing_tokens:
            output = BatchEncoding({k: (v[0] if v and isinstance(v[0], list) else v) for k, v in output.items()},
                                   output.encodings)
        return output

    def _collect(self, encodings, return_token_type_ids, return_attention_mask, return_overflowing_tokens,
                 return_special_tokens_mask, return_offsets_mapping, return_length):
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in self.model_input_names
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        data: dict[str, list] = {"input_ids": []}
        flat, mapping = [], []
        for index, encoding in enumerate(encodings):
            group = [encoding, *encoding.overflowing] if return_overflowing_tokens else [encoding]
            for e in group:
                flat.append(e)
                mapping.append(index)
                data["input_ids"].append(e.ids)
                if return_token_type_ids:
                    data.setdefault("token_type_ids", []).append(e.type_ids)
                if return_attention_mask:
                    data.setdefault("attention_mask", []).append(e.attention_mask)
                if return_special_tokens_mask:
                    data.setdefault("special_tokens_mask", []).append(e.special_tokens_mask)
                if return_offsets_mapping:
                    data.setdefault("offset_mapping", []).append(e.offsets)
                if return_length:
                    data.setdefault("length", []).append(len(e.ids))
        if return_overflowing_tokens:
            data["overflow_to_sample_mapping"] = mapping
        return data, flat

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        if not isinstance(text, str):
            raise InvalidInputError(f"tokenize() expects a str, got {type(text).__name__}.")
        return self(text, text_pair=pair, add_special_tokens=add_special_tokens, **kwargs).encodings[0].tokens

    # ------------------------------------------------------------------ decoding
    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        decoder = self._tokenizer.decoder
        return decoder.decode(tokens) if decoder is not None else " ".join(tokens)

    def _backend_decode(self, token_ids, skip_special_tokens: bool) -> str:
        return self._tokenizer.decode(token_ids, skip_special_tokens=skip_special_tokens)

    def _decode(self, token_ids, skip_special_tokens=False, clean_up_tokenization_spaces=None, **kwargs) -> str:
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        text = self._backend_decode([int(i) for i in token_ids], skip_special_tokens)
        clean = clean_up_tokenization_spaces
        if clean is None:
            clean = self.clean_up_tokenization_spaces
        # Transformers skips the clean-up for BPE models: it would delete real spaces before punctuation.
        if clean and type(self._tokenizer.model).__name__ != "BPE":
            text = self.clean_up_tokenization(text)
        return text

    # ------------------------------------------------------------------ saving
    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        path = Path(save_directory) / f"{filename_prefix + '-' if filename_prefix else ''}{TOKENIZER_FILE}"
        backend = self._tokenizer
        truncation, padding = backend.truncation, backend.padding
        # Per-call padding/truncation is state of the last __call__, not of the tokenizer.
        backend.no_truncation()
        backend.no_padding()
        try:
            with atomic_path(path) as tmp:
                backend.save(tmp)
        finally:
            if truncation:
                backend.enable_truncation(**truncation)
            if padding:
                backend.enable_padding(**{k: v for k, v in padding.items()})
        return (str(path),)


def _as_added_token(token, special: bool | None = None):
    from tokenizers import AddedToken

    if _is_added_token(token):
        return token
    if isinstance(token, dict):
        fields = {k: token[k] for k in ("lstrip", "rstrip", "single_word", "normalized", "special") if k in token}
        return AddedToken(token["content"], **fields)
    if special is None:
        return AddedToken(str(token))
    return AddedToken(str(token), special=special)
