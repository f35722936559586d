"""Old import path of the text-tower tokenizers (CLIP, BERT, XLM-RoBERTa, RoBERTa).

Tokenizers live with their family in ``models/<family>/tokenization.py``; this module
re-exports them lazily (``text/`` must not import ``models/`` at import time).
"""

from __future__ import annotations

import importlib

from .vocab_files import read_sentencepiece_model  # noqa: F401 (old import path)

_HOMES = {
    "CLIPTokenizer": "clip", "CLIPTokenizerFast": "clip",
    "BertTokenizer": "bert", "BertTokenizerFast": "bert",
    "XLMRobertaTokenizer": "xlm_roberta", "XLMRobertaTokenizerFast": "xlm_roberta",
    "RobertaTokenizer": "roberta", "RobertaTokenizerFast": "roberta",
}

def __getattr__(name):
    if name in _HOMES:
        module = importlib.import_module(f"polymodal.models.{_HOMES[name]}.tokenization")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
