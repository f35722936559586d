"""RoBERTa (Liu et al., 2019): BERT's encoder trained without next-sentence prediction.

Modules: ``tokenization`` (byte-level BPE ``RobertaTokenizer``). The encoder itself is
``models/bert``'s with RoBERTa's position-id offset. Import classes from ``polymodal``.
"""
