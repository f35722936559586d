"""ConvBERT (Jiang et al., 2020): half the heads self-attention, half span-based dynamic convolution.

Modules: ``configuration``, ``modeling`` (encoder and task heads), ``tokenization`` (BERT's WordPiece).
"""
