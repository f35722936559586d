"""RoBERTa's byte-level BPE tokenizer (``vocab.json`` + ``merges.txt`` or ``tokenizer.json``)."""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
from tokenizers.models import BPE

from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_json_vocab, read_merges


class RobertaTokenizer(PreTrainedTokenizerFast):
    """RoBERTa / GPT-2 byte-level BPE (``vocab.json`` + ``merges.txt``), ``<s> … </s>``."""

    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, merges=None, errors="replace", bos_token="<s>", eos_token="</s>",
                 sep_token="</s>", cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                 add_prefix_space=False, trim_offsets=True, **kwargs):
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        self.add_prefix_space = add_prefix_space
        self.trim_offsets = trim_offsets
        if vocab is None:
            vocab = {str(t): i for i, t in enumerate((pad_token, unk_token, cls_token, sep_token, mask_token))}
        backend = Tokenizer(BPE(vocab=vocab, merges=merges or [], dropout=None, continuing_subword_prefix="",
                                end_of_word_suffix="", fuse_unk=False))
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
        backend.decoder = decoders.ByteLevel()
        super().__init__(backend, errors=errors, bos_token=bos_token, eos_token=eos_token, sep_token=sep_token,
                         cls_token=cls_token, unk_token=unk_token, pad_token=pad_token, mask_token=mask_token,
                         add_prefix_space=add_prefix_space, trim_offsets=trim_offsets, **kwargs)
        backend.post_processor = processors.RobertaProcessing(
            (str(sep_token), self.sep_token_id), (str(cls_token), self.cls_token_id), trim_offsets, add_prefix_space)

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return read_json_vocab(vocab_file), read_merges(merges_file), {}


RobertaTokenizerFast = RobertaTokenizer

__all__ = ["RobertaTokenizer", "RobertaTokenizerFast"]
