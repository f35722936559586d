"""ConvBERT uses BERT's WordPiece tokenizer unchanged."""

from __future__ import annotations

from ..bert.tokenization import BertTokenizer


class ConvBertTokenizer(BertTokenizer):
    pass


ConvBertTokenizerFast = ConvBertTokenizer

__all__ = ["ConvBertTokenizer", "ConvBertTokenizerFast"]
