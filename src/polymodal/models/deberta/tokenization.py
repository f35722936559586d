"""DeBERTa's tokenizer: GPT-2 byte-level BPE (``vocab.json`` + ``merges.txt``) with ``[CLS] … [SEP]``."""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
from tokenizers.models import BPE

from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_json_vocab, read_merges


class DebertaTokenizer(PreTrainedTokenizerFast):
    """Byte-level BPE as RoBERTa's; pairs are ``[CLS] A [SEP] [SEP] B [SEP]``.

    Transformers 5 documents ``[MASK]`` as taking the space before it, but the token it registers
    from legacy files keeps the space (``lstrip=False``); we follow what it does, and a
    ``tokenizer.json`` brings its own flags.
    """

    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask", "token_type_ids"]  # Transformers' order

    def __init__(self, vocab=None, merges=None, errors="replace", bos_token="[CLS]", eos_token="[SEP]",
                 sep_token="[SEP]", cls_token="[CLS]", unk_token="[UNK]", pad_token="[PAD]", mask_token="[MASK]",
                 add_prefix_space=False, **kwargs):
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        self.add_prefix_space = add_prefix_space
        if vocab is None:
            vocab = {str(t): i for i, t in enumerate((unk_token, cls_token, sep_token, pad_token, mask_token))}
        backend = Tokenizer(BPE(vocab=vocab, merges=merges or [], dropout=None, continuing_subword_prefix="",
                                end_of_word_suffix="", fuse_unk=False))
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
        backend.decoder = decoders.ByteLevel()
        super().__init__(backend, errors=errors, bos_token=bos_token, eos_token=eos_token, sep_token=sep_token,
                         cls_token=cls_token, unk_token=unk_token, pad_token=pad_token, mask_token=mask_token,
                         add_prefix_space=add_prefix_space, **kwargs)
        cls, sep = str(self.cls_token), str(self.sep_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} {sep} $B {sep}",
            special_tokens=[(cls, self.cls_token_id), (sep, self.sep_token_id)])

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return read_json_vocab(vocab_file), read_merges(merges_file), {}


DebertaTokenizerFast = DebertaTokenizer

__all__ = ["DebertaTokenizer", "DebertaTokenizerFast"]
