"""GPT-2's byte-level BPE tokenizer (``tokenizer.json``, or ``vocab.json`` + ``merges.txt``).

Also the tokenizer of DistilGPT2, DialoGPT, CodeGen and OPT-style checkpoints that name it.
No special tokens are added by default (``add_bos_token=True`` prepends ``<|endoftext|>``), and
there is no pad token: batching needs ``tokenizer.pad_token = tokenizer.eos_token``.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
from tokenizers.models import BPE

from ...text.chat_template import ChatTemplateMixin
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_json_vocab, read_merges


def checkpoint_post_processor(tokenizer_file):
    """The post-processor a ``tokenizer.json`` defines (None without one), kept as the checkpoint has it."""
    if not tokenizer_file:
        return None
    try:
        return Tokenizer.from_file(str(tokenizer_file)).post_processor
    except Exception:  # noqa: BLE001 - an unreadable file is reported when the vocabulary is read
        return None


def bos_eos_template(bos, bos_id, eos, eos_id, add_bos: bool, add_eos: bool):
    """``[bos] $A [eos]`` (and the pair form) as a TemplateProcessing, or None when nothing is added."""
    if not (add_bos or add_eos):
        return None
    single = ([f"{bos}:0"] if add_bos else []) + ["$A:0"] + ([f"{eos}:0"] if add_eos else [])
    pair = single + ([f"{bos}:1"] if add_bos else []) + ["$B:1"] + ([f"{eos}:1"] if add_eos else [])
    special = {**({bos: bos_id} if add_bos else {}), **({eos: eos_id} if add_eos else {})}
    return processors.TemplateProcessing(single=" ".join(single), pair=" ".join(pair),
                                         special_tokens=list(special.items()))


class GPT2Tokenizer(ChatTemplateMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, merges=None, errors="replace", unk_token="<|endoftext|>",
                 bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token=None, add_prefix_space=False,
                 add_bos_token=False, add_eos_token=False, **kwargs):
        post = checkpoint_post_processor(kwargs.get("tokenizer_file"))
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        self.add_prefix_space = add_prefix_space
        backend = Tokenizer(BPE(vocab=vocab or {}, merges=merges or [], dropout=None, continuing_subword_prefix="",
                                end_of_word_suffix="", fuse_unk=False))
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
        backend.decoder = decoders.ByteLevel()
        super().__init__(backend, errors=errors, unk_token=unk_token, bos_token=bos_token, eos_token=eos_token,
                         pad_token=pad_token, add_prefix_space=add_prefix_space, add_bos_token=add_bos_token,
                         add_eos_token=add_eos_token, **kwargs)
        self.add_bos_token, self.add_eos_token = add_bos_token, add_eos_token
        if add_bos_token or add_eos_token or post is None:
            post = bos_eos_template(self.bos_token, self.bos_token_id, self.eos_token, self.eos_token_id,
                                    add_bos_token, add_eos_token)
        if post is not None:
            backend.post_processor = post

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return read_json_vocab(vocab_file), read_merges(merges_file) if merges_file else [], {}


GPT2TokenizerFast = GPT2Tokenizer

__all__ = ["GPT2Tokenizer", "GPT2TokenizerFast"]
