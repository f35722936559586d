"""``BartphoTokenizer``: XLM-R's sentencepiece pieces, numbered by BARTpho's reduced Vietnamese dictionary.

The text is cut into pieces by the multilingual sentencepiece model (``sentencepiece.bpe.model``,
250K pieces); each piece is then looked up in ``dict.txt`` (fairseq's ``piece count`` lines,
ids from 4 after ``<s> <pad> </s> <unk>``, ``<mask>`` last) and a piece outside it becomes
``<unk>``. Sequences are ``<s> A </s>`` and ``<s> A </s></s> B </s>``, token types all zero.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import AddedToken, Tokenizer, processors
from tokenizers.models import WordLevel

from ...core.errors import CheckpointError, ConfigError
from ...core.io import atomic_path, atomic_write_text
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

VOCAB_FILES = {"vocab_file": "sentencepiece.bpe.model", "monolingual_vocab_file": "dict.txt"}


def read_fairseq_dictionary(path, specials: list[str], mask_token: str) -> tuple[dict[str, int], str]:
    """(token → id, the file's text): the specials first, one ``token count`` line each, ``<mask>`` last."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"BARTpho dictionary not found: '{path}'.") from None
    ids: dict[str, int] = {}
    for token in specials:
        ids.setdefault(token, len(ids))
    for line in text.splitlines():
        if line.strip():
            # As the reference: a repeated token is renumbered (its old id is then unused).
            ids[line.strip().split()[0]] = len(ids)
    ids.setdefault(mask_token, len(ids))
    return ids, text


class BartphoTokenizer(PicklableSplitMixin, PythonPairTruncationMixin, PreTrainedTokenizerFast):
    vocab_files_names = VOCAB_FILES
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab_file=None, monolingual_vocab_file=None, bos_token="<s>", eos_token="</s>",
                 sep_token="</s>", cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                 sp_model_kwargs=None, **kwargs):
        if vocab_file is None or monolingual_vocab_file is None:
            raise CheckpointError("BartphoTokenizer needs both sentencepiece.bpe.model (vocab_file) and dict.txt "
                                  "(monolingual_vocab_file); pass a folder holding them to from_pretrained().")
        if (sp_model_kwargs or {}).get("enable_sampling"):
            raise ConfigError("sp_model_kwargs enable_sampling=True (subword sampling) is not supported by polymodal's "
                              "BartphoTokenizer; drop it for deterministic tokenization.")
        kwargs.pop("tokenizer_file", None)
        # "<mask>" takes the space before it, like a word (as in Transformers).
        if isinstance(mask_token, str):
            mask_token = AddedToken(mask_token, lstrip=True, rstrip=False, special=True)
        pieces, charsmap, self._spm_bytes = load_unigram_model(vocab_file)
        specials = [str(t) for t in (bos_token, pad_token, eos_token, unk_token, sep_token, cls_token)]
        self.fairseq_tokens_to_ids, self._dict_text = read_fairseq_dictionary(
            monolingual_vocab_file, specials, str(mask_token))
        self.fairseq_ids_to_tokens = {i: t for t, i in self.fairseq_tokens_to_ids.items()}
        backend = Tokenizer(WordLevel(self.fairseq_tokens_to_ids, unk_token=str(unk_token)))
        if charsmap is not None:
            backend.normalizer = sentencepiece_normalizer(charsmap)
        self._splitter = SentencePieceSplit(pieces, model_bytes=self._spm_bytes)
        backend.pre_tokenizer = sentencepiece_pre_tokenizer(self._splitter)
        super().__init__(backend, bos_token=bos_token, eos_token=eos_token, sep_token=sep_token, cls_token=cls_token,
                         unk_token=unk_token, pad_token=pad_token, mask_token=mask_token,
                         sp_model_kwargs=sp_model_kwargs or {}, **kwargs)
        cls, sep = str(self.cls_token), str(self.sep_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 {sep}:0 $B:0 {sep}:0",
            special_tokens=[(cls, self.cls_token_id), (sep, self.sep_token_id)])

    @property
    def is_fast(self) -> bool:
        return False  # Transformers' BARTpho is a Python sentencepiece tokenizer (no tokenizer.json)

    def _backend_decode(self, token_ids, skip_special_tokens: bool) -> str:
        special = set(self.all_special_ids) if skip_special_tokens else set()
        tokens = [self._convert_id_to_token(i) or str(self.unk_token) for i in token_ids if i not in special]
        return pieces_to_text(tokens)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return pieces_to_text(tokens)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        model_path = Path(save_directory) / f"{prefix}{VOCAB_FILES['vocab_file']}"
        dict_path = Path(save_directory) / f"{prefix}{VOCAB_FILES['monolingual_vocab_file']}"
        with atomic_path(model_path) as tmp:
            Path(tmp).write_bytes(self._spm_bytes)
        atomic_write_text(dict_path, self._dict_text)
        return str(model_path), str(dict_path)


__all__ = ["BartphoTokenizer"]
