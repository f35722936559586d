"""A sentencepiece unigram model run as one step of a ``tokenizers`` pipeline.

Some of Transformers' sentencepiece tokenizers are Python tokenizers whose ids are not the
sentencepiece ids (BARTpho maps every piece through a reduced fairseq dictionary) or whose
pieces get a fix-up afterwards (XLNet/CPM re-split a piece like ``▁12,`` into ``▁12`` and ``,``).
We find sentencepiece's pieces with its own best-path rule in a custom pre-tokenizer that cuts
each ``▁word`` into them; the pipeline's model (a ``WordLevel`` table) then maps whole pieces to
ids. Offsets, pairs, truncation with stride and padding therefore work as for every other
tokenizer; ``sentencepiece`` is used when installed (faster) but not needed. A custom step cannot be
written into ``tokenizer.json``: such tokenizers save their ``.model`` file instead, as
Transformers does.
"""

from __future__ import annotations

import struct
from pathlib import Path

from tokenizers import Regex

from ..core.errors import CheckpointError
from .vocab_files import _proto_fields, read_sentencepiece_model

SPIECE_UNDERLINE = "▁"
_UNIGRAM, _NAMES = 1, {1: "unigram", 2: "bpe", 3: "word", 4: "char"}


def sentencepiece_model_type(data: bytes) -> int:
    """``TrainerSpec.model_type`` of a serialised sentencepiece model (1 = unigram, the default)."""
    for field, value in _proto_fields(data):
        if field == 2:  # ModelProto.trainer_spec
            for sub, sub_value in _proto_fields(value):
                if sub == 3:  # TrainerSpec.model_type
                    return int(sub_value)
    return _UNIGRAM


def load_unigram_model(path) -> tuple[list[tuple[str, float, int]], bytes | None, bytes]:
    """(pieces, precompiled normaliser, raw file bytes) of a unigram ``.model``; other kinds are refused."""
    pieces, charsmap = read_sentencepiece_model(path)
    data = Path(path).read_bytes()
    kind = sentencepiece_model_type(data)
    if kind != _UNIGRAM:
        raise CheckpointError(
            f"'{path}' is a sentencepiece {_NAMES.get(kind, kind)} model; this tokenizer supports unigram models "
            "(the kind its checkpoints ship)."
        )
    return pieces, charsmap, data


def _native_processor(model_bytes: bytes | None):
    """The ``sentencepiece`` library's processor for these bytes, when the package is installed."""
    if model_bytes is None:
        return None
    try:
        import sentencepiece
    except ImportError:
        return None
    return sentencepiece.SentencePieceProcessor(model_proto=model_bytes)


def _dummy_prefixed(text: str) -> str:
    return text if text.startswith(SPIECE_UNDERLINE) else SPIECE_UNDERLINE + text


def _f32(value: float) -> float:
    """Round to float32, the precision sentencepiece keeps its path scores in."""
    return _FLOAT32.unpack(_FLOAT32.pack(value))[0]


_FLOAT32 = struct.Struct("<f")
_WHITESPACE = Regex(r"\s+")
_FLT_MIN, _UNK_PENALTY = 1.1754943508222875e-38, 10.0
_NORMAL, _UNKNOWN, _USER_DEFINED, _UNUSED = 1, 2, 4, 5


class SentencePieceSplit:
    """Custom pre-tokenizer step: each stretch of text is cut into sentencepiece's unigram pieces.

    The best path is sentencepiece's own (its optimised Viterbi): float32 path scores summed from
    the start of each text between added tokens, the earliest-starting last piece winning a tie,
    one ``<unk>`` per uncovered character (adjacent ones fused), user-defined pieces always taken.
    Matching its arithmetic matters: equal-scoring segmentations (``5|55`` or ``55|5``) are decided
    by float32 rounding.

    ``split_digit_comma`` applies XLNet's fix-up: a piece that ends in a digit and a comma is
    re-segmented without the comma, and the comma becomes its own piece.

    With ``model_bytes`` and the ``sentencepiece`` package installed (Transformers needs it for
    these tokenizers), the C++ library finds the path, about twice as fast overall as this Python
    one; a result that does not spell the text back (a normaliser that is not idempotent) falls
    back to the Python path.
    """

    def __init__(self, pieces: list[tuple[str, float, int]], split_digit_comma: bool = False,
                 model_bytes: bytes | None = None):
        self._native = _native_processor(model_bytes)
        normal = [score for _, score, kind in pieces if kind == _NORMAL]
        self._unk_score = _f32(_f32(min(normal, default=0.0)) - _UNK_PENALTY)
        max_score = _f32(max([_FLT_MIN, *normal]))
        self._pieces: dict[str, tuple[float, bool]] = {}
        for piece, score, kind in pieces:
            if kind == _NORMAL:
                self._pieces[piece] = (_f32(score), False)
            elif kind == _USER_DEFINED:  # sentencepiece's bonus: longer than any path through normal pieces
                self._pieces[piece] = (_f32(len(piece.encode("utf-8")) * max_score) - 0.1, True)
        # For each first character, the piece lengths worth looking up (a cheap trie).
        self._lengths: dict[str, list[int]] = {}
        for piece in self._pieces:
            self._lengths.setdefault(piece[0], []).append(len(piece))
        for lengths in self._lengths.values():
            lengths.sort()
        self.split_digit_comma = split_digit_comma

    def _best_path(self, text: str) -> list[tuple[str, bool]]:
        """(piece, is_unknown) along sentencepiece's best path through ``text``."""
        size = len(text)
        best, starts, unknown = [0.0] * (size + 1), [-1] * (size + 1), [False] * (size + 1)
        for begin in range(size):
            here, single = best[begin], False
            for length in self._lengths.get(text[begin], ()):
                end = begin + length
                if end > size:
                    break
                entry = self._pieces.get(text[begin:end])
                if entry is None:
                    continue
                score, user_defined = entry
                candidate = score + here if user_defined else _f32(score + here)
                if starts[end] == -1 or candidate > best[end]:
                    best[end], starts[end], unknown[end] = _f32(candidate), begin, False
                single = single or end == begin + 1
            if not single:  # no piece covers this character: an <unk> node
                candidate = _f32(self._unk_score + here)
                if starts[begin + 1] == -1 or candidate > best[begin + 1]:
                    best[begin + 1], starts[begin + 1], unknown[begin + 1] = candidate, begin, True
        path, end = [], size
        while end > 0:
            path.append((text[starts[end]:end], unknown[end]))
            end = starts[end]
        path.reverse()
        fused: list[tuple[str, bool]] = []
        for piece, is_unk in path:  # sentencepiece fuses adjacent unknown pieces
            if is_unk and fused and fused[-1][1]:
                fused[-1] = (fused[-1][0] + piece, True)
            else:
                fused.append((piece, is_unk))
        return fused

    def _native_pieces(self, text: str) -> list[str] | None:
        pieces = self._native.encode(text.replace(SPIECE_UNDERLINE, " "), out_type=str)
        return pieces if "".join(pieces) == text else None

    def segment(self, text: str) -> list[str]:
        """The pieces of one text, already in sentencepiece form (``▁`` for spaces, dummy prefix)."""
        pieces = self._native_pieces(text) if text and self._native is not None else None
        if pieces is None:
            pieces = [piece for piece, _ in self._best_path(text)] if text else []
        return self._fix_digit_comma(pieces) if self.split_digit_comma else pieces

    def _fix_digit_comma(self, pieces: list[str]) -> list[str]:
        fixed = []
        for piece in pieces:
            if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
                # As the reference: encode the digits again (sentencepiece adds its "▁" prefix), keep the
                # "▁" only if the original piece had it, then the comma on its own.
                again = self.segment(_dummy_prefixed(piece[:-1].replace(SPIECE_UNDERLINE, "")))
                if not piece.startswith(SPIECE_UNDERLINE) and again and again[0].startswith(SPIECE_UNDERLINE):
                    again = again[1:] if len(again[0]) == 1 else [again[0][1:], *again[1:]]
                if "".join(again) + "," == piece:  # the pieces must still cover the text exactly
                    fixed.extend([*again, ","])
                    continue
            fixed.append(piece)
        return fixed

    def _split(self, _index, normalized):
        """One stretch of text between added tokens, as Transformers hands it to sentencepiece:
        whitespace-separated words, each behind a ``▁``, cut into the pieces of the whole stretch."""
        words = [w for w in normalized.split(_WHITESPACE, "removed") if w.normalized]
        if not words:
            return []
        texts = [w.normalized for w in words]  # (.normalized: str() is far slower)
        pieces = self.segment(SPIECE_UNDERLINE + SPIECE_UNDERLINE.join(texts))
        out, position = [], 0
        for word, text in zip(words, texts):
            word.prepend(SPIECE_UNDERLINE)
            length = len(text) + 1
            if len(pieces[position]) == length:  # the common case: the word is one piece
                out.append(word)
                position += 1
                continue
            start = 0
            while start < length and position < len(pieces):
                size = len(pieces[position])
                out.append(word[start:start + size])
                start, position = start + size, position + 1
        return out

    def pre_tokenize(self, pretok):
        pretok.split(self._split)


class PicklableSplitMixin:
    """Pickling and ``copy.deepcopy`` for a tokenizer whose pipeline holds a ``SentencePieceSplit``
    (``self._splitter``): the Rust tokenizer cannot serialise a Python step, so the backend travels
    without it and gets it back on load (``datasets.map(num_proc=…)`` pickles tokenizers)."""

    def __getstate__(self):
        state = self.__dict__.copy()
        backend = self._tokenizer
        backend.pre_tokenizer = None
        try:
            state["_tokenizer"] = backend.to_str()
        finally:
            backend.pre_tokenizer = sentencepiece_pre_tokenizer(self._splitter)
        return state

    def __setstate__(self, state):
        from tokenizers import Tokenizer

        self.__dict__.update({**state, "_tokenizer": Tokenizer.from_str(state["_tokenizer"])})
        self._tokenizer.pre_tokenizer = sentencepiece_pre_tokenizer(self._splitter)


def sentencepiece_normalizer(charsmap: bytes | None):
    """Sentencepiece's normaliser: NFKC, then the model's precompiled table (None without one).

    The library's ``Precompiled`` maps a grapheme cluster of 6 bytes or more character by character,
    so a decomposed Hangul syllable (three jamo) would stay decomposed where sentencepiece composes
    it; NFKC first gives sentencepiece's result (its tables are NFKC-based).
    """
    from tokenizers import normalizers

    if charsmap is None:
        return None
    return normalizers.Sequence([normalizers.NFKC(), normalizers.Precompiled(charsmap)])


def sentencepiece_pre_tokenizer(splitter: SentencePieceSplit):
    """The splitter as a ``tokenizers`` pre-tokenizer (whitespace, dummy prefix and pieces in one step)."""
    from tokenizers import pre_tokenizers

    return pre_tokenizers.PreTokenizer.custom(splitter)


def pieces_to_text(tokens: list[str]) -> str:
    """Sentencepiece detokenisation as Transformers' Python tokenizers do it: join, ``▁`` → space, strip."""
    return "".join(tokens).replace(SPIECE_UNDERLINE, " ").strip()


__all__ = ["SPIECE_UNDERLINE", "PicklableSplitMixin", "SentencePieceSplit", "load_unigram_model", "pieces_to_text",
           "sentencepiece_model_type", "sentencepiece_normalizer", "sentencepiece_pre_tokenizer"]
