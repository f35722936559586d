"""BERTweet, CPM, BARThez and BARTpho tokenizers against Transformers on tiny files trained here.

Ids, masks, pairs, padding, truncation, decoding and vocabularies are compared on a multilingual
set (accents, CJK, Devanagari, Vietnamese, emoji, URLs, long input); both save/load directions
and AutoTokenizer (``tokenizer_class`` in tokenizer_config.json) are checked too.
"""

from __future__ import annotations

import sys

import pytest
import transformers
from extra_tokenizer_files import (
    CHINESE,
    TEXTS,
    TWEETS,
    VIETNAMESE,
    write_barthez_files,
    write_bartpho_files,
    write_bertweet_files,
    write_cpm_files,
)

from polymodal import AutoTokenizer
from polymodal.core.errors import CheckpointError, InvalidInputError
from polymodal.models.barthez.tokenization import BarthezTokenizer
from polymodal.models.bartpho.tokenization import BartphoTokenizer
from polymodal.models.bertweet.tokenization import BertweetTokenizer
from polymodal.models.cpm.tokenization import CpmTokenizer

SPECIAL_TEXTS = ["a <mask> token and </s> inside <s> plus <pad>", "<mask>", "x<mask>y", "Xin chào <mask> bạn"]


def assert_same(ours, theirs, texts=TEXTS, pairs=True):
    """Equal ids/masks alone, batched with padding, truncated, as pairs, and equal decoding."""
    assert len(ours) == len(theirs) and ours.vocab_size == theirs.vocab_size
    assert ours.get_vocab() == theirs.get_vocab()
    for text in texts:
        a, b = ours(text), theirs(text)
        assert a["input_ids"] == b["input_ids"], text
        assert a["attention_mask"] == b["attention_mask"], text
        assert ours.convert_ids_to_tokens(a["input_ids"]) == theirs.convert_ids_to_tokens(a["input_ids"])
        for skip in (False, True):
            assert ours.decode(a["input_ids"], skip_special_tokens=skip) == theirs.decode(
                a["input_ids"], skip_special_tokens=skip), text
    batch = dict(padding=True, truncation=True, max_length=12)
    a, b = ours(texts, **batch), theirs(texts, **batch)
    assert a["input_ids"] == b["input_ids"] and a["attention_mask"] == b["attention_mask"]
    a, b = ours(texts, padding="max_length", max_length=90, truncation=True), theirs(
        texts, padding="max_length", max_length=90, truncation=True)
    assert a["input_ids"] == b["input_ids"]
    if pairs:
        firsts, seconds = texts[:-1], texts[1:]
        for kwargs in ({}, {"truncation": "only_second", "max_length": 60}, {"truncation": True, "max_length": 30}):
            a, b = ours(firsts[:6], seconds[:6], **kwargs), theirs(firsts[:6], seconds[:6], **kwargs)
            assert a["input_ids"] == b["input_ids"], kwargs
            assert a.get("token_type_ids") == b.get("token_type_ids")
        a = ours(firsts[0], seconds[0], return_token_type_ids=True, return_special_tokens_mask=True)
        b = theirs(firsts[0], seconds[0], return_token_type_ids=True, return_special_tokens_mask=True)
        assert a["token_type_ids"] == b["token_type_ids"]
        assert a["special_tokens_mask"] == b["special_tokens_mask"]
    ids = ours(texts[:6])["input_ids"]
    assert ours.batch_decode(ids, skip_special_tokens=True) == theirs.batch_decode(ids, skip_special_tokens=True)


def assert_round_trips(ours, folder, texts=TEXTS, **kwargs):
    """What polymodal saves, Transformers loads (through its AutoTokenizer) with equal ids, and back."""
    ours.save_pretrained(folder)
    theirs = transformers.AutoTokenizer.from_pretrained(folder, **kwargs)
    again = AutoTokenizer.from_pretrained(folder, **kwargs)
    assert type(again) is type(ours)
    for text in texts:
        assert ours(text)["input_ids"] == theirs(text)["input_ids"] == again(text)["input_ids"], text


# ---------------------------------------------------------------------------------------- BERTweet
@pytest.fixture(scope="module")
def bertweet_dir(tmp_path_factory):
    return write_bertweet_files(tmp_path_factory.mktemp("bertweet"))


def _hf_bertweet(folder, **kwargs):
    return transformers.BertweetTokenizer(str(folder / "vocab.txt"), str(folder / "bpe.codes"), **kwargs)


@pytest.mark.parametrize("normalization", [False, True])
def test_bertweet_matches_transformers(bertweet_dir, normalization):
    ours = BertweetTokenizer.from_pretrained(bertweet_dir, normalization=normalization)
    theirs = _hf_bertweet(bertweet_dir, normalization=normalization)
    assert_same(ours, theirs)
    assert_same(ours, theirs, texts=SPECIAL_TEXTS, pairs=False)
    vocab = theirs.get_vocab()
    for tweet in TWEETS:  # a piece outside the vocabulary reads "<unk>" here, its text there
        expected = theirs.tokenize(tweet)
        assert ours.tokenize(tweet) == [t if t in vocab else "<unk>" for t in expected]
    words = [["@user", "loves", "😀", "https://x.co"], ["naïve", "日本"]]
    a = ours(words, is_split_into_words=True, padding=True)
    assert a["input_ids"] == theirs(words, is_split_into_words=True, padding=True)["input_ids"]


def test_bertweet_normalisation_steps(bertweet_dir):
    from polymodal.models.bertweet.tweet_normalization import normalize_tweet

    out = normalize_tweet("@remy I can't… see https://t.co/x 😂 &amp; www.a.com it's ok")
    assert out == "@USER I can't ... see HTTPURL :face_with_tears_of_joy: & HTTPURL it 's ok"
    theirs = _hf_bertweet(bertweet_dir, normalization=True)
    for tweet in TWEETS:
        assert normalize_tweet(tweet) == theirs.normalizeTweet(tweet), tweet
    assert BertweetTokenizer.from_pretrained(bertweet_dir).normalizeTweet(TWEETS[0]) == theirs.normalizeTweet(TWEETS[0])


def test_bertweet_saves_what_transformers_loads(bertweet_dir, tmp_path):
    ours = BertweetTokenizer.from_pretrained(bertweet_dir, normalization=True)
    assert_round_trips(ours, tmp_path)
    _hf_bertweet(bertweet_dir, normalization=True).save_pretrained(tmp_path / "hf")
    # Transformers' own bpe.codes loses the merges' right sides (it writes no count); both readers agree.
    loaded = AutoTokenizer.from_pretrained(tmp_path / "hf")
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert isinstance(loaded, BertweetTokenizer) and loaded.normalization
    for text in TWEETS:
        assert loaded(text)["input_ids"] == theirs(text)["input_ids"]


def test_auto_tokenizer_reads_config_json_tokenizer_class(bertweet_dir, tmp_path):
    """BERTweet's checkpoint names its tokenizer in config.json (model_type roberta), as Transformers reads it."""
    import json
    import shutil

    for name in ("vocab.txt", "bpe.codes"):
        shutil.copy(bertweet_dir / name, tmp_path / name)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "roberta", "tokenizer_class": "BertweetTokenizer"}))
    ours, theirs = AutoTokenizer.from_pretrained(tmp_path), transformers.AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(ours, BertweetTokenizer) and type(theirs).__name__ == "BertweetTokenizer"
    assert ours(TWEETS)["input_ids"] == theirs(TWEETS)["input_ids"]


def test_bertweet_errors(bertweet_dir, monkeypatch):
    ours = BertweetTokenizer.from_pretrained(bertweet_dir, normalization=True)
    with pytest.raises(InvalidInputError, match="normalization=False"):
        ours("hi @you", return_offsets_mapping=True)
    plain = BertweetTokenizer.from_pretrained(bertweet_dir)
    assert len(plain("hi @you", return_offsets_mapping=True)["offset_mapping"]) == len(plain("hi @you")["input_ids"])
    monkeypatch.setitem(sys.modules, "emoji", None)
    with pytest.raises(ImportError, match=r"polymodal\[bertweet\]"):
        BertweetTokenizer.from_pretrained(bertweet_dir, normalization=True)
    bad = bertweet_dir.parent / "bad_bertweet"
    bad.mkdir()
    (bad / "vocab.txt").write_text("nospace\n")
    (bad / "bpe.codes").write_text("")
    with pytest.raises(CheckpointError, match="line 1"):
        BertweetTokenizer.from_pretrained(bad)


# --------------------------------------------------------------------------------------------- CPM
@pytest.fixture(scope="module")
def cpm_dir(tmp_path_factory):
    pytest.importorskip("rjieba")  # Transformers' CpmTokenizer imports it
    return write_cpm_files(tmp_path_factory.mktemp("cpm"))


def test_cpm_matches_transformers(cpm_dir):
    theirs = transformers.CpmTokenizer(str(cpm_dir / "spiece.model"))
    ours = CpmTokenizer(vocab_file=str(cpm_dir / "spiece.model"))
    assert_same(ours, theirs)
    assert_same(ours, theirs, texts=["你好<sep>世界", "a <mask> b <eod> c<eop>"], pairs=False)
    padded = dict(padding="max_length", max_length=40, return_token_type_ids=True)
    assert ours(CHINESE, **padded)["token_type_ids"] == theirs(CHINESE, **padded)["token_type_ids"]
    offsets = ours(CHINESE[0], return_offsets_mapping=True)["offset_mapping"]
    assert len(offsets) == len(ours(CHINESE[0])["input_ids"])


def test_cpm_jieba_segmentation_is_cpms_training_form(cpm_dir):
    import rjieba

    ours = CpmTokenizer(vocab_file=str(cpm_dir / "spiece.model"), jieba_segmentation=True)
    theirs = transformers.CpmTokenizer(str(cpm_dir / "spiece.model"))
    table = str.maketrans(" \n", "\u2582\u2583")
    for text in CHINESE + VIETNAMESE[:2]:
        segmented = " ".join(w.translate(table) for w in rjieba.cut(text, False))
        ids = ours(text)["input_ids"]
        assert ids == theirs(segmented)["input_ids"], text
        assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)
    assert ours.decode(ours("你好 世界\n第二行")["input_ids"], skip_special_tokens=True) == "你好 世界\n第二行"
    with pytest.raises(InvalidInputError, match="offsets"):
        ours("你好", return_offsets_mapping=True)


def test_cpm_round_trip_and_auto(cpm_dir, tmp_path):
    ours = CpmTokenizer(vocab_file=str(cpm_dir / "spiece.model"))
    assert_round_trips(ours, tmp_path / "ours", texts=CHINESE + TEXTS[:5])
    transformers.CpmTokenizer(str(cpm_dir / "spiece.model")).save_pretrained(tmp_path / "hf")
    assert isinstance(AutoTokenizer.from_pretrained(tmp_path / "hf"), CpmTokenizer)


def test_cpm_needs_rjieba_only_for_segmentation(cpm_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "rjieba", None)
    assert CpmTokenizer(vocab_file=str(cpm_dir / "spiece.model"))("你好")["input_ids"]
    with pytest.raises(ImportError, match=r"polymodal\[cpm\]"):
        CpmTokenizer(vocab_file=str(cpm_dir / "spiece.model"), jieba_segmentation=True)


# ----------------------------------------------------------------------------------------- BARThez
@pytest.fixture(scope="module")
def barthez_dir(tmp_path_factory):
    return write_barthez_files(tmp_path_factory.mktemp("barthez"))


def test_barthez_from_sentencepiece_model(barthez_dir):
    theirs = transformers.BarthezTokenizer.from_pretrained(barthez_dir)
    ours = BarthezTokenizer.from_pretrained(barthez_dir)
    assert_same(ours, theirs)
    assert_same(ours, theirs, texts=SPECIAL_TEXTS, pairs=False)
    a, b = ours(TEXTS, return_offsets_mapping=True), theirs(TEXTS, return_offsets_mapping=True)
    assert a["offset_mapping"] == b["offset_mapping"]


def test_barthez_with_checkpoint_template(barthez_dir, tmp_path):
    """A BARThez checkpoint's tokenizer.json adds ``<s> A </s>`` / ``<s> A </s></s> B </s>``."""
    from tokenizers import processors

    hf = transformers.BarthezTokenizer.from_pretrained(barthez_dir)
    bos, eos = hf.convert_tokens_to_ids("<s>"), hf.convert_tokens_to_ids("</s>")
    hf.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)])
    hf.save_pretrained(tmp_path / "hf")
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    ours = AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert isinstance(ours, BarthezTokenizer)
    assert ours("salut")["input_ids"][0] == bos
    assert_same(ours, theirs)
    assert_round_trips(ours, tmp_path / "ours")


def test_barthez_add_bos_eos_switches(barthez_dir):
    kwargs = {"add_bos_token": True, "add_eos_token": True}
    theirs = transformers.BarthezTokenizer.from_pretrained(barthez_dir, **kwargs)
    ours = BarthezTokenizer.from_pretrained(barthez_dir, **kwargs)
    assert_same(ours, theirs, texts=TEXTS[:6])


# ----------------------------------------------------------------------------------------- BARTpho
@pytest.fixture(scope="module")
def bartpho_dir(tmp_path_factory):
    return write_bartpho_files(tmp_path_factory.mktemp("bartpho"))


def test_bartpho_matches_transformers(bartpho_dir):
    theirs = transformers.BartphoTokenizer.from_pretrained(bartpho_dir)
    ours = BartphoTokenizer.from_pretrained(bartpho_dir)
    assert_same(ours, theirs, texts=TEXTS + VIETNAMESE)
    assert_same(ours, theirs, texts=SPECIAL_TEXTS, pairs=False)
    assert ours.unk_token_id in ours(TEXTS[0])["input_ids"]  # pieces outside dict.txt are <unk>
    encoded = ours(VIETNAMESE[0], return_offsets_mapping=True, add_special_tokens=False)
    for token, (start, end) in zip(ours.convert_ids_to_tokens(encoded["input_ids"]), encoded["offset_mapping"]):
        if token not in ("▁", "<unk>"):  # a lone "▁" points at the next character, as in fast XLM-R
            assert VIETNAMESE[0][start:end] == token.lstrip("▁")


def test_bartpho_round_trip_and_errors(bartpho_dir, tmp_path):
    ours = BartphoTokenizer.from_pretrained(bartpho_dir)
    assert_round_trips(ours, tmp_path / "ours", texts=VIETNAMESE + TEXTS[:5])
    (tmp_path / "no_dict").mkdir()
    (tmp_path / "no_dict" / "sentencepiece.bpe.model").write_bytes((bartpho_dir / "sentencepiece.bpe.model").read_bytes())
    with pytest.raises(CheckpointError, match="dict.txt"):
        BartphoTokenizer.from_pretrained(tmp_path / "no_dict")
    import io

    import sentencepiece as spm

    model = io.BytesIO()  # a sentencepiece BPE model: named as such, not misread as unigram
    spm.SentencePieceTrainer.train(sentence_iterator=iter(VIETNAMESE * 5), model_writer=model, vocab_size=90,
                                   model_type="bpe", hard_vocab_limit=False, minloglevel=2)
    (tmp_path / "no_dict" / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    (tmp_path / "no_dict" / "dict.txt").write_text("a 1\n")
    with pytest.raises(CheckpointError, match="bpe model"):
        BartphoTokenizer.from_pretrained(tmp_path / "no_dict")


def test_python_best_path_equals_sentencepiece(bartpho_dir, cpm_dir, monkeypatch):
    """Without the sentencepiece package the pieces come from our own float32 Viterbi: same ids."""
    import polymodal.text.sentencepiece_split as split

    native = [BartphoTokenizer.from_pretrained(bartpho_dir), CpmTokenizer(vocab_file=str(cpm_dir / "spiece.model"))]
    monkeypatch.setattr(split, "_native_processor", lambda model_bytes: None)
    python = [BartphoTokenizer.from_pretrained(bartpho_dir), CpmTokenizer(vocab_file=str(cpm_dir / "spiece.model"))]
    texts = [*TEXTS, *VIETNAMESE, "555 5555 (555) 1,234,567, 12,", "Thai ภาษาไทย ☃☃ x"]
    for ours, reference in zip(python, native):
        assert ours(texts)["input_ids"] == reference(texts)["input_ids"]


def test_sentencepiece_tokenizers_pickle_and_copy(bartpho_dir, cpm_dir):
    import copy
    import pickle

    for ours in (BartphoTokenizer.from_pretrained(bartpho_dir),
                 CpmTokenizer(vocab_file=str(cpm_dir / "spiece.model"), jieba_segmentation=True)):
        for again in (pickle.loads(pickle.dumps(ours)), copy.deepcopy(ours)):
            assert again(TEXTS, padding=True)["input_ids"] == ours(TEXTS, padding=True)["input_ids"]
        assert ours(TEXTS[:2])["input_ids"]  # the original still works after being pickled
