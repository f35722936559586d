"""DistilBERT (Sanh et al., 2019): a 6-layer BERT distilled from BERT-base; no token types, no pooler.

Modules: ``configuration``, ``modeling`` (encoder and task heads). It uses BERT's WordPiece
tokenizer (``DistilBertTokenizer`` is ``BertTokenizer`` without ``token_type_ids``).
"""
