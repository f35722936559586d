"""``PreTrainedTokenizerFast``: a tokenizer whose work is done by a ``tokenizers.Tokenizer``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.errors import CheckpointError, InvalidInputError
from ..core.io import atomic_path
from .base import PreTrainedTokenizerBase
from .encoding import BatchEncoding, _check_text, _to_py
from .files import TOKENIZER_FILE, _read_tokenizer_json
from .special_tokens import _as_added_token, _is_added_token


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

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None) -> list[int]:
        """Ids with the model's special tokens added, following the post-processor's template.

        The template is read off a probe encoding (one placeholder token per sequence), then the
        real ids are put where the placeholders were.
        """
        probe = str(self.unk_token or self.all_special_tokens[0])
        pair = ([probe], [probe]) if token_ids_1 is not None else [probe]
        layout = self._tokenizer.encode(*([pair] if token_ids_1 is None else pair), is_pretokenized=True,
                                        add_special_tokens=True)
        sequences = [[int(i) for i in _to_py(token_ids_0)], [int(i) for i in _to_py(token_ids_1 or [])]]
        out = []
        for token_id, sequence_id, special in zip(layout.ids, layout.sequence_ids, layout.special_tokens_mask):
            out.extend(sequences[sequence_id] if sequence_id is not None and not special else [token_id])
        return out

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
            except BaseException as exc:  # noqa: BLE001 - the Rust side panics (a BaseException) on bad lengths
                if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                    raise
                raise InvalidInputError(_explain_failure(exc, stride, max_length, truncation_strategy)) from None
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


def _explain_failure(exc, stride, max_length, truncation_strategy) -> str:
    message = str(exc).split("\n")[0]
    if "stride" in message or "truncat" in message.lower():
        return (
            f"Tokenization failed: {message}. With truncation={truncation_strategy!r}, max_length={max_length} and "
            f"stride={stride}, the text that is not truncated (e.g. the question) plus the special tokens must leave "
            "more than `stride` tokens per window: lower stride, raise max_length or shorten that text."
        )
    return f"Tokenization failed: {message}"

