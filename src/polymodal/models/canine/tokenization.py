"""``CanineTokenizer``: every character is a token and its id is its Unicode code point.

The ``tokenizers`` pipeline splits the text into characters (so truncation, stride windows,
pairs, padding and offsets work as everywhere else) with a vocabulary of only the special
code points; each character's id is then read from the text at its offset. A 1.1M-entry
vocabulary would take seconds to build for nothing.
"""

from __future__ import annotations

from tokenizers import AddedToken, Regex, Tokenizer, pre_tokenizers, processors
from tokenizers.models import WordLevel

from ...text.fast import PreTrainedTokenizerFast

UNICODE_VOCAB_SIZE = 1114112
PAD, CLS, SEP, BOS, MASK, RESERVED = 0, 0xE000, 0xE001, 0xE002, 0xE003, 0xE004
# Private-use code points; ids print under these names, as in Transformers
SPECIAL_CODEPOINTS = {CLS: "[CLS]", SEP: "[SEP]", BOS: "[BOS]", MASK: "[MASK]", PAD: "[PAD]", RESERVED: "[RESERVED]"}


class CanineTokenizer(PreTrainedTokenizerFast):
    vocab_files_names: dict = {}  # noqa: RUF012 - the vocabulary is Unicode
    model_input_names = ["input_ids", "attention_mask", "token_type_ids"]  # noqa: RUF012

    def __init__(self, bos_token=chr(CLS), eos_token=chr(SEP), sep_token=chr(SEP), cls_token=chr(CLS),
                 pad_token=chr(PAD), mask_token=chr(MASK), add_prefix_space=False, model_max_length=2048, **kwargs):
        for key in ("vocab", "merges", "tokenizer_file", "vocab_file"):
            kwargs.pop(key, None)
        plain = {name: AddedToken(value, lstrip=False, rstrip=False, special=True) if isinstance(value, str) else value
                 for name, value in (("bos_token", bos_token), ("eos_token", eos_token), ("sep_token", sep_token),
                                     ("cls_token", cls_token), ("pad_token", pad_token), ("mask_token", mask_token))}
        # Transformers declares the mask lstrip=True, but its slow tokenizer keeps the space before it as a
        # character; ids must match, so no stripping here.
        backend = Tokenizer(WordLevel({chr(point): point for point in SPECIAL_CODEPOINTS}, unk_token=chr(RESERVED)))
        backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        super().__init__(backend, add_prefix_space=add_prefix_space,
                         model_max_length=model_max_length, **plain, **kwargs)
        cls, sep = str(self.cls_token), str(self.sep_token)
        backend.post_processor = processors.TemplateProcessing(  # token types all 0, pairs included
            single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:0 {sep}:0",
            special_tokens=[(cls, ord(cls)), (sep, ord(sep))])
        self._texts = None

    @classmethod
    def _check_files(cls, path: str, present: dict):
        """No vocabulary file exists to be missing: the config alone describes the tokenizer."""

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return ()  # as Transformers: nothing beyond tokenizer_config.json

    @property
    def vocab_size(self) -> int:
        return UNICODE_VOCAB_SIZE

    def __len__(self) -> int:
        return UNICODE_VOCAB_SIZE

    def get_vocab(self) -> dict[str, int]:
        vocab = {chr(i): i for i in range(UNICODE_VOCAB_SIZE)}
        vocab.update(self.added_tokens_encoder)
        return vocab

    def _convert_token_to_id(self, token: str):
        return ord(token) if len(token) == 1 else self._tokenizer.token_to_id(token)

    def _convert_id_to_token(self, index: int):
        """Registered special tokens read as their character; other special code points by name."""
        added = self._tokenizer.get_added_tokens_decoder().get(int(index))
        if added is not None:
            return added.content
        return SPECIAL_CODEPOINTS.get(int(index), chr(int(index)))

    # ------------------------------------------------------------------ ids from the text
    def _encode_plus(self, text, text_pair=None, *, is_split_into_words=False, **options):
        self._texts = (text, text_pair, is_split_into_words)
        try:
            return super()._encode_plus(text, text_pair, is_split_into_words=is_split_into_words, **options)
        finally:
            self._texts = None

    def _collect(self, encodings, *flags):
        data, flat = super()._collect(encodings, *flags)
        text, pair, words = self._texts
        batched = isinstance(text, (list, tuple)) and (not words or (text and isinstance(text[0], (list, tuple))))
        texts = list(text) if batched else [text]
        pairs = (list(pair) if batched else [pair]) if pair is not None else None
        origin = data.get("overflow_to_sample_mapping") or list(range(len(flat)))
        for row, (encoding, index) in enumerate(zip(flat, origin, strict=True)):
            ids = data["input_ids"][row]
            for i, (token_id, sequence) in enumerate(zip(encoding.ids, encoding.sequence_ids, strict=True)):
                if token_id != RESERVED or sequence is None:
                    continue  # special tokens and padding already carry their code points
                source = texts[index] if sequence == 0 else pairs[index]
                if words:
                    source = source[encoding.word_ids[i]]
                ids[i] = ord(source[encoding.offsets[i][0]])
        return data, flat

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        ids = self(text, text_pair=pair, add_special_tokens=add_special_tokens, **kwargs)["input_ids"]
        return [chr(i) for i in ids]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return "".join(tokens)

    def _decode(self, token_ids, skip_special_tokens=False, clean_up_tokenization_spaces=None, **kwargs) -> str:
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        special = set(self.all_special_ids)
        return "".join(self._convert_id_to_token(i) for i in map(int, token_ids)
                       if not (skip_special_tokens and i in special))


__all__ = ["CanineTokenizer"]
