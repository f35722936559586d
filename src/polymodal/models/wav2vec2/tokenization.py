"""``Wav2Vec2CTCTokenizer``: characters ↔ ids for CTC models, with greedy CTC decoding.

Encoding is character-level: a space becomes the word delimiter ``|`` and multi-character
vocabulary entries (``<pad>``, ``<unk>`` …) are kept whole. Decoding collapses repeated
ids and drops the blank (``<pad>``), optionally with character / word offsets in frames.
The collapse runs in numpy over the whole (flattened) batch, not a Python loop per frame.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import CheckpointError, InvalidInputError
from ...core.io import atomic_write_text
from ...core.outputs import ModelOutput, output_dataclass
from ...text.base import BatchEncoding, PreTrainedTokenizerBase, _check_text, _to_py

VOCAB_FILE = "vocab.json"


@output_dataclass
class Wav2Vec2CTCTokenizerOutput(ModelOutput):
    """``text`` plus, when asked for, ``char_offsets`` / ``word_offsets`` (in logit frames)."""

    text: Any = None
    char_offsets: Any = None
    word_offsets: Any = None


def _read_vocab(vocab_file) -> dict:
    try:
        vocab = json.loads(Path(vocab_file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(
            f"Vocabulary file not found: '{vocab_file}'. A Wav2Vec2 tokenizer needs vocab.json.") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"'{vocab_file}' is not valid JSON ({exc.msg} at line {exc.lineno}); it should map characters to ids."
        ) from None
    if not isinstance(vocab, dict) or not vocab:
        raise CheckpointError(f"'{vocab_file}' must be a non-empty JSON object mapping characters to ids.")
    return vocab


class Wav2Vec2CTCTokenizer(PreTrainedTokenizerBase):
    vocab_files_names = {"vocab_file": VOCAB_FILE}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab_file=None, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
                 word_delimiter_token="|", replace_word_delimiter_char=" ", do_lower_case=False, target_lang=None,
                 **kwargs):
        kwargs.pop("added_tokens_decoder", None)  # rebuilt from the vocabulary below
        kwargs.pop("special_tokens_pattern", None)
        if vocab_file is None:
            raise CheckpointError("Wav2Vec2CTCTokenizer needs vocab_file (the path of a vocab.json).")
        self.vocab = _read_vocab(vocab_file)
        self._word_delimiter_token = word_delimiter_token
        self.replace_word_delimiter_char = replace_word_delimiter_char
        self.do_lower_case = do_lower_case
        self.target_lang = target_lang
        super().__init__(bos_token=bos_token, eos_token=eos_token, unk_token=unk_token, pad_token=pad_token,
                         do_lower_case=do_lower_case, word_delimiter_token=word_delimiter_token,
                         replace_word_delimiter_char=replace_word_delimiter_char, target_lang=target_lang, **kwargs)
        self._select_vocab(target_lang)

    # ------------------------------------------------------------------ vocabulary
    def _select_vocab(self, target_lang):
        if target_lang is not None:
            if target_lang not in self.vocab or not isinstance(self.vocab[target_lang], dict):
                langs = [k for k, v in self.vocab.items() if isinstance(v, dict)]
                raise InvalidInputError(
                    f"target_lang={target_lang!r} is not in the vocabulary (it has {langs or 'no languages'}).")
            self.encoder = dict(self.vocab[target_lang])
        else:
            self.encoder = dict(self.vocab)
        if not all(isinstance(i, int) for i in self.encoder.values()):
            raise CheckpointError("vocab.json must map each token to an integer id (nested per-language "
                                  "vocabularies need target_lang=...).")
        self.decoder = {i: t for t, i in self.encoder.items()}
        self._added: dict[str, int] = {}
        for token in [*self._special_token_values(), self.word_delimiter_token]:
            if token is not None and token not in self.encoder and token not in self._added:
                self._added[token] = max([*self.encoder.values(), *self._added.values(), -1]) + 1
        self._build_tables()

    def _special_token_values(self):
        return [str(v) for v in self._special_tokens_map.values() if v is not None]

    def _build_tables(self):
        """id → token table and the splitting pattern, rebuilt whenever tokens change."""
        id_to_token = {**self.decoder, **{i: t for t, i in self._added.items()}}
        size = max(id_to_token) + 1 if id_to_token else 0
        self._tokens = np.array([id_to_token.get(i) for i in range(size)], dtype=object)
        self._holes = np.array([t is None for t in self._tokens], dtype=bool)
        # what each id prints as: the word delimiter shows as replace_word_delimiter_char
        delimiter = self.word_delimiter_token
        self._display = np.array([self.replace_word_delimiter_char if t == delimiter and t is not None else t
                                  for t in self._tokens], dtype=object)
        # multi-character vocabulary entries are matched whole and eat the spaces around them
        self._strip_tokens = {t for t in self.encoder if len(t) > 1}
        whole = sorted({*self._strip_tokens, *self._special_token_values(), *self._added,
                        str(self.word_delimiter_token)} - {"None"}, key=len, reverse=True)
        self._split_pattern = re.compile("(" + "|".join(map(re.escape, whole)) + ")") if whole else None
        self._whole_tokens = set(whole)

    def set_target_lang(self, target_lang: str):
        if all(not isinstance(v, dict) for v in self.vocab.values()):
            raise InvalidInputError("This vocabulary is not multi-lingual (nested); cannot set a target language.")
        self.target_lang = target_lang
        self.init_kwargs["target_lang"] = target_lang
        self._select_vocab(target_lang)

    @property
    def word_delimiter_token(self):
        return None if self._word_delimiter_token is None else str(self._word_delimiter_token)

    @word_delimiter_token.setter
    def word_delimiter_token(self, value):
        self._word_delimiter_token = value
        if hasattr(self, "encoder"):
            self._build_tables()

    @property
    def word_delimiter_token_id(self):
        return None if self._word_delimiter_token is None else self.convert_tokens_to_ids(self.word_delimiter_token)

    @word_delimiter_token_id.setter
    def word_delimiter_token_id(self, value):
        self.word_delimiter_token = self.convert_ids_to_tokens(int(value))

    @property
    def vocab_size(self) -> int:
        return len(self.decoder)

    def __len__(self) -> int:
        return len(self.decoder) + len(self._added)

    def get_vocab(self) -> dict[str, int]:
        return {**self.encoder, **self._added}

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        return dict(self._added)

    def _convert_token_to_id(self, token: str):
        if token in self._added:
            return self._added[token]
        return self.encoder.get(token, self.encoder.get(str(self.unk_token)))

    def _convert_id_to_token(self, index: int):
        index = int(index)
        if 0 <= index < len(self._tokens) and self._tokens[index] is not None:
            return self._tokens[index]
        return self.unk_token

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return 0  # CTC targets carry no special tokens

    # ------------------------------------------------------------------ encoding
    def tokenize(self, text: str, **kwargs) -> list[str]:
        """Characters (space → ``|``), keeping multi-character vocabulary tokens whole."""
        if not isinstance(text, str):
            raise InvalidInputError(f"Wav2Vec2CTCTokenizer.tokenize() expects a str, got {type(text).__name__}.")
        if kwargs.get("split_special_tokens", self.split_special_tokens) or self._split_pattern is None:
            return self._tokenize(text)
        pieces = [p for p in self._split_pattern.split(text)]
        for i, piece in enumerate(pieces):
            if i % 2 == 1 and piece in self._strip_tokens:  # odd pieces are matched tokens
                if i > 0:
                    pieces[i - 1] = pieces[i - 1].rstrip()
                if i + 1 < len(pieces):
                    pieces[i + 1] = pieces[i + 1].lstrip()
        tokens: list[str] = []
        for i, piece in enumerate(pieces):
            if not piece:
                continue
            tokens.extend([piece] if i % 2 == 1 else self._tokenize(piece))
        return tokens

    def _tokenize(self, text: str) -> list[str]:
        # Transformers upper-cases here (the vocabularies are upper-case letters) despite the name.
        if self.do_lower_case:
            text = text.upper()
        return list(text.replace(" ", str(self.word_delimiter_token)))

    def _ids_of(self, text, is_split_into_words: bool, split_special_tokens: bool) -> list[int]:
        if isinstance(text, (list, tuple)):
            if is_split_into_words:  # each word tokenized on its own, joined by the delimiter
                return self.convert_tokens_to_ids(
                    [t for word in text for t in self.tokenize(" " + word, split_special_tokens=split_special_tokens)])
            return self.convert_tokens_to_ids(list(text))
        return self.convert_tokens_to_ids(self.tokenize(text, split_special_tokens=split_special_tokens))

    def _truncate(self, ids: list[int], strategy: str, max_length) -> list[int]:
        if strategy == "do_not_truncate" or max_length is None or len(ids) <= max_length:
            return ids
        return ids[:max_length] if self.truncation_side == "right" else ids[len(ids) - max_length:]

    def _encode_plus(self, text, text_pair=None, *, padding_strategy="do_not_pad",
                     truncation_strategy="do_not_truncate", max_length=None, is_split_into_words=False, pad_to_multiple_of=None, padding_side=None,
                     return_tensors=None, return_attention_mask=None, return_length=False,
                     split_special_tokens=False, **_) -> BatchEncoding:
        _check_text(text, "text")
        batched = (isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
                   if is_split_into_words else isinstance(text, (list, tuple)))
        texts = list(text) if batched else [text]
        pairs = list(text_pair) if batched and text_pair is not None else [text_pair] * len(texts)
        rows = []
        for one, pair in zip(texts, pairs):
            ids = self._ids_of(one, is_split_into_words, split_special_tokens)
            if pair is not None:
                ids = ids + self._ids_of(pair, is_split_into_words, split_special_tokens)
            rows.append(self._truncate(ids, truncation_strategy, max_length))
        data: dict[str, list] = {"input_ids": rows}
        if return_length:
            data["length"] = [len(r) for r in rows]
        padded = self.pad(data, padding=padding_strategy, max_length=max_length, pad_to_multiple_of=pad_to_multiple_of,
                          padding_side=padding_side, return_attention_mask=return_attention_mask)
        if not batched:
            if return_tensors is None:
                return BatchEncoding({k: v[0] for k, v in padded.items()})
        return BatchEncoding(dict(padded), tensor_type=return_tensors)

    # ------------------------------------------------------------------ CTC decoding
    def _canonical_ids(self, ids: np.ndarray) -> np.ndarray:
        """Map ids outside the table (or holes in it) to the unk token's id, as Transformers does."""
        unk = self._convert_token_to_id(str(self.unk_token)) if self.unk_token is not None else -1
        size = len(self._tokens)
        valid = (ids >= 0) & (ids < size)
        valid[valid] &= ~self._holes[ids[valid]]
        return np.where(valid, ids, unk)

    def _collapse(self, ids: np.ndarray, rows: np.ndarray, skip_special_tokens: bool, group_tokens: bool):
        """Greedy CTC over a flattened batch: returns kept token ids, their rows, start and end frames."""
        if skip_special_tokens:  # special tokens go before grouping, as in Transformers
            special = {self._convert_token_to_id(t) for t in self._special_token_values()}
            special.discard(self.word_delimiter_token_id)
            keep = ~np.isin(ids, list(special))
            ids, rows = ids[keep], rows[keep]
        position = np.arange(len(ids))
        row_start = np.r_[True, rows[1:] != rows[:-1]] if len(ids) else np.zeros(0, bool)
        # frame positions restart at 0 per row, counted over the tokens that survived the skip
        first_of_row = np.maximum.accumulate(np.where(row_start, position, 0)) if len(ids) else position
        local = position - first_of_row
        if group_tokens:
            change = row_start | np.r_[True, ids[1:] != ids[:-1]] if len(ids) else row_start
        else:
            change = np.ones(len(ids), dtype=bool)
        starts = np.flatnonzero(change)
        ends = np.r_[starts[1:], len(ids)]
        chars, char_rows = ids[starts], rows[starts]
        start_frames, end_frames = local[starts], local[starts] + (ends - starts)
        pad_id = self.pad_token_id
        not_blank = chars != (pad_id if pad_id is not None else -1)
        return chars[not_blank], char_rows[not_blank], start_frames[not_blank], end_frames[not_blank]

    def _texts(self, chars, char_rows, batch_size: int, spaces_between_special_tokens: bool) -> list[list[str]]:
        strings = self._display[chars] if len(chars) else np.array([], dtype=object)
        bounds = np.searchsorted(char_rows, np.arange(batch_size + 1))
        return [list(strings[bounds[b]:bounds[b + 1]]) for b in range(batch_size)]

    def _finish_text(self, chars: list[str], spaces_between_special_tokens: bool, clean_up) -> str:
        text = (" " if spaces_between_special_tokens else "").join(chars).strip()
        if self.do_lower_case:
            text = text.lower()
        clean = self.clean_up_tokenization_spaces if clean_up is None else clean_up
        return self.clean_up_tokenization(text) if clean else text

    @staticmethod
    def _word_offsets(char_offsets: list[dict], delimiter: str) -> list[dict]:
        """Runs of non-delimiter characters → words with the first start and last end frame."""
        words, current = [], None
        for offset in char_offsets:
            if offset["char"] == delimiter:
                if current is not None:
                    words.append(current)
                current = None
            elif current is None:
                current = {"word": offset["char"], "start_offset": offset["start_offset"],
                           "end_offset": offset["end_offset"]}
            else:
                current["word"] += offset["char"]
                current["end_offset"] = offset["end_offset"]
        if current is not None:
            words.append(current)
        return words

    @staticmethod
    def _flatten(sequences) -> tuple[np.ndarray, np.ndarray]:
        """A batch of id sequences → (all ids as one int64 array, length of each sequence)."""
        if hasattr(sequences, "detach"):  # torch: no detour through Python lists
            sequences = sequences.detach().cpu().numpy()
        if isinstance(sequences, np.ndarray):
            array = sequences.reshape(1, -1) if sequences.ndim == 1 else sequences
            if array.ndim != 2:
                raise InvalidInputError(f"Expected ids of shape (batch, frames), got shape {sequences.shape}.")
            return array.astype(np.int64, copy=False).reshape(-1), np.full(array.shape[0], array.shape[1])
        rows = [np.asarray(_to_py(s), dtype=np.int64).reshape(-1) for s in sequences]
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        return (np.concatenate(rows) if rows else np.zeros(0, np.int64)), lengths

    def _decode_batch(self, flat: np.ndarray, lengths: np.ndarray, skip_special_tokens=False,
                      clean_up_tokenization_spaces=None, group_tokens=True, spaces_between_special_tokens=False,
                      output_char_offsets=False, output_word_offsets=False) -> list:
        batch = len(lengths)
        rows = np.repeat(np.arange(batch), lengths)
        chars, char_rows, starts, ends = self._collapse(self._canonical_ids(flat), rows, skip_special_tokens,
                                                        group_tokens)
        per_row = self._texts(chars, char_rows, batch, spaces_between_special_tokens)
        texts = [self._finish_text(c, spaces_between_special_tokens, clean_up_tokenization_spaces) for c in per_row]
        if not (output_char_offsets or output_word_offsets):
            return texts
        bounds = np.searchsorted(char_rows, np.arange(batch + 1))
        row_bounds = np.r_[0, np.cumsum(lengths)]
        outputs = []
        for b, text in enumerate(texts):
            lo, hi = bounds[b], bounds[b + 1]
            offsets = [{"char": c, "start_offset": int(s), "end_offset": int(e)}
                       for c, s, e in zip(per_row[b], starts[lo:hi], ends[lo:hi])]
            if not offsets and not self._had_tokens(flat[row_bounds[b]:row_bounds[b + 1]], skip_special_tokens):
                outputs.append(Wav2Vec2CTCTokenizerOutput(text=text, char_offsets=[], word_offsets=[]))
                continue
            words = self._word_offsets(offsets, self.replace_word_delimiter_char) if output_word_offsets else None
            outputs.append(Wav2Vec2CTCTokenizerOutput(text=text, char_offsets=offsets if output_char_offsets else None,
                                                      word_offsets=words))
        return outputs

    def _had_tokens(self, sequence, skip_special_tokens: bool) -> bool:
        """Transformers returns empty offset lists (not None) when nothing is left to decode."""
        if not skip_special_tokens:
            return len(sequence) > 0
        special = {self._convert_token_to_id(t) for t in self._special_token_values()}
        special.discard(self.word_delimiter_token_id)
        ids = self._canonical_ids(sequence)
        return bool((~np.isin(ids, list(special))).any())

    def _decode(self, token_ids, skip_special_tokens=False, clean_up_tokenization_spaces=None, **kwargs):
        flat, lengths = self._flatten([token_ids])
        return self._decode_batch(flat, lengths, skip_special_tokens, clean_up_tokenization_spaces, **kwargs)[0]

    def decode(self, token_ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces=None,
               output_char_offsets: bool = False, output_word_offsets: bool = False, **kwargs):
        """Greedy CTC decode of one id sequence (e.g. ``logits.argmax(-1)[0]``).

        With ``output_char_offsets`` / ``output_word_offsets`` returns a
        ``Wav2Vec2CTCTokenizerOutput`` whose offsets count logit frames.
        """
        if hasattr(token_ids, "ndim") and token_ids.ndim == 1:  # tensor / array: straight to numpy
            return self._decode_batch(*self._flatten(token_ids), skip_special_tokens, clean_up_tokenization_spaces,
                                      output_char_offsets=output_char_offsets,
                                      output_word_offsets=output_word_offsets, **kwargs)[0]
        token_ids = _to_py(token_ids)
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        if token_ids and isinstance(token_ids[0], (list, tuple)):
            return self.batch_decode(token_ids, skip_special_tokens, clean_up_tokenization_spaces,
                                     output_char_offsets, output_word_offsets, **kwargs)
        return self._decode(token_ids, skip_special_tokens, clean_up_tokenization_spaces,
                            output_char_offsets=output_char_offsets, output_word_offsets=output_word_offsets,
                            **kwargs)

    def batch_decode(self, sequences, skip_special_tokens: bool = False, clean_up_tokenization_spaces=None,
                     output_char_offsets: bool = False, output_word_offsets: bool = False, **kwargs):
        """Decode a batch (2-D tensor/array or list of lists) in one vectorised pass."""
        if isinstance(sequences, (list, tuple)) and sequences and isinstance(_to_py(sequences[0]), int):
            sequences = [sequences]
        flat, lengths = self._flatten(sequences)
        decoded = self._decode_batch(flat, lengths, skip_special_tokens, clean_up_tokenization_spaces,
                                     output_char_offsets=output_char_offsets,
                                     output_word_offsets=output_word_offsets, **kwargs)
        if output_char_offsets or output_word_offsets:
            # a field is listed when the first sequence has it (Transformers' dict-of-lists rule)
            fields = [k for k in ("text", "char_offsets", "word_offsets") if getattr(decoded[0], k) is not None]
            return Wav2Vec2CTCTokenizerOutput(**{k: [getattr(d, k) for d in decoded] for k in fields})
        return decoded

    def convert_tokens_to_string(self, tokens: list[str], group_tokens: bool = True,
                                 spaces_between_special_tokens: bool = False, output_char_offsets: bool = False,
                                 output_word_offsets: bool = False) -> dict:
        ids = [self._convert_token_to_id(t) for t in tokens]
        out = self._decode_batch(*self._flatten([ids]), group_tokens=group_tokens,
                                 spaces_between_special_tokens=spaces_between_special_tokens,
                                 output_char_offsets=output_char_offsets, output_word_offsets=output_word_offsets)[0]
        if isinstance(out, str):
            return {"text": out, "char_offsets": None, "word_offsets": None}
        return {"text": out.text, "char_offsets": out.char_offsets, "word_offsets": out.word_offsets}

    # ------------------------------------------------------------------ saving
    def _config_to_save(self) -> dict:
        config = super()._config_to_save()
        config.update(word_delimiter_token=self.word_delimiter_token, do_lower_case=self.do_lower_case,
                      replace_word_delimiter_char=self.replace_word_delimiter_char, target_lang=self.target_lang)
        config.pop("model_input_names", None)
        return config

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        path = Path(save_directory) / f"{filename_prefix + '-' if filename_prefix else ''}{VOCAB_FILE}"
        atomic_write_text(path, json.dumps(self.vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        return (str(path),)


# Transformers 4 had a separate (deprecated) Wav2Vec2Tokenizer; checkpoints naming it load this one.
Wav2Vec2Tokenizer = Wav2Vec2CTCTokenizer

__all__ = ["Wav2Vec2CTCTokenizer", "Wav2Vec2Tokenizer", "Wav2Vec2CTCTokenizerOutput"]
