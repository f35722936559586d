"""Pegasus's tokenizer (``PegasusTokenizer``), which BigBird-Pegasus checkpoints use.

Modules: ``tokenization``. (The Pegasus model itself is not part of polymodal yet.)
"""
