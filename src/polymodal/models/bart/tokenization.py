"""BART's tokenizer is RoBERTa's byte-level BPE (``<s> A </s></s> B </s>``), as in Transformers."""

from __future__ import annotations

from ..roberta.tokenization import RobertaTokenizer


class BartTokenizer(RobertaTokenizer):
    """Byte-level BPE over ``vocab.json`` + ``merges.txt`` (or ``tokenizer.json``)."""


BartTokenizerFast = BartTokenizer

__all__ = ["BartTokenizer", "BartTokenizerFast"]
