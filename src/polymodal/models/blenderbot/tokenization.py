"""``BlenderbotTokenizer``: GPT-2's byte-level BPE with Blenderbot's defaults.

A leading space is added (``add_prefix_space=True``: the model saw every word after a space),
``<mask>`` swallows the space before it, and no BOS is added. Which special tokens wrap a text
comes from the checkpoint's ``tokenizer.json`` post-processor, as in Transformers 5 — the
released checkpoints append ``</s>`` — and from ``add_bos_token`` / ``add_eos_token`` when they
are given (vocab.json + merges.txt alone add nothing).
"""

from __future__ import annotations

from tokenizers import AddedToken

from ..gpt2.tokenization import GPT2Tokenizer


class BlenderbotTokenizer(GPT2Tokenizer):
    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, merges=None, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                 cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", add_prefix_space=True,
                 **kwargs):
        tokenizer_file = kwargs.get("tokenizer_file")
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        if isinstance(mask_token, str):
            mask_token = AddedToken(mask_token, lstrip=True, rstrip=False, normalized=False, special=True)
        if vocab is None:  # Transformers' minimal vocabulary when built without files
            vocab = {str(t): i for i, t in enumerate((bos_token, pad_token, eos_token, unk_token, mask_token))}
        super().__init__(vocab, merges or [], tokenizer_file=tokenizer_file, unk_token=unk_token,
                         bos_token=bos_token, eos_token=eos_token, pad_token=pad_token, sep_token=sep_token,
                         cls_token=cls_token, mask_token=mask_token, add_prefix_space=add_prefix_space, **kwargs)


BlenderbotTokenizerFast = BlenderbotTokenizer

__all__ = ["BlenderbotTokenizer", "BlenderbotTokenizerFast"]
