"""``DistilBertTokenizer``: BERT's WordPiece tokenizer without ``token_type_ids`` (DistilBERT has none)."""

from __future__ import annotations

from ..bert.tokenization import BertTokenizer


class DistilBertTokenizer(BertTokenizer):
    model_input_names = ["input_ids", "attention_mask"]


DistilBertTokenizerFast = DistilBertTokenizer

__all__ = ["DistilBertTokenizer", "DistilBertTokenizerFast"]
