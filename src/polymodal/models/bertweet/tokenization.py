"""``BertweetTokenizer``: fastBPE (subword-nmt) over whitespace-separated words, RoBERTa's layout.

``vocab.txt`` holds fairseq's ``token count`` lines numbered from 4 (after ``<s> <pad> </s>
<unk>``); ``<mask>`` is added after them. A word-internal piece is spelled with a trailing ``@@``
(``hel@@``) and a word-final piece bare (``lo``), while ``bpe.codes`` (``left right count``
lines) merges symbols whose last one ends in ``</w>``. The ``tokenizers`` library runs those
merges on the ``</w>`` spelling, so its vocabulary is the checkpoint's respelled with the same
ids; decoding joins ``@@`` pieces. Sequences are ``<s> A </s>`` and ``<s> A </s></s> B </s>``.

``normalization=True`` first rewrites each text as BERTweet's pre-training tweets were (see
``tweet_normalization.py``); it needs ``pip install "polymodal[bertweet]"``.
"""

from __future__ import annotations

import re
from pathlib import Path

from tokenizers import Regex, Tokenizer, pre_tokenizers, processors
from tokenizers.models import BPE

from ...core.errors import CheckpointError, InvalidInputError
from ...core.io import atomic_write_text
from ...text.fast import PreTrainedTokenizerFast
from ...text.python_truncation import PythonPairTruncationMixin
from .tweet_normalization import check_normalization_dependencies, normalize_tweet


def _merge_spelling(token: str) -> str:
    """Checkpoint spelling → the merges' spelling (``hel@@`` → ``hel``, ``lo`` → ``lo</w>``)."""
    return token[:-2] if token.endswith("@@") else token + "</w>"


def read_fairseq_vocab(path, specials: list[str]) -> dict[str, int]:
    """vocab.txt: the specials first, then one ``token count`` line each (ids in file order)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CheckpointError(f"Vocabulary file not found: '{path}'.") from None
    vocab = {token: index for index, token in enumerate(specials)}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        cut = line.rfind(" ")
        if cut == -1:
            raise CheckpointError(f"'{path}' line {number}: expected '<token> <count>', got {line!r}.")
        vocab[line[:cut]] = len(vocab)
    return vocab


def read_bpe_codes(path) -> list[tuple[str, ...]]:
    """bpe.codes: ``left right count`` a line; the count (the last field) is dropped."""
    if path is None:
        raise CheckpointError("BertweetTokenizer needs bpe.codes next to vocab.txt.")
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")[:-1]
    except FileNotFoundError:
        raise CheckpointError(f"Merges file not found: '{path}'.") from None
    return [tuple(line.split()[:-1]) for line in lines]


class BertweetTokenizer(PythonPairTruncationMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "vocab.txt", "merges_file": "bpe.codes"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, merges=None, normalization=False, bos_token="<s>", eos_token="</s>",
                 sep_token="</s>", cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                 **kwargs):
        if normalization:
            check_normalization_dependencies()
        self.normalization = bool(normalization)
        specials = [str(t) for t in (bos_token, pad_token, eos_token, unk_token)]
        kwargs["_specials"] = specials
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        kwargs.pop("_specials")
        self._vocab = dict(vocab) if vocab is not None else {t: i for i, t in enumerate(specials)}
        self._merges = [tuple(m) for m in (merges or [])]
        unk = str(unk_token)
        internal = {_merge_spelling(t): i for t, i in self._vocab.items() if t not in specials}
        internal.update({t: self._vocab[t] for t in specials if t in self._vocab})
        # tokenizers applies a merge only when its pieces and result are in the vocabulary; a merge
        # that breaks this would give <unk> in the reference too, so it is left out.
        merges = [m for m in self._merges if len(m) == 2 and m[0] in internal and m[1] in internal
                  and m[0] + m[1] in internal]
        backend = Tokenizer(BPE(vocab=internal, merges=merges, unk_token=unk, end_of_word_suffix="</w>",
                                fuse_unk=False))
        backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"\S+\n?"), behavior="removed", invert=True)
        self._id_to_token = {index: token for token, index in self._vocab.items()}
        super().__init__(backend, normalization=self.normalization, bos_token=bos_token, eos_token=eos_token,
                         sep_token=sep_token, cls_token=cls_token, unk_token=unk_token, pad_token=pad_token,
                         mask_token=mask_token, **kwargs)
        cls, sep = str(self.cls_token), str(self.sep_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 {sep}:0 $B:0 {sep}:0",
            special_tokens=[(cls, self.cls_token_id), (sep, self.sep_token_id)])

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return read_fairseq_vocab(vocab_file, kwargs["_specials"]), read_bpe_codes(merges_file), {}

    @property
    def is_fast(self) -> bool:
        return False  # Transformers' BERTweet is a Python tokenizer (no tokenizer.json)

    # ------------------------------------------------------------------ normalisation
    def normalizeTweet(self, tweet: str) -> str:  # noqa: N802 (Transformers' name)
        """One tweet in BERTweet's pre-training form (what ``normalization=True`` tokenizes)."""
        return normalize_tweet(tweet)

    def _normalize(self, text: str, pattern) -> str:
        """Normalise the text between added tokens (Transformers splits those off first)."""
        parts = pattern.split(text) if pattern is not None else [text]
        return "".join(part if index % 2 else normalize_tweet(part) for index, part in enumerate(parts))

    def _normalize_all(self, text, pattern):
        if isinstance(text, str):
            return self._normalize(text, pattern)
        if isinstance(text, (list, tuple)):
            return type(text)(self._normalize_all(t, pattern) for t in text)
        return text

    def _encode_plus(self, text, text_pair=None, *, return_offsets_mapping=False, **kwargs):
        if self.normalization:
            if return_offsets_mapping:
                raise InvalidInputError(
                    "return_offsets_mapping=True is not available with normalization=True: the tweet is rewritten "
                    "(@USER, HTTPURL, emoji names) before tokenization, so offsets would not point into your text. "
                    "Load the tokenizer with normalization=False for offsets.")
            added = sorted(self.added_tokens_encoder, key=len, reverse=True)
            pattern = re.compile("(" + "|".join(map(re.escape, added)) + ")") if added else None
            text, text_pair = self._normalize_all(text, pattern), self._normalize_all(text_pair, pattern)
        return super()._encode_plus(text, text_pair, return_offsets_mapping=return_offsets_mapping, **kwargs)

    # ------------------------------------------------------------------ vocabulary in the checkpoint's spelling
    def get_vocab(self) -> dict[str, int]:
        return {**self._vocab, **self.added_tokens_encoder}

    def _convert_token_to_id(self, token: str):
        index = self._vocab.get(token)
        return index if index is not None else self.added_tokens_encoder.get(token)

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        pieces = super().tokenize(text, pair, add_special_tokens=add_special_tokens, **kwargs)
        return [p[:-4] if p.endswith("</w>") else p if p in self.added_tokens_encoder else p + "@@" for p in pieces]

    # ------------------------------------------------------------------ decoding and saving
    def _convert_id_to_token(self, index: int):
        token = self._id_to_token.get(index)
        return token if token is not None else super()._convert_id_to_token(index)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return " ".join(tokens).replace("@@ ", "").strip()

    def _backend_decode(self, token_ids, skip_special_tokens: bool) -> str:
        special = set(self.all_special_ids) if skip_special_tokens else set()
        return self.convert_tokens_to_string([self._convert_id_to_token(i) or str(self.unk_token)
                                              for i in token_ids if i not in special])

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        vocab_path = Path(save_directory) / f"{prefix}vocab.txt"
        codes_path = Path(save_directory) / f"{prefix}bpe.codes"
        # Ids 0-3 are the specials the reader puts first; the counts are not kept, 1 stands in.
        rows = sorted(((i, t) for t, i in self._vocab.items() if i >= 4))
        atomic_write_text(vocab_path, "".join(f"{token} 1\n" for _, token in rows))
        atomic_write_text(codes_path, "".join(" ".join(m) + " 1\n" for m in self._merges))
        return str(vocab_path), str(codes_path)


__all__ = ["BertweetTokenizer"]
