"""BLOOM's tokenizer: its ``tokenizer.json`` used exactly as written (a byte-level BPE whose
pre-tokenizer is BLOOM's own split regex, not GPT-2's). Transformers 5 likewise maps
``BloomTokenizer``/``BloomTokenizerFast`` to its generic tokenizers backend."""

from __future__ import annotations

from ...text.chat_template import ChatTemplateMixin
from ...text.fast import PreTrainedTokenizerFast


class BloomTokenizer(ChatTemplateMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]
    padding_side = "left"  # BLOOM's checkpoints pad on the left (generation)


BloomTokenizerFast = BloomTokenizer

__all__ = ["BloomTokenizer", "BloomTokenizerFast"]
