"""BARThez (Kamal Eddine et al., 2020): a French BART; its checkpoints load as ``mbart``.

Modules: ``tokenization`` (``BarthezTokenizer``). Import classes from ``polymodal``.
"""
