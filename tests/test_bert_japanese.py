"""BertJapaneseTokenizer against Transformers' (slow, reference) tokenizer: MeCab and basic words,
WordPiece and character subwords, pairs, padding, truncation; files both ways; offsets."""

from __future__ import annotations

import unicodedata

import pytest

transformers = pytest.importorskip("transformers")
fugashi = pytest.importorskip("fugashi")
unidic_lite = pytest.importorskip("unidic_lite")

import polymodal  # noqa: E402

TEXTS = ["東京は日本の首都です。富士山は静岡県と山梨県にまたがっています。", "ＡＢＣ　テスト１２３、Hello World!",
         "私は[MASK]が好きです。", "ｶﾀｶﾅと①②、Café", "", "  空白  と\tタブ ", "未知の語彙：鬱蒼🍣"]
OPTIONS = {
    "mecab-wordpiece": dict(word_tokenizer_type="mecab"),
    "mecab-lower": dict(word_tokenizer_type="mecab", do_lower_case=True),
    "mecab-character": dict(word_tokenizer_type="mecab", subword_tokenizer_type="character"),
    "basic-wordpiece": dict(word_tokenizer_type="basic"),
    "basic-character": dict(word_tokenizer_type="basic", subword_tokenizer_type="character"),
}


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    """MeCab words and single characters of the texts, minus a few so [UNK] and ## pieces occur."""
    tagger = fugashi.GenericTagger(f'-d "{unidic_lite.DICDIR}" -r "{unidic_lite.DICDIR}/mecabrc"')
    words = set()
    for text in TEXTS[:-1]:
        for word in tagger(unicodedata.normalize("NFKC", text)):
            words.add(word.surface.lower())
            words.update(word.surface)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(words - {"東京"}) + ["##京", "東", "hello"]
    path = tmp_path_factory.mktemp("ja") / "vocab.txt"
    path.write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", OPTIONS)
def test_same_ids_as_transformers(name, vocab_file, tmp_path):
    oracle = transformers.BertJapaneseTokenizer(str(vocab_file), **OPTIONS[name])
    oracle.save_pretrained(tmp_path)
    ours = polymodal.AutoTokenizer.from_pretrained(tmp_path)
    assert type(ours).__name__ == "BertJapaneseTokenizer"
    for text in TEXTS:
        assert ours.tokenize(text) == oracle.tokenize(text), text
    for options in (dict(padding=True), dict(padding="max_length", max_length=24, truncation=True),
                    dict(truncation="only_second", max_length=40)):
        # pairs of unequal lengths: on a tie longest_first trims the first text here (the Rust rule every fast
        # tokenizer follows) but the second in the slow reference
        pairs = TEXTS[1:] + TEXTS[:1]
        a, b = ours(TEXTS, pairs, **options), oracle(TEXTS, pairs, **options)
        for key in b.keys():
            assert a[key] == b[key], (key, options)
    ids = oracle(TEXTS)["input_ids"]
    assert ours.batch_decode(ids, skip_special_tokens=True) == oracle.batch_decode(ids, skip_special_tokens=True)
    # polymodal saves (vocab.txt + options), Transformers loads
    ours.save_pretrained(tmp_path / "ours")
    back = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "ours"))
    assert back(TEXTS, padding=True)["input_ids"] == ours(TEXTS, padding=True)["input_ids"]


def test_offsets_point_at_the_words(vocab_file):
    ours = polymodal.BertJapaneseTokenizer(vocab_file=str(vocab_file), word_tokenizer_type="mecab")
    text = TEXTS[0]
    enc = ours(text, return_offsets_mapping=True)
    for token, (start, end) in zip(enc.tokens(), enc["offset_mapping"], strict=True):
        if token not in ("[CLS]", "[SEP]", "[UNK]"):
            assert text[start:end] == token.removeprefix("##")


def test_unsupported_options_are_clear(vocab_file):
    with pytest.raises(polymodal.core.errors.ConfigError, match="sudachi"):
        polymodal.BertJapaneseTokenizer(vocab_file=str(vocab_file), word_tokenizer_type="sudachi")
    with pytest.raises(polymodal.core.errors.ConfigError, match="mecab_dic"):
        polymodal.BertJapaneseTokenizer(vocab_file=str(vocab_file), word_tokenizer_type="mecab",
                                        mecab_kwargs={"mecab_dic": "nope"})
