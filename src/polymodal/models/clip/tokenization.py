"""CLIP's tokenizer: the same ``tokenizers`` pipeline Transformers 5 builds for it."""

from __future__ import annotations

from tokenizers import (
    Regex,
    Tokenizer,
    decoders,
    normalizers,
    pre_tokenizers,
    processors,
)
from tokenizers.models import BPE

from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_json_vocab, read_merges


class CLIPTokenizer(PreTrainedTokenizerFast):
    """CLIP's BPE: NFC + whitespace squeeze + lower-case, ``</w>`` word ends, byte-level alphabet."""

    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, merges=None, unk_token="<|endoftext|>", bos_token="<|startoftext|>",
                 eos_token="<|endoftext|>", pad_token="<|endoftext|>", **kwargs):
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        if vocab is None:
            vocab = {str(bos_token): 0, str(eos_token): 1, str(pad_token): 2}
        backend = Tokenizer(BPE(vocab=vocab, merges=merges or [], dropout=None, continuing_subword_prefix="",
                                end_of_word_suffix="</w>", fuse_unk=False, unk_token=str(unk_token)))
        backend.normalizer = normalizers.Sequence(
            [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
        # OpenAI's word pattern; what it does not match (whitespace) is dropped.
        pattern = (r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]"""
                   r"""|[^\s\p{L}\p{N}]+""")
        backend.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ])
        backend.decoder = decoders.ByteLevel()
        super().__init__(backend, unk_token=unk_token, bos_token=bos_token, eos_token=eos_token,
                         pad_token=pad_token, **kwargs)
        backend.post_processor = processors.RobertaProcessing(
            (str(eos_token), self.eos_token_id), (str(bos_token), self.bos_token_id), False, False)

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return read_json_vocab(vocab_file), read_merges(merges_file), {}

    def _backend_decode(self, token_ids, skip_special_tokens: bool) -> str:
        # The byte-level decoder keeps the "</w>" word ends; they mean a space.
        text = self._tokenizer.decode(token_ids, skip_special_tokens=skip_special_tokens)
        return text.replace("</w>", " ").strip()


CLIPTokenizerFast = CLIPTokenizer

__all__ = ["CLIPTokenizer", "CLIPTokenizerFast"]
