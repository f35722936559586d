"""BigBird-Pegasus (Zaheer et al., 2020): Pegasus's pre-norm encoder-decoder whose encoder uses
BigBird's block-sparse attention, for summarising long documents.

Modules: ``configuration``, ``modeling``. Checkpoints ship a Pegasus ``tokenizer.json``, which
``AutoTokenizer`` loads generically.
"""
