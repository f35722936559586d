"""XLM-RoBERTa's sentencepiece unigram tokenizer (``sentencepiece.bpe.model`` or ``tokenizer.json``)."""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from ...core.errors import CheckpointError
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import precompiled_charsmap, read_sentencepiece_model


class XLMRobertaTokenizer(PreTrainedTokenizerFast):
    """XLM-R's sentencepiece unigram model, ``<s> … </s>`` (pairs ``<s> A </s></s> B </s>``)."""

    vocab_files_names = {"vocab_file": "sentencepiece.bpe.model", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]
    default_extra_special_tokens: tuple[str, ...] = ()

    def __init__(self, vocab=None, add_prefix_space=True, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                 cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", **kwargs):
        charsmap = kwargs.pop("_spm_precompiled_charsmap", None)
        vocab, _, extras = self._pop_vocab(vocab, None, kwargs)
        specials = {"bos": str(bos_token), "pad": str(pad_token), "eos": str(eos_token), "unk": str(unk_token),
                    "mask": str(mask_token)}
        if "pieces" in extras:  # built from sentencepiece.bpe.model: apply the fairseq id layout
            vocab = self._fairseq_vocab([(p, s) for p, s, _ in extras["pieces"]], specials)
            if "extra_special_tokens" not in kwargs and "additional_special_tokens" not in kwargs:
                kwargs["extra_special_tokens"] = extras["added"]
        if "extra_special_tokens" not in kwargs and "additional_special_tokens" not in kwargs:
            kwargs["extra_special_tokens"] = list(self.default_extra_special_tokens)
        charsmap = charsmap or extras.get("charsmap")
        if vocab is None:
            vocab = self._fairseq_vocab([], specials)
        self.add_prefix_space = add_prefix_space
        backend = Tokenizer(Unigram(vocab=vocab, unk_id=self._unk_id(vocab, specials["unk"]), byte_fallback=False))
        if charsmap is not None:
            backend.normalizer = normalizers.Precompiled(charsmap)
        scheme = "always" if add_prefix_space else "never"
        backend.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=scheme)])
        backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=scheme)
        super().__init__(backend, bos_token=bos_token, eos_token=eos_token, sep_token=sep_token,
                         cls_token=cls_token, unk_token=unk_token, pad_token=pad_token, mask_token=mask_token,
                         add_prefix_space=add_prefix_space, **kwargs)
        bos, eos = str(bos_token), str(eos_token)
        backend.post_processor = processors.TemplateProcessing(
            single=[bos, "$A", eos], pair=[bos, "$A", eos, eos, "$B", eos],
            special_tokens=[(bos, self.bos_token_id), (eos, self.eos_token_id)])

    @staticmethod
    def _fairseq_vocab(pieces: list, specials: dict) -> list:
        """fairseq's id layout over the sentencepiece pieces: ``<s> <pad> </s> <unk>`` first, ``<mask>`` last."""
        head = [(specials[k], 0.0) for k in ("bos", "pad", "eos", "unk")]
        return [*head, *pieces[3:], (specials["mask"], 0.0)] if pieces else [*head, (specials["mask"], 0.0)]

    @staticmethod
    def _unk_id(vocab: list, unk_token: str) -> int:
        return 3  # Transformers fixes it at 3, fairseq's place for <unk>

    @classmethod
    def _vocab_from_tokenizer_json(cls, path):
        vocab, merges, data = super()._vocab_from_tokenizer_json(path)
        if not (isinstance(vocab, list) and vocab and isinstance(vocab[0], tuple)):
            raise CheckpointError(f"'{path}' does not hold a unigram (sentencepiece) vocabulary.")
        return vocab, merges, {"charsmap": precompiled_charsmap(data)}

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        from tokenizers import AddedToken

        pieces, charsmap = read_sentencepiece_model(vocab_file)
        # control (3) and user-defined (4) pieces become extra special tokens, as in Transformers
        added = [AddedToken(p, normalized=False, special=kind == 3) for p, _, kind in pieces if kind in (3, 4)]
        return None, None, {"pieces": pieces, "charsmap": charsmap, "added": added}


XLMRobertaTokenizerFast = XLMRobertaTokenizer

__all__ = ["XLMRobertaTokenizer", "XLMRobertaTokenizerFast"]
