"""CamemBERT (Martin et al., 2020): RoBERTa trained on French, with a sentencepiece vocabulary.

Modules: ``configuration``, ``modeling`` (RoBERTa's encoder and heads), ``tokenization``.
"""
