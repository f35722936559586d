"""CPM (Zhang et al., 2020): a Chinese GPT-2 language model; its checkpoints load as ``gpt2``.

Modules: ``tokenization`` (``CpmTokenizer``). Import classes from ``polymodal``.
"""
