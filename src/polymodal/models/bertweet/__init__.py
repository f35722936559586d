"""BERTweet (Nguyen et al., 2020): RoBERTa pre-trained on English tweets; its checkpoints load as ``roberta``.

Modules: ``tokenization`` (``BertweetTokenizer``) and ``tweet_normalization``. Import classes from ``polymodal``.
"""
