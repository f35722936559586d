"""DeBERTa-v2/v3's sentencepiece unigram tokenizer (``spm.model`` or ``tokenizer.json``)."""

from __future__ import annotations

from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from ...core.errors import CheckpointError
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_sentencepiece_model


class DebertaV2Tokenizer(PreTrainedTokenizerFast):
    """Unigram pieces in the model file's order; runs of whitespace become one space, NFC, trailing
    spaces stripped; ``split_by_punct`` isolates punctuation first; ``[CLS] A [SEP] B [SEP]``."""

    vocab_files_names = {"vocab_file": "spm.model", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask", "token_type_ids"]

    def __init__(self, vocab=None, do_lower_case=False, split_by_punct=False, bos_token="[CLS]", eos_token="[SEP]",
                 unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
                 add_prefix_space=True, unk_id=1, **kwargs):
        kwargs.pop("_spm_precompiled_charsmap", None)  # v2 normalises on its own rules, not the model's map
        vocab, _, extras = self._pop_vocab(vocab, None, kwargs)
        if "pieces" in extras:
            vocab = [(piece, score) for piece, score, _ in extras["pieces"]]
            unk_id = extras["unk_id"]
            if "extra_special_tokens" not in kwargs and "additional_special_tokens" not in kwargs:
                kwargs["extra_special_tokens"] = extras["added"]
        if vocab is None:
            vocab = [(str(t), 0.0) for t in (pad_token, unk_token, bos_token, eos_token, sep_token, cls_token,
                                              mask_token)]
            unk_id = 1
        elif (str(unk_token), 0.0) in vocab:
            unk_id = vocab.index((str(unk_token), 0.0))
        self.do_lower_case, self.split_by_punct, self.add_prefix_space = do_lower_case, split_by_punct, add_prefix_space
        backend = Tokenizer(Unigram(vocab=vocab, unk_id=unk_id, byte_fallback=False))
        steps = [normalizers.Lowercase()] if do_lower_case else []
        steps += [normalizers.Replace(Regex(r"\s{2,}|[\n\r\t]"), " "), normalizers.NFC(),
                  normalizers.Strip(left=False, right=True)]
        backend.normalizer = normalizers.Sequence(steps)
        scheme = "always" if add_prefix_space else "first"
        splits = [pre_tokenizers.Punctuation(behavior="isolated")] if split_by_punct else []
        backend.pre_tokenizer = pre_tokenizers.Sequence(
            [*splits, pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=scheme)])
        backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=scheme)
        super().__init__(backend, bos_token=bos_token, eos_token=eos_token, unk_token=unk_token, sep_token=sep_token,
                         pad_token=pad_token, cls_token=cls_token, mask_token=mask_token, unk_id=unk_id,
                         do_lower_case=do_lower_case, split_by_punct=split_by_punct,
                         add_prefix_space=add_prefix_space, **kwargs)
        cls, sep = str(self.cls_token), str(self.sep_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[(cls, self.cls_token_id or 0), (sep, self.sep_token_id or 0)])

    @classmethod
    def _vocab_from_tokenizer_json(cls, path):
        vocab, merges, data = super()._vocab_from_tokenizer_json(path)
        if not (isinstance(vocab, list) and vocab and isinstance(vocab[0], tuple)):
            raise CheckpointError(f"'{path}' does not hold a unigram (sentencepiece) vocabulary.")
        return vocab, merges, {}

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        pieces, _ = read_sentencepiece_model(vocab_file)
        unk_id = next((i for i, (_, _, kind) in enumerate(pieces) if kind == 2), 1)  # kind 2: UNKNOWN
        added = [AddedToken(p, normalized=False, special=kind == 3) for p, _, kind in pieces if kind in (3, 4)]
        return None, None, {"pieces": pieces, "unk_id": unk_id, "added": added}


DebertaV2TokenizerFast = DebertaV2Tokenizer

__all__ = ["DebertaV2Tokenizer", "DebertaV2TokenizerFast"]
