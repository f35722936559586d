"""BARTpho (Tran et al., 2021): Vietnamese BART (mBART architecture); its checkpoints load as ``mbart``.

Modules: ``tokenization`` (``BartphoTokenizer``). Import classes from ``polymodal``.
"""
