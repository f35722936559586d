"""DeBERTa (He et al., 2020): BERT with disentangled attention over content and relative positions.

Modules: ``configuration``, ``attention`` (the disentangled attention shared with DeBERTa-v2),
``modeling`` (encoder and task heads), ``tokenization`` (GPT-2 byte-level BPE with ``[CLS] … [SEP]``).
"""
