"""``BioGptTokenizer``: Moses tokenisation (``sacremoses``) then fairseq BPE with ``</w>`` word ends.

The BPE itself runs in the ``tokenizers`` library over the Moses tokens (joined by spaces and
split back on whitespace); Moses escapes ``&<>'"|[]`` the way the checkpoint's vocabulary
expects. Sequences are ``</s> X`` and ``</s> A </s> B``. Decoding joins sub-words at ``</w>``
and Moses-detokenises. Needs ``pip install "polymodal[moses]"`` (sacremoses).
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, pre_tokenizers, processors
from tokenizers.models import BPE

from ...core.errors import CheckpointError
from ...core.io import atomic_write_text
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_json_vocab


def _sacremoses():
    try:
        import sacremoses
    except ImportError:
        raise ImportError('BioGptTokenizer needs sacremoses: pip install "polymodal[moses]"') from None
    return sacremoses


def read_fairseq_merges(path) -> list[tuple[str, str]]:
    """fairseq's merges file: ``left right [count]`` a line (the count is ignored)."""
    if path is None:
        raise CheckpointError("BioGptTokenizer needs merges.txt next to vocab.json.")
    merges = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n")[:-1], 1):
        parts = line.split()
        if len(parts) < 2:
            raise CheckpointError(f"'{path}' line {number}: expected 'left right [count]', got {line!r}.")
        merges.append((parts[0], parts[1]))
    return merges


class BioGptTokenizer(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, merges=None, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                 sep_token="</s>", pad_token="<pad>", **kwargs):
        sacremoses = _sacremoses()
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        self._merges = list(merges or [])
        backend = Tokenizer(BPE(vocab=dict(vocab or {}), merges=self._merges, unk_token=unk_token,
                                end_of_word_suffix="</w>", fuse_unk=False))
        backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # the Moses tokens, joined by spaces
        self._moses = sacremoses.MosesTokenizer(lang="en")
        self._detok = sacremoses.MosesDetokenizer(lang="en")
        super().__init__(backend, unk_token=unk_token, bos_token=bos_token, eos_token=eos_token,
                         sep_token=sep_token, pad_token=pad_token, **kwargs)
        sep = (self.sep_token, self.sep_token_id)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{sep[0]}:0 $A:0", pair=f"{sep[0]}:0 $A:0 {sep[0]}:0 $B:1", special_tokens=[sep])

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return read_json_vocab(vocab_file), read_fairseq_merges(merges_file), {}

    def _moses_tokenize(self, text):
        if isinstance(text, str):
            return " ".join(self._moses.tokenize(text, aggressive_dash_splits=True, return_str=False, escape=True))
        if isinstance(text, (list, tuple)):
            return type(text)(self._moses_tokenize(t) for t in text)
        return text

    def _encode_plus(self, text, text_pair=None, *, is_split_into_words=False, **kwargs):
        if not is_split_into_words:  # pre-split words are BPE'd as given, as the reference's bypass does
            text, text_pair = self._moses_tokenize(text), self._moses_tokenize(text_pair)
        return super()._encode_plus(text, text_pair, is_split_into_words=is_split_into_words, **kwargs)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        words = "".join(t.replace(" ", "").replace("</w>", " ") for t in tokens).split()
        return self._detok.detokenize(words)

    def _backend_decode(self, token_ids, skip_special_tokens: bool) -> str:
        # As Transformers' Python tokenizers: drop special ids if asked, then one detokenisation.
        special = set(self.all_special_ids) if skip_special_tokens else set()
        tokens = [self._tokenizer.id_to_token(i) or self.unk_token for i in token_ids if i not in special]
        return self.convert_tokens_to_string(tokens)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        import json

        prefix = f"{filename_prefix}-" if filename_prefix else ""
        vocab_path, merges_path = Path(save_directory) / f"{prefix}vocab.json", Path(save_directory) / f"{prefix}merges.txt"
        vocab = self._tokenizer.get_vocab(with_added_tokens=False)
        atomic_write_text(vocab_path, json.dumps(dict(sorted(vocab.items(), key=lambda kv: kv[1])), ensure_ascii=False))
        atomic_write_text(merges_path, "".join(f"{a} {b}\n" for a, b in self._merges))
        return str(vocab_path), str(merges_path)


__all__ = ["BioGptTokenizer"]
