"""``BlenderbotSmallTokenizer``: ParlAI's lower-cased subword-nmt BPE (``vocab.json`` + ``merges.txt``).

Before the merges, each whitespace-separated word is cleaned up the way ParlAI's dictionary did:
a space goes before ``. , ! ? ( )``, around ``'``, the word is lower-cased, and a newline that
ends a word becomes the token ``__newln__`` (unless the word ends with ``'``: the reference code
collapses that newline with the space it put after the apostrophe, so it vanishes). We express
that as normalizer rules over the whole text, which gives the same pieces because every rule
acts inside one word.

The vocabulary spells a word-internal piece ``hel@@`` and a word-final piece ``lo``, while the
merges work on symbols whose last one ends in ``</w>``; the ``tokenizers`` BPE runs on the
merges' spelling (``hel`` / ``lo</w>``) with the checkpoint's ids, and decoding maps back
(``" ".join(pieces).replace("@@ ", "")``).
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import BPE

from ...core.errors import CheckpointError
from ...core.io import atomic_write_text
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_json_vocab

_SPLIT_OFF = ".,!?()"  # punctuation that gets a space before it


def _merge_spelling(token: str) -> str:
    """Checkpoint spelling → the merges' spelling."""
    return token[:-2] if token.endswith("@@") else token + "</w>"


def read_parlai_merges(path) -> list[tuple[str, ...]]:
    """merges.txt as the reference reads it: the first and the last line are dropped."""
    if path is None:
        raise CheckpointError("BlenderbotSmallTokenizer needs merges.txt next to vocab.json.")
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")[1:-1]
    except FileNotFoundError:
        raise CheckpointError(f"Merges file not found: '{path}'.") from None
    return [tuple(line.split()) for line in lines]


def _normalizer():
    rules = [normalizers.Replace(Regex(r"(?<=[^\s'])\n"), " __newln__ ")]
    rules += [normalizers.Replace(mark, f" {mark}") for mark in _SPLIT_OFF]
    rules += [normalizers.Replace("'", " ' "), normalizers.Lowercase()]
    return normalizers.Sequence(rules)


class BlenderbotSmallTokenizer(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, merges=None, bos_token="__start__", eos_token="__end__", unk_token="__unk__",
                 pad_token="__null__", **kwargs):
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        self._vocab = dict(vocab or {})
        self._merges = [tuple(m) for m in (merges or [])]
        specials = {str(t) for t in (bos_token, eos_token, unk_token, pad_token) if t is not None}
        internal = {(t if t in specials else _merge_spelling(t)): i for t, i in self._vocab.items()}
        # A merge whose pieces the vocabulary lacks would only produce unknown pieces; the
        # ``tokenizers`` BPE needs every merge to name vocabulary entries.
        merges = [m for m in self._merges if len(m) == 2 and m[0] in internal and m[1] in internal
                  and m[0] + m[1] in internal]
        unk = str(unk_token) if unk_token is not None and str(unk_token) in internal else None
        backend = Tokenizer(BPE(vocab=internal, merges=merges, unk_token=unk, end_of_word_suffix="</w>",
                                fuse_unk=False))
        backend.normalizer = _normalizer()
        backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        self._id_to_token = {i: t for t, i in self._vocab.items()}
        super().__init__(backend, bos_token=bos_token, eos_token=eos_token, unk_token=unk_token,
                         pad_token=pad_token, **kwargs)

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return read_json_vocab(vocab_file), read_parlai_merges(merges_file), {}

    def get_vocab(self) -> dict[str, int]:
        """The checkpoint's spelling (``hel@@``), plus added tokens."""
        return {**self._vocab, **self.added_tokens_encoder}

    def _convert_token_to_id(self, token: str):
        # The reference looks tokens up lower-cased, in the checkpoint's spelling.
        found = self._vocab.get(token.lower())
        if found is None:
            found = self._tokenizer.token_to_id(token)
        return found if found is not None else self.unk_token_id

    def _convert_id_to_token(self, index: int):
        token = self._id_to_token.get(int(index))
        return token if token is not None else self._tokenizer.id_to_token(int(index))

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        """Pieces in the checkpoint's spelling (``hel@@``, ``lo``), not the merges' one."""
        encoding = self(text, text_pair=pair, add_special_tokens=add_special_tokens, **kwargs)
        return [self._convert_id_to_token(i) for i in encoding["input_ids"]]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return " ".join(tokens).replace("@@ ", "").strip()

    def _backend_decode(self, token_ids, skip_special_tokens: bool) -> str:
        special = set(self.all_special_ids) if skip_special_tokens else set()
        return self.convert_tokens_to_string([self._convert_id_to_token(i) or str(self.unk_token)
                                              for i in token_ids if i not in special])

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        vocab_path = Path(save_directory) / f"{prefix}vocab.json"
        merges_path = Path(save_directory) / f"{prefix}merges.txt"
        atomic_write_text(vocab_path, json.dumps(self._vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        atomic_write_text(merges_path, "#version: 0.2\n" + "".join(" ".join(m) + "\n" for m in self._merges))
        return str(vocab_path), str(merges_path)


BlenderbotSmallTokenizerFast = BlenderbotSmallTokenizer

__all__ = ["BlenderbotSmallTokenizer", "BlenderbotSmallTokenizerFast"]
