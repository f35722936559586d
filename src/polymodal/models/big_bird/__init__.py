"""BigBird (Zaheer et al., 2020): a BERT-like encoder whose attention is block-sparse (global,
sliding-window and random blocks), so it reads sequences of thousands of tokens.

Modules: ``configuration``, ``modeling`` (encoder and task heads), ``tokenization``
(sentencepiece unigram ``BigBirdTokenizer``). The kernel lives in ``polymodal.nn.block_sparse``.
"""
