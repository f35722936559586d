"""Data2Vec-Text (Baevski et al., 2022): a RoBERTa-shaped encoder trained by self-distillation.

Modules: ``configuration``, ``modeling`` (RoBERTa's encoder and heads under the prefix
``data2vec_text``). It uses RoBERTa's tokenizer.
"""
