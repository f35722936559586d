"""``BertJapaneseTokenizer``: words from MeCab (or BERT's basic splitter), then WordPiece or characters.

The word step runs inside the ``tokenizers`` pipeline as a custom pre-tokenizer, so offsets,
pairs, truncation with stride and padding work as for every other tokenizer. What it does,
following Transformers' reference (a slow Python tokenizer):

* ``word_tokenizer_type="mecab"``: NFKC, MeCab on the original case (``mecab_dic``:
  ``unidic_lite`` by default, ``unidic`` or ``ipadic``; ``mecab_option`` passed through), then
  lower-casing per word when ``do_lower_case``;
* ``"basic"``: BERT's cleaning, whitespace and punctuation split (CJK characters not split);
* ``subword_tokenizer_type="wordpiece"`` (``##`` continuations) or ``"character"`` (NFKC, one
  token per character, ``[UNK]`` for characters missing from the vocabulary).

A custom pre-tokenizer cannot be written into ``tokenizer.json``; like Transformers we save
``vocab.txt`` and the options in ``tokenizer_config.json``.
"""

from __future__ import annotations

import os
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece

from ...core.errors import ConfigError
from ...core.io import atomic_path
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_wordpiece_vocab


def _mecab_tagger(mecab_dic: str | None, mecab_option: str | None):
    try:
        import fugashi
    except ImportError:
        raise ImportError(
            "word_tokenizer_type='mecab' needs fugashi and a dictionary: pip install 'polymodal[ja]' "
            "(fugashi, unidic-lite)."
        ) from None
    option = mecab_option or ""
    if mecab_dic is not None:
        module = {"unidic_lite": "unidic_lite", "unidic": "unidic", "ipadic": "ipadic"}.get(mecab_dic)
        if module is None:
            raise ConfigError(f"mecab_dic={mecab_dic!r} is not one of 'unidic_lite', 'unidic', 'ipadic' (or None "
                              "with a -d option in mecab_option).")
        try:
            dictionary = __import__(module)
        except ImportError:
            raise ImportError(f"mecab_dic={mecab_dic!r} needs the {mecab_dic.replace('_', '-')} package "
                                         f"(pip install {mecab_dic.replace('_', '-')}).") from None
        if mecab_dic == "ipadic":
            option = dictionary.MECAB_ARGS + " " + option
        else:
            dic_dir = dictionary.DICDIR
            if not os.path.isdir(dic_dir):
                raise ImportError(f"The {mecab_dic} dictionary files are not downloaded ({dic_dir}).")
            option = f'-d "{dic_dir}" -r "{os.path.join(dic_dir, "mecabrc")}" ' + option
    return fugashi.GenericTagger(option)


class _MecabSplit:
    """Custom pre-tokenizer step: one piece per MeCab word (whitespace dropped), optionally lower-cased,
    optionally further split into single characters."""

    def __init__(self, tagger, lower: bool, characters: bool):
        self.tagger, self.lower, self.characters = tagger, lower, characters

    def _split(self, _index, normalized):
        text = str(normalized)
        pieces, cursor = [], 0
        for word in self.tagger(text):
            start = text.find(word.surface, cursor)
            if start < 0 or not word.surface:
                continue
            end = start + len(word.surface)
            cursor = end
            if self.characters:
                pieces.extend(normalized[i:i + 1] for i in range(start, end))
            else:
                pieces.append(normalized[start:end])
        if self.lower:
            for piece in pieces:
                piece.lowercase()
        return pieces

    def pre_tokenize(self, pretok):
        pretok.split(self._split)


class BertJapaneseTokenizer(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "vocab.txt"}
    model_input_names = ["input_ids", "attention_mask"]  # as Transformers 5 declares it

    def __init__(self, vocab=None, spm_file=None, do_lower_case=False, do_word_tokenize=True,
                 do_subword_tokenize=True, word_tokenizer_type="basic", subword_tokenizer_type="wordpiece",
                 never_split=None, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]",
                 mask_token="[MASK]", mecab_kwargs=None, sudachi_kwargs=None, jumanpp_kwargs=None, **kwargs):
        if word_tokenizer_type not in ("basic", "mecab"):
            raise ConfigError(f"word_tokenizer_type={word_tokenizer_type!r}: polymodal supports 'basic' and 'mecab' "
                              "(Sudachi and Juman++ are not implemented).")
        if subword_tokenizer_type not in ("wordpiece", "character"):
            raise ConfigError(f"subword_tokenizer_type={subword_tokenizer_type!r}: polymodal supports 'wordpiece' "
                              "and 'character' (not 'sentencepiece').")
        vocab, _, _ = self._pop_vocab(vocab, None, kwargs)
        if vocab is None:
            vocab = {str(t): i for i, t in enumerate((pad_token, unk_token, cls_token, sep_token, mask_token))}
        self.lower_case = do_lower_case
        self.do_word_tokenize, self.do_subword_tokenize = do_word_tokenize, do_subword_tokenize
        self.word_tokenizer_type, self.subword_tokenizer_type = word_tokenizer_type, subword_tokenizer_type
        self.mecab_kwargs = dict(mecab_kwargs or {})
        characters = do_subword_tokenize and subword_tokenizer_type == "character"
        backend = Tokenizer(WordPiece(vocab, unk_token=str(unk_token), continuing_subword_prefix="##",
                                      max_input_chars_per_word=100))
        steps, splits = [], []
        if do_word_tokenize and word_tokenizer_type == "mecab":
            options = self.mecab_kwargs
            if options.get("normalize_text", True):
                steps.append(normalizers.NFKC())
            tagger = _mecab_tagger(options.get("mecab_dic", "unidic_lite"), options.get("mecab_option"))
            splits.append(pre_tokenizers.PreTokenizer.custom(_MecabSplit(tagger, do_lower_case, characters)))
        else:
            if do_word_tokenize:
                steps.append(normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                                        strip_accents=None, lowercase=do_lower_case))
                splits.append(pre_tokenizers.BertPreTokenizer())
            else:
                splits.append(pre_tokenizers.WhitespaceSplit())
            if characters:
                steps.append(normalizers.NFKC())
                splits.append(pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated"))
        if steps:
            backend.normalizer = normalizers.Sequence(steps)
        backend.pre_tokenizer = pre_tokenizers.Sequence(splits)
        backend.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # the reference joins with spaces only
        super().__init__(backend, do_lower_case=do_lower_case, do_word_tokenize=do_word_tokenize,
                         do_subword_tokenize=do_subword_tokenize, word_tokenizer_type=word_tokenizer_type,
                         subword_tokenizer_type=subword_tokenizer_type, never_split=never_split, unk_token=unk_token,
                         sep_token=sep_token, pad_token=pad_token, cls_token=cls_token, mask_token=mask_token,
                         mecab_kwargs=mecab_kwargs, **kwargs)
        cls, sep = str(self.cls_token), str(self.sep_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[(cls, self.cls_token_id), (sep, self.sep_token_id)])

    @property
    def do_lower_case(self) -> bool:
        return self.lower_case

    @property
    def is_fast(self) -> bool:
        return False  # no tokenizer.json, as in Transformers

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return read_wordpiece_vocab(vocab_file), None, {}

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        path = Path(save_directory) / f"{filename_prefix + '-' if filename_prefix else ''}vocab.txt"
        vocab = self._tokenizer.get_vocab(with_added_tokens=False)
        with atomic_path(path) as tmp:
            Path(tmp).write_text("".join(token + "\n" for token, _ in sorted(vocab.items(), key=lambda kv: kv[1])),
                                 encoding="utf-8")
        return (str(path),)


__all__ = ["BertJapaneseTokenizer"]
