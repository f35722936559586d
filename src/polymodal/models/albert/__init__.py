"""ALBERT (Lan et al., 2019): BERT with factorised embeddings and layers shared across depth.

Modules: ``configuration``, ``modeling`` (encoder and task heads), ``tokenization``
(sentencepiece unigram ``AlbertTokenizer``).
"""
