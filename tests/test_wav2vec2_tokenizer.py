"""Wav2Vec2CTCTokenizer and Wav2Vec2Processor against Transformers (the oracle).

Covers char-level encoding, greedy CTC decoding (grouping, blanks, special tokens, char and
word offsets), batch decoding, padding, the processor's audio/text/labels paths and
save/load in both directions.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")

from polymodal.core.errors import CheckpointError, InvalidInputError  # noqa: E402
from polymodal.models.auto import AutoProcessor, AutoTokenizer  # noqa: E402
from polymodal.models.wav2vec2.processing import Wav2Vec2Processor  # noqa: E402
from polymodal.models.wav2vec2.tokenization import Wav2Vec2CTCTokenizer, Wav2Vec2Tokenizer  # noqa: E402

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ'"
TEXTS = ["HELLO WORLD", "hello world", "HELLO <unk>AB C", "  A  B ", "", "<s>HI</s>", "Ü ÉA", "X|Y",
         "<pad><pad>A", "A SENTENCE WITH SEVERAL WORDS IN IT"]
DECODE_OPTIONS = [
    {}, {"skip_special_tokens": True}, {"group_tokens": False}, {"spaces_between_special_tokens": True},
    {"output_char_offsets": True}, {"output_word_offsets": True},
    {"output_char_offsets": True, "output_word_offsets": True, "skip_special_tokens": True},
    {"output_char_offsets": True, "group_tokens": False},
]


def write_vocab(folder) -> str:
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
    vocab.update({c: 5 + i for i, c in enumerate(LETTERS)})
    path = folder / "vocab.json"
    path.write_text(json.dumps(vocab))
    return str(path)


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    return write_vocab(tmp_path_factory.mktemp("w2v2-vocab"))


@pytest.fixture(scope="module", params=[{}, {"do_lower_case": True}], ids=["cased", "lower"])
def pair(request, vocab_file):
    return (Wav2Vec2CTCTokenizer(vocab_file, **request.param),
            transformers.Wav2Vec2CTCTokenizer(vocab_file, **request.param))


def _same_output(a, b):
    if isinstance(b, str) or isinstance(b, list) and (not b or isinstance(b[0], str)):
        assert a == b
        return
    assert a.text == b.text
    assert a.char_offsets == b.char_offsets
    assert a.word_offsets == b.word_offsets


# ------------------------------------------------------------------ encoding
@pytest.mark.parametrize("text", TEXTS)
def test_encoding_matches(pair, text):
    ours, oracle = pair
    assert dict(ours(text)) == dict(oracle(text))
    assert ours.tokenize(text) == oracle.tokenize(text)


@pytest.mark.parametrize("options", [
    dict(padding=True, return_tensors="pt"), dict(padding="max_length", max_length=40, return_tensors="np"),
    dict(truncation=True, max_length=3), dict(max_length=4), dict(padding=True, pad_to_multiple_of=8),
    dict(padding=True, padding_side="left", return_attention_mask=True),
])
def test_batch_encoding_matches(pair, options):
    ours, oracle = pair
    a, b = ours(TEXTS, **options), oracle(TEXTS, **options)
    assert sorted(a.keys()) == sorted(b.keys())
    for key in b.keys():
        assert type(a[key]) is type(b[key])
        if isinstance(b[key], list):
            assert a[key] == b[key], key
        else:
            assert np.array_equal(np.asarray(a[key]), np.asarray(b[key])), key


def test_vocabulary_attributes(pair):
    ours, oracle = pair
    assert ours.get_vocab() == oracle.get_vocab() and len(ours) == len(oracle)
    assert ours.vocab_size == oracle.vocab_size
    for name in ("pad_token_id", "unk_token_id", "bos_token_id", "eos_token_id", "word_delimiter_token_id",
                 "word_delimiter_token", "pad_token"):
        assert getattr(ours, name) == getattr(oracle, name), name
    assert ours.convert_tokens_to_ids(["A", "|", "?"]) == oracle.convert_tokens_to_ids(["A", "|", "?"])
    assert ours.convert_ids_to_tokens([5, 4, 99]) == oracle.convert_ids_to_tokens([5, 4, 99])
    assert Wav2Vec2Tokenizer is Wav2Vec2CTCTokenizer


# ------------------------------------------------------------------ CTC decoding
def test_random_decode_parity(pair):
    ours, oracle = pair
    rng = np.random.default_rng(0)
    for trial in range(120):
        high = 40 if trial % 3 == 0 else 12  # sometimes ids outside the vocabulary
        ids = rng.integers(0, high, size=int(rng.integers(0, 30))).tolist()
        for options in DECODE_OPTIONS:
            _same_output(ours.decode(ids, **options), oracle.decode(ids, **options))


def test_decode_accepts_tensors_and_arrays(pair):
    ours, oracle = pair
    ids = torch.tensor([0, 12, 12, 0, 9, 4, 4, 0, 16, 16, 19, 0, 12, 8])
    assert ours.decode(ids) == oracle.decode(ids) == ours.decode(ids.numpy())
    _same_output(ours.decode(ids, output_word_offsets=True), oracle.decode(ids, output_word_offsets=True))


def test_batch_decode_parity(pair):
    ours, oracle = pair
    rng = np.random.default_rng(1)
    logits_argmax = torch.from_numpy(rng.integers(0, 14, size=(7, 50)))  # (B, T) like logits.argmax(-1)
    for options in DECODE_OPTIONS:
        _same_output(ours.batch_decode(logits_argmax, **options), oracle.batch_decode(logits_argmax, **options))
    ragged = [[5, 5, 0, 6], [], [0, 0], [4, 7, 7, 4, 8]]
    for options in DECODE_OPTIONS:
        _same_output(ours.batch_decode(ragged, **options), oracle.batch_decode(ragged, **options))


def test_offsets_are_plain_ints(vocab_file):
    tok = Wav2Vec2CTCTokenizer(vocab_file)
    out = tok.decode([0, 12, 12, 9, 4, 0, 16], output_char_offsets=True, output_word_offsets=True)
    json.dumps({"c": out.char_offsets, "w": out.word_offsets})  # no numpy scalars inside
    assert out.text == "HE L" and out.word_offsets[0] == {"word": "HE", "start_offset": 1, "end_offset": 4}


def test_encode_then_decode_round_trips(vocab_file):
    tok = Wav2Vec2CTCTokenizer(vocab_file)
    for text in ("HELLO WORLD", "IT'S A TEST"):
        ids = tok(text)["input_ids"]
        assert tok.decode(ids, group_tokens=False) == text


# ------------------------------------------------------------------ save / load
def test_save_load_both_ways(vocab_file, tmp_path):
    ours = Wav2Vec2CTCTokenizer(vocab_file, do_lower_case=True, word_delimiter_token="|")
    ours.save_pretrained(tmp_path / "ours")
    oracle = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "ours"))
    assert type(oracle).__name__ == "Wav2Vec2CTCTokenizer" and oracle.do_lower_case
    for text in TEXTS:
        assert dict(oracle(text)) == dict(ours(text))
    oracle.save_pretrained(str(tmp_path / "theirs"))
    back = AutoTokenizer.from_pretrained(tmp_path / "theirs")
    assert isinstance(back, Wav2Vec2CTCTokenizer) and back.do_lower_case
    ids = [[0, 12, 12, 9, 4, 0, 16, 1, 2]]
    assert back.batch_decode(ids, skip_special_tokens=True) == oracle.batch_decode(ids, skip_special_tokens=True)
    for text in TEXTS:
        assert dict(back(text)) == dict(oracle(text))


def test_nested_multilingual_vocab(tmp_path):
    vocab = {"eng": {"<pad>": 0, "<unk>": 1, "|": 2, "A": 3, "B": 4},
             "fra": {"<pad>": 0, "<unk>": 1, "|": 2, "É": 3, "B": 4}}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    ours = Wav2Vec2CTCTokenizer(str(tmp_path / "vocab.json"), target_lang="eng")
    oracle = transformers.Wav2Vec2CTCTokenizer(str(tmp_path / "vocab.json"), target_lang="eng")
    assert ours("AB A")["input_ids"] == oracle("AB A")["input_ids"]
    ours.set_target_lang("fra")
    oracle.set_target_lang("fra")
    assert ours("ÉB")["input_ids"] == oracle("ÉB")["input_ids"]
    assert ours.decode([3, 3, 0, 4]) == oracle.decode([3, 3, 0, 4])
    with pytest.raises(InvalidInputError, match="deu"):
        ours.set_target_lang("deu")


# ------------------------------------------------------------------ bad input
def test_bad_tokenizer_input(vocab_file, tmp_path):
    with pytest.raises(CheckpointError, match="vocab.json"):
        Wav2Vec2CTCTokenizer.from_pretrained(tmp_path)
    (tmp_path / "vocab.json").write_text("{broken")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        Wav2Vec2CTCTokenizer.from_pretrained(tmp_path)
    (tmp_path / "vocab.json").write_text('{"A": "zero"}')
    with pytest.raises(CheckpointError, match="integer"):
        Wav2Vec2CTCTokenizer.from_pretrained(tmp_path)
    tok = Wav2Vec2CTCTokenizer(vocab_file)
    for bad in (42, None, [1, 2], b"AB"):
        with pytest.raises(InvalidInputError):
            tok(bad)
    with pytest.raises(InvalidInputError):
        tok.tokenize(3.5)


# ------------------------------------------------------------------ processor
@pytest.fixture(scope="module")
def processor_folder(vocab_file, tmp_path_factory):
    folder = tmp_path_factory.mktemp("w2v2-processor")
    fe = transformers.Wav2Vec2FeatureExtractor(return_attention_mask=True)
    transformers.Wav2Vec2Processor(fe, transformers.Wav2Vec2CTCTokenizer(vocab_file)).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def audio():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(n).astype(np.float32) for n in (1600, 800, 1203)]


def test_processor_parity(processor_folder, audio):
    ours = Wav2Vec2Processor.from_pretrained(processor_folder)
    oracle = transformers.Wav2Vec2Processor.from_pretrained(str(processor_folder))
    assert ours.feature_extractor.return_attention_mask is True
    texts = ["HELLO WORLD", "HI", "A LONGER TRANSCRIPT"]
    cases = [
        ((audio,), dict(sampling_rate=16000, padding=True, return_tensors="pt")),
        ((audio[0],), dict(sampling_rate=16000, return_tensors="np")),
        ((), dict(text=texts, padding=True, return_tensors="pt")),
        ((audio,), dict(sampling_rate=16000, text=texts, padding=True, return_tensors="pt")),
    ]
    for args, kwargs in cases:
        a, b = ours(*args, **kwargs), oracle(*args, **kwargs)
        assert sorted(a.keys()) == sorted(b.keys())
        for key in b.keys():
            assert np.allclose(np.asarray(a[key]), np.asarray(b[key]), atol=1e-5), key
    assert ours.model_input_names == oracle.model_input_names


def test_processor_pad_parity(processor_folder, audio):
    ours = Wav2Vec2Processor.from_pretrained(processor_folder)
    oracle = transformers.Wav2Vec2Processor.from_pretrained(str(processor_folder))
    features = [{"input_values": x} for x in audio]
    labels = [{"input_ids": oracle.tokenizer(t)["input_ids"]} for t in ("HELLO", "A", "WORLD WIDE")]
    for a, b in ((ours.pad(features, return_tensors="pt"), oracle.pad(features, return_tensors="pt")),
                 (ours.pad(labels=labels, return_tensors="pt"), oracle.pad(labels=labels, return_tensors="pt")),
                 (ours.pad(input_features=features, labels=labels, return_tensors="pt"),
                  oracle.pad(input_features=features, labels=labels, return_tensors="pt"))):
        assert sorted(a.keys()) == sorted(b.keys())
        for key in b.keys():
            assert torch.allclose(a[key].double(), b[key].double(), atol=1e-6), key
    # the CTC-collator idiom: pad with -100 where the mask is 0
    batch = ours.pad(labels=labels, padding=True, return_tensors="pt")
    masked = batch["input_ids"].masked_fill(batch.attention_mask.ne(1), -100)
    assert (masked == -100).sum() == batch["attention_mask"].eq(0).sum()


def test_processor_decode_forwards(processor_folder):
    ours = Wav2Vec2Processor.from_pretrained(processor_folder)
    oracle = transformers.Wav2Vec2Processor.from_pretrained(str(processor_folder))
    ids = torch.tensor([[0, 12, 12, 9, 4, 0, 16], [5, 5, 5, 0, 6, 6, 0]])
    assert ours.batch_decode(ids) == oracle.batch_decode(ids)
    assert ours.decode(ids[0]) == oracle.decode(ids[0])
    _same_output(ours.batch_decode(ids, output_word_offsets=True), oracle.batch_decode(ids, output_word_offsets=True))


def test_processor_save_load_both_ways(processor_folder, audio, tmp_path):
    ours = Wav2Vec2Processor.from_pretrained(processor_folder)
    ours.save_pretrained(tmp_path / "ours")
    saved = json.loads((tmp_path / "ours" / "processor_config.json").read_text())
    assert saved["processor_class"] == "Wav2Vec2Processor" and "feature_extractor" in saved
    assert json.loads((tmp_path / "ours" / "tokenizer_config.json").read_text())["processor_class"] == "Wav2Vec2Processor"
    oracle = transformers.AutoProcessor.from_pretrained(str(tmp_path / "ours"))
    assert type(oracle).__name__ == "Wav2Vec2Processor"
    a = oracle(audio, sampling_rate=16000, text=["AB", "C", "D E"], padding=True, return_tensors="pt")
    b = ours(audio, sampling_rate=16000, text=["AB", "C", "D E"], padding=True, return_tensors="pt")
    for key in a.keys():
        assert torch.allclose(a[key].double(), b[key].double(), atol=1e-5), key
    oracle.save_pretrained(str(tmp_path / "theirs"))
    back = AutoProcessor.from_pretrained(tmp_path / "theirs")
    assert isinstance(back, Wav2Vec2Processor)
    assert back.feature_extractor.to_dict() == ours.feature_extractor.to_dict()
    assert back.tokenizer.get_vocab() == ours.tokenizer.get_vocab()


def test_as_target_processor_legacy(processor_folder):
    ours = Wav2Vec2Processor.from_pretrained(processor_folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with ours.as_target_processor():
            labels = ours(["HELLO", "HI"], padding=True)
    assert labels["input_ids"] == ours.tokenizer(["HELLO", "HI"], padding=True)["input_ids"]
    assert ours.current_processor is ours.feature_extractor


def test_processor_bad_input(processor_folder, tmp_path):
    ours = Wav2Vec2Processor.from_pretrained(processor_folder)
    with pytest.raises(InvalidInputError, match="audio"):
        ours()
    with pytest.raises(InvalidInputError):
        ours(text=123)
    with pytest.raises(InvalidInputError, match="labels"):
        ours.pad()
    with pytest.raises(InvalidInputError, match="tokenizer"):
        Wav2Vec2Processor(feature_extractor=ours.feature_extractor)
    with pytest.raises(CheckpointError):
        Wav2Vec2Processor.from_pretrained(tmp_path)  # empty folder
