"""CamemBERT's tokenizer: XLM-R's sentencepiece pipeline with CamemBERT's id layout and special tokens."""

from __future__ import annotations

from tokenizers import AddedToken

from ..xlm_roberta.tokenization import XLMRobertaTokenizer


class CamembertTokenizer(XLMRobertaTokenizer):
    """``<s>NOTUSED <pad> </s>NOTUSED <unk> <unk>NOTUSED`` first, the pieces, ``<mask>`` last.

    The ``…NOTUSED`` entries are fairseq's placeholders; ``<mask>`` strips the space before it.
    """

    default_extra_special_tokens = ("<s>NOTUSED", "</s>NOTUSED", "<unk>NOTUSED")

    def __init__(self, vocab=None, add_prefix_space=True, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                 cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", **kwargs):
        if isinstance(mask_token, str):
            mask_token = AddedToken(mask_token, lstrip=True, special=True)
        super().__init__(vocab, add_prefix_space, bos_token, eos_token, sep_token, cls_token, unk_token, pad_token,
                         mask_token, **kwargs)

    @staticmethod
    def _fairseq_vocab(pieces: list, specials: dict) -> list:
        head = [("<s>NOTUSED", 0.0), (specials["pad"], 0.0), ("</s>NOTUSED", 0.0), (specials["unk"], 0.0),
                ("<unk>NOTUSED", -100.0)]  # -100: never chosen by the unigram model
        return [*head, *pieces[1:], (specials["mask"], 0.0)]

    @staticmethod
    def _unk_id(vocab: list, unk_token: str) -> int:
        return next((i for i, (token, _) in enumerate(vocab) if token == unk_token), 0)


CamembertTokenizerFast = CamembertTokenizer

__all__ = ["CamembertTokenizer", "CamembertTokenizerFast"]
