"""``CTRLTokenizer``: subword-nmt BPE over whitespace-separated words (no byte fallback).

The checkpoint's ``vocab.json`` spells a word-internal piece with a trailing ``@@`` (``hel@@``)
and a word-final piece bare (``lo``), while ``merges.txt`` works on symbols whose last one ends
in ``</w>``. The ``tokenizers`` library runs the merges on the ``</w>`` spelling, so its
vocabulary is the checkpoint's respelled (``hel@@`` → ``hel``, ``lo`` → ``lo</w>``) with the
same ids; decoding maps the ids back. Words are ``\\S+\\n?`` (a newline stays on its word).
Prompts start with a control code (``"Links"``, ``"Wikipedia"`` …; see ``CONTROL_CODES``).
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Regex, Tokenizer, pre_tokenizers
from tokenizers.models import BPE

from ...core.errors import CheckpointError
from ...core.io import atomic_write_text
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_json_vocab

# A few of the control codes CTRL was trained with (code -> its token id in the released vocabulary).
CONTROL_CODES = {"Books": 6665, "Horror": 17952, "Legal": 11859, "Links": 63674, "News": 4256,
                 "Opinion": 43213, "Reviews": 41671, "Wikipedia": 1008, "Questions": 30022, "Explain": 106423}


def _internal(token: str) -> str:
    """Checkpoint spelling → the merges' spelling."""
    return token[:-2] if token.endswith("@@") else token + "</w>"


def read_ctrl_merges(path) -> list[tuple[str, str]]:
    """merges.txt: a header line, then ``left right`` a line."""
    if path is None:
        raise CheckpointError("CTRLTokenizer needs merges.txt next to vocab.json.")
    lines = Path(path).read_text(encoding="utf-8").split("\n")[1:-1]
    return [tuple(line.split()) for line in lines]


class CTRLTokenizer(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt"}
    model_input_names = ["input_ids", "attention_mask"]
    control_codes = CONTROL_CODES

    def __init__(self, vocab=None, merges=None, unk_token="<unk>", **kwargs):
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        self._vocab = dict(vocab or {})
        self._merges = [tuple(m) for m in (merges or [])]
        internal = {_internal(token): index for token, index in self._vocab.items() if token != unk_token}
        if unk_token in self._vocab:
            internal[unk_token] = self._vocab[unk_token]
        # A merge whose result the vocabulary lacks cannot be applied by the reference either
        # (its pieces would map to <unk>); keep only the applicable ones.
        merges = [m for m in self._merges if len(m) == 2 and m[0] + m[1] in internal and m[0] in internal
                  and m[1] in internal]
        backend = Tokenizer(BPE(vocab=internal, merges=merges, unk_token=unk_token, end_of_word_suffix="</w>",
                                fuse_unk=False))
        backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"\S+\n?"), behavior="removed", invert=True)
        self._id_to_token = {index: token for token, index in self._vocab.items()}
        super().__init__(backend, unk_token=unk_token, **kwargs)

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return read_json_vocab(vocab_file), read_ctrl_merges(merges_file), {}

    def _convert_id_to_token(self, index: int):
        token = self._id_to_token.get(index)
        return token if token is not None else super()._convert_id_to_token(index)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return " ".join(tokens).replace("@@ ", "").strip()

    def _backend_decode(self, token_ids, skip_special_tokens: bool) -> str:
        special = set(self.all_special_ids) if skip_special_tokens else set()
        return self.convert_tokens_to_string([self._convert_id_to_token(i) or self.unk_token
                                              for i in token_ids if i not in special])

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        vocab_path, merges_path = Path(save_directory) / f"{prefix}vocab.json", Path(save_directory) / f"{prefix}merges.txt"
        atomic_write_text(vocab_path, json.dumps(self._vocab, ensure_ascii=False))
        atomic_write_text(merges_path, "#version: 0.2\n" + "".join(" ".join(m) + "\n" for m in self._merges))
        return str(vocab_path), str(merges_path)


__all__ = ["CTRLTokenizer", "CONTROL_CODES"]
