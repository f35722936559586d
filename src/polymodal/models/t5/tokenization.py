"""``T5Tokenizer`` (sentencepiece unigram) and ``ByT5Tokenizer`` (UTF-8 bytes).

T5's ids: ``<pad>`` 0, ``</s>`` 1, ``<unk>`` 2, the sentencepiece pieces, then the sentinels
``<extra_id_99> … <extra_id_0>`` (reversed, so ``<extra_id_0>`` has the highest id). Every
sequence ends with ``</s>``; there is no start token (the decoder starts from ``<pad>``).
"""

from __future__ import annotations

import re

from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from ...core.errors import InvalidInputError
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import precompiled_charsmap, read_sentencepiece_model


def _sentinels(extra_ids: int, additional_special_tokens, name: str) -> list:
    if additional_special_tokens is None:
        return [f"<extra_id_{i}>" for i in range(extra_ids)]
    tokens = list(additional_special_tokens)
    present = [t for t in tokens if "<extra_id_" in str(t)]
    if not present:
        return tokens + [f"<extra_id_{i}>" for i in range(extra_ids)]
    if extra_ids > 0 and len(present) != extra_ids:
        raise InvalidInputError(
            f"{name}: extra_ids={extra_ids} but additional_special_tokens has {len(present)} <extra_id_N> tokens; "
            "they must agree (or leave one of them out)."
        )
    return tokens


class T5Tokenizer(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "spiece.model", "tokenizer_file": "tokenizer.json"}  # noqa: RUF012
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012

    def __init__(self, vocab=None, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=100,
                 additional_special_tokens=None, **kwargs):
        charsmap = kwargs.pop("_spm_precompiled_charsmap", None)
        extra = kwargs.pop("extra_special_tokens", None)
        additional_special_tokens = _sentinels(extra_ids, additional_special_tokens or extra, "T5Tokenizer")
        vocab, _, extras = self._pop_vocab(vocab, None, kwargs)
        if "pieces" in extras:  # spiece.model: its pieces, then the sentinels in reverse
            vocab = [(p, s) for p, s, _ in extras["pieces"]]
            vocab += [(f"<extra_id_{i}>", 0.0) for i in range(extra_ids - 1, -1, -1)]
        if vocab is None:
            vocab = [(str(pad_token), 0.0), (str(eos_token), 0.0), (str(unk_token), 0.0), ("▁", -2.0)]
            vocab += [(f"<extra_id_{i}>", 0.0) for i in range(extra_ids - 1, -1, -1)]
        charsmap = charsmap or extras.get("charsmap")
        backend = Tokenizer(Unigram(vocab, unk_id=2, byte_fallback=False))
        if charsmap is not None:
            backend.normalizer = normalizers.Precompiled(charsmap)
        backend.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)])
        backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        self._extra_ids = extra_ids
        super().__init__(backend, eos_token=eos_token, unk_token=unk_token, pad_token=pad_token,
                         extra_ids=extra_ids, extra_special_tokens=additional_special_tokens, **kwargs)
        eos = str(eos_token)
        backend.post_processor = processors.TemplateProcessing(
            single=["$A", eos], pair=["$A", eos, "$B", eos], special_tokens=[(eos, self.eos_token_id)])

    @classmethod
    def _vocab_from_tokenizer_json(cls, path):
        vocab, merges, data = super()._vocab_from_tokenizer_json(path)
        return vocab, merges, {"charsmap": precompiled_charsmap(data)}

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        pieces, charsmap = read_sentencepiece_model(vocab_file)
        return None, None, {"pieces": pieces, "charsmap": charsmap}

    def get_sentinel_tokens(self) -> list[str]:
        return [t for t in map(str, self.extra_special_tokens) if re.fullmatch(r"<extra_id_\d+>", t)]

    def get_sentinel_token_ids(self) -> list[int]:
        return [self.convert_tokens_to_ids(t) for t in self.get_sentinel_tokens()]


T5TokenizerFast = T5Tokenizer


class ByT5Tokenizer(PreTrainedTokenizerFast):
    """ByT5: every UTF-8 byte is a token (id = byte + 3); ``</s>`` ends each sequence.

    Built on the ``tokenizers`` library: a byte-level pre-tokenizer turns each byte into one
    symbol and a one-symbol-per-token vocabulary numbers it, so offsets and batching come for free.
    """

    vocab_files_names: dict = {}  # noqa: RUF012 - no vocabulary file: the vocabulary is the bytes
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012

    def __init__(self, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=125,
                 additional_special_tokens=None, **kwargs):
        from tokenizers import Regex
        from tokenizers.models import WordLevel

        for key in ("vocab", "merges", "tokenizer_file", "vocab_file"):
            kwargs.pop(key, None)
        extra = kwargs.pop("extra_special_tokens", None)
        additional_special_tokens = _sentinels(extra_ids, additional_special_tokens or extra, "ByT5Tokenizer")
        alphabet = _byte_symbols()
        vocab = {str(pad_token): 0, str(eos_token): 1, str(unk_token): 2}
        vocab.update({symbol: byte + 3 for byte, symbol in enumerate(alphabet)})
        backend = Tokenizer(WordLevel(vocab, unk_token=str(unk_token)))
        backend.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            pre_tokenizers.Split(Regex("."), behavior="isolated")])
        backend.decoder = decoders.ByteLevel()
        # Transformers strips spaces around these three in the text (AddedToken lstrip/rstrip).
        specials = {name: AddedToken(value, lstrip=True, rstrip=True, special=True) if isinstance(value, str) else value
                    for name, value in (("eos_token", eos_token), ("unk_token", unk_token), ("pad_token", pad_token))}
        super().__init__(backend, extra_ids=0, extra_special_tokens=additional_special_tokens, **specials, **kwargs)
        eos = str(eos_token)
        backend.post_processor = processors.TemplateProcessing(
            single=["$A", eos], pair=["$A", eos, "$B", eos], special_tokens=[(eos, self.eos_token_id)])

    @property
    def vocab_size(self) -> int:
        return 256

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        """Byte tokens read as Transformers writes them: ``chr(byte)``."""
        single = isinstance(ids, int)
        tokens = super().convert_ids_to_tokens([ids] if single else ids, skip_special_tokens)
        table = {symbol: chr(byte) for byte, symbol in enumerate(_byte_symbols())}
        tokens = [table.get(t, t) for t in tokens]
        return tokens[0] if single else tokens


def _byte_symbols() -> list[str]:
    """The byte-level pre-tokenizer's symbol for each byte 0…255 (GPT-2's printable mapping)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    symbols, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            symbols[byte] = chr(byte)
        else:
            symbols[byte] = chr(256 + extra)
            extra += 1
    return [symbols[b] for b in range(256)]


__all__ = ["ByT5Tokenizer", "T5Tokenizer", "T5TokenizerFast"]
