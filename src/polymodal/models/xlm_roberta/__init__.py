"""XLM-RoBERTa (Conneau et al., 2019): RoBERTa trained on 100 languages with a sentencepiece vocabulary.

Modules: ``tokenization`` (``XLMRobertaTokenizer``). Import classes from ``polymodal``.
"""
