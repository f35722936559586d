"""``BigBirdTokenizer``: sentencepiece unigram, ``[CLS] … [SEP]`` template (``spiece.model`` or ``tokenizer.json``).

BigBird's pipeline differs from ALBERT's and XLM-R's: the only normalisation is turning runs of
two or more spaces into one ``▁`` (the precompiled sentencepiece normaliser is *not* applied, as
in Transformers), and ``<unk>`` is found by its entry ``("<unk>", 0.0)`` in the vocabulary —
id 100 when absent, where the released checkpoints keep it.
"""

from __future__ import annotations

from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from ...core.errors import CheckpointError
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_sentencepiece_model

UNK_ID_WHEN_ABSENT = 100  # google/bigbird-* place <unk> at 100


class BigBirdTokenizer(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "spiece.model", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                 sep_token="[SEP]", mask_token="[MASK]", cls_token="[CLS]", add_prefix_space: bool = True, **kwargs):
        kwargs.pop("_spm_precompiled_charsmap", None)  # unused by BigBird's normaliser (see module docstring)
        vocab, _, extras = self._pop_vocab(vocab, None, kwargs)
        if "pieces" in extras:  # from spiece.model; control / user pieces become extra special tokens
            vocab = [(piece, score) for piece, score, _ in extras["pieces"]]
            if "extra_special_tokens" not in kwargs and "additional_special_tokens" not in kwargs:
                kwargs["extra_special_tokens"] = list(extras["added"].values())
            # Registered before the named special tokens, so these (e.g. a "[MASK]" that keeps the space
            # before it) win over the class defaults, as in Transformers' conversion.
            if not kwargs.get("added_tokens_decoder"):
                kwargs["added_tokens_decoder"] = extras["added"]
        if isinstance(mask_token, str):  # "[MASK]" swallows the space before it
            mask_token = AddedToken(mask_token, lstrip=True, rstrip=False, special=True)
        if vocab is None:
            vocab, unk_id = [(str(pad_token), 0.0), (str(eos_token), 0.0), (str(bos_token), 0.0),
                             (str(unk_token), 0.0)], 3
        else:
            entry = (str(unk_token), 0.0)
            unk_id = vocab.index(entry) if entry in vocab else UNK_ID_WHEN_ABSENT
        self.add_prefix_space = add_prefix_space
        backend = Tokenizer(Unigram(vocab=vocab, unk_id=unk_id, byte_fallback=False))
        backend.normalizer = normalizers.Replace(Regex(r" {2,}"), "▁")
        scheme = "always" if add_prefix_space else "never"
        backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=scheme, split=True)
        backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=scheme, split=True)
        super().__init__(backend, bos_token=bos_token, eos_token=eos_token, unk_token=unk_token, pad_token=pad_token,
                         sep_token=sep_token, mask_token=mask_token, cls_token=cls_token,
                         add_prefix_space=add_prefix_space, **kwargs)
        cls, sep = str(cls_token), str(sep_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[(cls, self.cls_token_id), (sep, self.sep_token_id)])

    @classmethod
    def _vocab_from_tokenizer_json(cls, path):
        vocab, merges, data = super()._vocab_from_tokenizer_json(path)
        if not (isinstance(vocab, list) and vocab and isinstance(vocab[0], tuple)):
            raise CheckpointError(f"'{path}' does not hold a unigram (sentencepiece) vocabulary.")
        return vocab, merges, {}

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        pieces, _ = read_sentencepiece_model(vocab_file)
        added = {i: AddedToken(p, normalized=False, special=kind == 3) for i, (p, _, kind) in enumerate(pieces)
                 if kind in (3, 4)}
        return None, None, {"pieces": pieces, "added": added}


BigBirdTokenizerFast = BigBirdTokenizer

__all__ = ["BigBirdTokenizer", "BigBirdTokenizerFast"]
