"""``CpmTokenizer``: CPM's XLNet-style sentencepiece tokenizer (CPM-Generate is a GPT-2 model).

Encoding follows Transformers 5's ``CpmTokenizer``: XLNet's preprocessing (whitespace collapsed,
```` `` ```` and ``''`` → ``"``, accents stripped unless ``keep_accents``, lower-cased with
``do_lower_case``), the unigram pieces with XLNet's digit-comma fix-up, then ``A <sep> <cls>``
(pairs ``A <sep> B <sep> <cls>``, token types 0/1 and 2 for ``<cls>``, padding type 3).

Decoding undoes CPM's training-time text form: spaces between pieces are dropped, ``▂`` becomes a
space and ``▃`` a newline.

CPM was trained on text pre-segmented by jieba (words joined by spaces, with `` `` → ``▂`` and
``\\n`` → ``▃``). Transformers 5 no longer applies that step when encoding (its code imports
``rjieba`` but never calls it), so by default neither do we, for equal ids. Pass
``jieba_segmentation=True`` to encode as CPM's training data was (and as Transformers 4 did);
it needs ``pip install "polymodal[cpm]"`` (rjieba).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, normalizers, processors
from tokenizers.models import WordLevel

from ...core.errors import CheckpointError, ConfigError, InvalidInputError
from ...core.io import atomic_path
from ...text.fast import PreTrainedTokenizerFast
from ...text.python_truncation import PythonPairTruncationMixin
from ...text.sentencepiece_split import (
    PicklableSplitMixin,
    SentencePieceSplit,
    load_unigram_model,
    pieces_to_text,
    sentencepiece_normalizer,
    sentencepiece_pre_tokenizer,
)

# CPM's training text: a space is "▂" and a newline "▃" (word boundaries are the spaces jieba adds).
_TO_TRAINING_FORM = str.maketrans(" \n", "\u2582\u2583")


@lru_cache(maxsize=1)
def _combining_characters() -> Regex:
    """Every character Python calls combining (``unicodedata.combining``), as one character class.

    XLNet's preprocessing drops exactly these after NFKD; the library's StripAccents drops every
    mark (Devanagari's anusvara too), so the class is built from Python's own table, once.
    """
    points = [c for c in range(0x110000) if unicodedata.combining(chr(c))]
    ranges, first, last = [], points[0], points[0]
    for point in points[1:]:
        if point != last + 1:
            ranges.append((first, last))
            first = point
        last = point
    ranges.append((first, last))
    return Regex("[" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges) + "]")


def _rjieba():
    try:
        import rjieba
    except ImportError:
        raise ImportError('CpmTokenizer(jieba_segmentation=True) needs rjieba: pip install "polymodal[cpm]"') from None
    return rjieba


class CpmTokenizer(PicklableSplitMixin, PythonPairTruncationMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "spiece.model"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab_file=None, do_lower_case=False, remove_space=True, keep_accents=False, bos_token="<s>",
                 eos_token="</s>", unk_token="<unk>", sep_token="<sep>", pad_token="<pad>", cls_token="<cls>",
                 mask_token="<mask>", additional_special_tokens=("<eop>", "<eod>"), jieba_segmentation=False,
                 sp_model_kwargs=None, **kwargs):
        if vocab_file is None:
            raise CheckpointError("CpmTokenizer needs its sentencepiece model (spiece.model); pass a folder holding it "
                                  "to from_pretrained() or vocab_file=...")
        if (sp_model_kwargs or {}).get("enable_sampling"):
            raise ConfigError("sp_model_kwargs enable_sampling=True (subword sampling) is not supported by polymodal's "
                              "CpmTokenizer; drop it for deterministic tokenization.")
        kwargs.pop("tokenizer_file", None)
        if jieba_segmentation:
            _rjieba()  # fail now, with the install hint, rather than at the first call
        self.jieba_segmentation = bool(jieba_segmentation)
        self.do_lower_case, self.remove_space, self.keep_accents = do_lower_case, remove_space, keep_accents
        if isinstance(mask_token, str):
            mask_token = AddedToken(mask_token, lstrip=True, rstrip=False, special=True)
        if "extra_special_tokens" not in kwargs:
            kwargs["additional_special_tokens"] = list(additional_special_tokens or [])
        pieces, charsmap, self._spm_bytes = load_unigram_model(vocab_file)
        vocab = {piece: index for index, (piece, _, _) in enumerate(pieces)}
        sp_unk = next((i for i, (_, _, kind) in enumerate(pieces) if kind == 2), 0)
        backend = Tokenizer(WordLevel(vocab, unk_token=pieces[sp_unk][0]))
        backend.normalizer = self._normalizer(charsmap)
        self._splitter = SentencePieceSplit(pieces, split_digit_comma=True, model_bytes=self._spm_bytes)
        backend.pre_tokenizer = sentencepiece_pre_tokenizer(self._splitter)
        super().__init__(backend, do_lower_case=do_lower_case, remove_space=remove_space, keep_accents=keep_accents,
                         bos_token=bos_token, eos_token=eos_token, unk_token=unk_token, sep_token=sep_token,
                         pad_token=pad_token, cls_token=cls_token, mask_token=mask_token,
                         jieba_segmentation=self.jieba_segmentation, sp_model_kwargs=sp_model_kwargs or {}, **kwargs)
        self._pad_token_type_id = 3  # XLNet's padding segment
        sep, cls = str(self.sep_token), str(self.cls_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"$A:0 {sep}:0 {cls}:2", pair=f"$A:0 {sep}:0 $B:1 {sep}:1 {cls}:2",
            special_tokens=[(sep, self.sep_token_id), (cls, self.cls_token_id)])

    def _normalizer(self, charsmap):
        """XLNet's preprocessing, then sentencepiece's own normaliser (the whitespace is split afterwards)."""
        parts = [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
        if not self.keep_accents:
            parts += [normalizers.NFKD(), normalizers.Replace(_combining_characters(), "")]
        if self.do_lower_case:
            parts.append(normalizers.Lowercase())
        spm_normalizer = sentencepiece_normalizer(charsmap)
        if spm_normalizer is not None:
            parts.append(spm_normalizer)
        return normalizers.Sequence(parts)

    @property
    def is_fast(self) -> bool:
        return False  # as Transformers' CpmTokenizer (a Python sentencepiece tokenizer)

    # ------------------------------------------------------------------ jieba pre-segmentation
    @property
    def jieba(self):
        """The ``rjieba`` module when segmenting (looked up, not stored: a module does not pickle)."""
        return _rjieba() if self.jieba_segmentation else None

    def _added_token_pattern(self):
        tokens = sorted(self.added_tokens_encoder, key=len, reverse=True)
        return re.compile("(" + "|".join(re.escape(t) for t in tokens) + ")") if tokens else None

    def _segment(self, text: str, pattern) -> str:
        """CPM's training form of one text: jieba words joined by spaces; added tokens left whole."""
        parts = pattern.split(text) if pattern is not None else [text]
        out = []
        for index, part in enumerate(parts):
            if index % 2:  # an added token, matched by the pattern's group
                out.append(part)
            elif part:
                out.append(" ".join(w.translate(_TO_TRAINING_FORM) for w in self.jieba.cut(part, False)))
        return " ".join(out)

    def _segment_all(self, text, pattern):
        if isinstance(text, str):
            return self._segment(text, pattern)
        if isinstance(text, (list, tuple)):
            return type(text)(self._segment_all(t, pattern) for t in text)
        return text

    def _encode_plus(self, text, text_pair=None, *, is_split_into_words=False, return_offsets_mapping=False,
                     **kwargs):
        if self.jieba_segmentation:
            if return_offsets_mapping:
                raise InvalidInputError("return_offsets_mapping=True is not available with jieba_segmentation=True: "
                                        "the text is rewritten before tokenization, so offsets would not point into "
                                        "your text. Use jieba_segmentation=False for offsets.")
            pattern = self._added_token_pattern()
            text, text_pair = self._segment_all(text, pattern), self._segment_all(text_pair, pattern)
        return super()._encode_plus(text, text_pair, is_split_into_words=is_split_into_words,
                                    return_offsets_mapping=return_offsets_mapping, **kwargs)

    # ------------------------------------------------------------------ decoding
    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return pieces_to_text(tokens)

    def _backend_decode(self, token_ids, skip_special_tokens: bool) -> str:
        special = set(self.all_special_ids) if skip_special_tokens else set()
        tokens = [self._convert_id_to_token(i) or str(self.unk_token) for i in token_ids if i not in special]
        return pieces_to_text(tokens)

    def _decode(self, token_ids, skip_special_tokens=False, clean_up_tokenization_spaces=None, **kwargs) -> str:
        text = super()._decode(token_ids, skip_special_tokens, clean_up_tokenization_spaces, **kwargs)
        return text.replace(" ", "").replace("\u2582", " ").replace("\u2583", "\n")

    # ------------------------------------------------------------------ saving
    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        path = Path(save_directory) / f"{filename_prefix + '-' if filename_prefix else ''}spiece.model"
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(self._spm_bytes)
        return (str(path),)


CpmTokenizerFast = CpmTokenizer

__all__ = ["CpmTokenizer", "CpmTokenizerFast"]
