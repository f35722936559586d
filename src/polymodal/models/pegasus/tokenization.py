"""``PegasusTokenizer``: sentencepiece unigram with Pegasus's id layout (``spiece.model`` or ``tokenizer.json``).

Ids: ``<pad>`` 0, ``</s>`` 1, the two mask tokens (``<mask_1>`` whole sentences, ``<mask_2>``
single tokens), ``<unk_2> … <unk_102>`` (pre-training placeholders, ``offset=103``), then the
sentencepiece pieces from the third on (``<unk>`` lands at 105). Every sequence ends with ``</s>``
and there is no start token; pairs are concatenated before it (``A B </s>``). The normaliser is
the model's precompiled one (or newlines → spaces without it), then runs of spaces → one space.
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from ...core.errors import CheckpointError
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import precompiled_charsmap, read_sentencepiece_model


class PegasusTokenizer(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "spiece.model", "tokenizer_file": "tokenizer.json"}  # noqa: RUF012
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012

    def __init__(self, vocab=None, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", mask_token=None,
                 mask_token_sent=None, additional_special_tokens=None, offset: int = 103, **kwargs):
        charsmap = kwargs.pop("_spm_precompiled_charsmap", None)
        kwargs.pop("extra_special_tokens", None)  # rebuilt below from mask_token_sent and offset, as Transformers does
        vocab, _, extras = self._pop_vocab(vocab, None, kwargs)
        if "pieces" in extras:  # spiece.model: Pegasus's reserved ids first, then the pieces after <pad> </s>
            reserved = self._reserved_ids(pad_token, eos_token, mask_token, mask_token_sent, offset)
            vocab = reserved + [(p, s) for p, s, _ in extras["pieces"][2:]]
        mask_token = "<mask_2>" if mask_token is None else mask_token
        mask_token_sent = "<mask_1>" if mask_token_sent is None else mask_token_sent
        charsmap = charsmap or extras.get("charsmap")
        if vocab is None:
            vocab = [(str(unk_token), 0.0), (str(pad_token), 0.0), (str(eos_token), 0.0), (str(mask_token), 0.0)]
        self.offset, self.mask_token_sent = offset, mask_token_sent
        backend = Tokenizer(Unigram(vocab=vocab, unk_id=self._unk_id(vocab, str(unk_token)), byte_fallback=False))
        spaces = normalizers.Replace(Regex(r" {2,}"), " ")
        backend.normalizer = normalizers.Sequence(
            [normalizers.Precompiled(charsmap), spaces] if charsmap is not None
            else [normalizers.Replace(Regex(r"\n"), " "), spaces])
        backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        # Transformers keeps only the placeholders when the given list already names the sentence mask.
        given = [str(t) for t in additional_special_tokens or []]
        extra = [] if str(mask_token_sent) in given else [mask_token_sent]
        extra += [f"<unk_{i}>" for i in range(2, offset)]
        super().__init__(backend, pad_token=pad_token, eos_token=eos_token, unk_token=unk_token, mask_token=mask_token,
                         mask_token_sent=mask_token_sent, offset=offset, extra_special_tokens=extra, **kwargs)
        eos = str(eos_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"$A {eos}", pair=f"$A $B {eos}", special_tokens=[(eos, self.convert_tokens_to_ids(eos))])

    @staticmethod
    def _reserved_ids(pad_token, eos_token, mask_token, mask_token_sent, offset: int) -> list:
        """Transformers' spiece.model conversion. Its defaults differ from the class's: unless given,
        id 2 is ``<mask_1>`` and id 3 ``<mask_2>`` (which is where the released vocabularies have them)."""
        first = "<mask_1>" if mask_token is None else str(mask_token)
        second = "<mask_2>" if mask_token_sent is None else str(mask_token_sent)
        reserved = [(str(pad_token), 0.0), (str(eos_token), 0.0), (first, 0.0)]
        if second != first:
            reserved.append((second, 0.0))
        return reserved + [(f"<unk_{i}>", -100.0) for i in range(2, offset)]

    @staticmethod
    def _unk_id(vocab: list, unk_token: str) -> int:
        """The first ``(unk_token, 0.0)`` entry after position 0 (Transformers' lookup)."""
        try:
            return vocab.index((unk_token, 0.0), 1)
        except ValueError:
            raise CheckpointError(f"The vocabulary has no entry ({unk_token!r}, 0.0) for the unknown token.") from None

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


PegasusTokenizerFast = PegasusTokenizer

__all__ = ["PegasusTokenizer", "PegasusTokenizerFast"]
