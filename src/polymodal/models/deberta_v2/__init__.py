"""DeBERTa-v2/v3: DeBERTa with log-bucketed relative positions, an optional convolution after the
first layer, separate q/k/v projections and a sentencepiece tokenizer.

Modules: ``configuration``, ``modeling`` (encoder and heads on ``models/deberta``'s layers),
``tokenization``.
"""
