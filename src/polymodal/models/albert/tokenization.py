"""``AlbertTokenizer``: sentencepiece unigram with ALBERT's normaliser and ``[CLS] … [SEP]`` template."""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from ...core.errors import CheckpointError
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import precompiled_charsmap, read_sentencepiece_model


class AlbertTokenizer(PreTrainedTokenizerFast):
    """Quotes normalised, accents stripped (unless ``keep_accents``), lower-cased (``do_lower_case``)."""

    vocab_files_names = {"vocab_file": "spiece.model", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]  # as Transformers 5 declares it

    def __init__(self, vocab=None, do_lower_case: bool = True, keep_accents: bool = False, bos_token="[CLS]",
                 eos_token="[SEP]", unk_token="<unk>", sep_token="[SEP]", pad_token="<pad>", cls_token="[CLS]",
                 mask_token="[MASK]", add_prefix_space: bool = True, trim_offsets: bool = True, **kwargs):
        charsmap = kwargs.pop("_spm_precompiled_charsmap", None)
        vocab, _, extras = self._pop_vocab(vocab, None, kwargs)
        if "pieces" in extras:
            vocab = [(piece, score) for piece, score, _ in extras["pieces"]]
        charsmap = charsmap or extras.get("charsmap")
        if vocab is None:
            vocab = [(str(t), 0.0) for t in (pad_token, unk_token, cls_token, sep_token, mask_token)]
        self.do_lower_case, self.keep_accents = do_lower_case, keep_accents
        self.add_prefix_space, self.trim_offsets = add_prefix_space, trim_offsets
        backend = Tokenizer(Unigram(vocab=vocab, unk_id=1, byte_fallback=False))
        backend.normalizer = self._normalizer(charsmap)
        scheme = "always" if add_prefix_space else "never"
        backend.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=scheme)])
        backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=scheme)
        cls, sep = str(cls_token), str(sep_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[(cls, backend.token_to_id(cls) or 0), (sep, backend.token_to_id(sep) or 0)])
        super().__init__(backend, do_lower_case=do_lower_case, keep_accents=keep_accents, bos_token=bos_token,
                         eos_token=eos_token, unk_token=unk_token, sep_token=sep_token, pad_token=pad_token,
                         cls_token=cls_token, mask_token=mask_token, add_prefix_space=add_prefix_space,
                         trim_offsets=trim_offsets, **kwargs)

    def _normalizer(self, charsmap):
        parts = [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
        if not self.keep_accents:
            parts += [normalizers.NFKD(), normalizers.StripAccents()]
        if self.do_lower_case:
            parts.append(normalizers.Lowercase())
        if charsmap is not None:
            parts.append(normalizers.Precompiled(charsmap))
        return normalizers.Sequence(parts)

    @classmethod
    def _vocab_from_tokenizer_json(cls, path):
        vocab, merges, data = super()._vocab_from_tokenizer_json(path)
        if not (isinstance(vocab, list) and vocab and isinstance(vocab[0], tuple)):
            raise CheckpointError(f"'{path}' does not hold a unigram (sentencepiece) vocabulary.")
        return vocab, merges, {"charsmap": precompiled_charsmap(data)}

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        pieces, charsmap = read_sentencepiece_model(vocab_file)
        return None, None, {"pieces": pieces, "charsmap": charsmap}


AlbertTokenizerFast = AlbertTokenizer

__all__ = ["AlbertTokenizer", "AlbertTokenizerFast"]
