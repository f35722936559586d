"""Tokenizer features the text tasks rely on, against Transformers on a multilingual text set.

Question-answering style calls (``truncation="only_second"``, ``stride``,
``return_overflowing_tokens``, ``return_offsets_mapping``), ``sequence_ids()``/``word_ids()``,
pairs and ``padding="max_length"`` for every encoder family's tokenizer, loaded from legacy
files and from ``tokenizer.json``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")

from tokenizer_helpers import LONG_TEXT, SENTENCES, WRITERS  # noqa: E402

import polymodal  # noqa: E402
from polymodal.core.errors import InvalidInputError  # noqa: E402

FAMILIES = {  # name -> (class name, legacy-file writer)
    "bert": ("BertTokenizer", "bert"),
    "distilbert": ("DistilBertTokenizer", "bert"),
    "roberta": ("RobertaTokenizer", "roberta"),
    "xlm-roberta": ("XLMRobertaTokenizer", "xlm-roberta"),
    "camembert": ("CamembertTokenizer", "xlm-roberta"),
    "albert": ("AlbertTokenizer", "albert"),
    "deberta": ("DebertaTokenizer", "roberta"),
    "deberta-v2": ("DebertaV2Tokenizer", "deberta-v2"),
}
JAPANESE = "東京は日本の首都です。富士山は静岡県と山梨県にまたがっています。"
QUESTIONS = ["What is the capital?", "Où est le café ?", "富士山はどこ？", "Who ❤️ pizza?"]
CONTEXTS = [LONG_TEXT, "Le café est dans la rue, à côté de la gare. " * 6, JAPANESE * 3,
            "I ❤️ 🍕 pizza and 🐱 cats!!! 🎉 " * 5]


def _write(writer: str, folder):
    return WRITERS[writer](folder)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    out = {}
    for name, (class_name, writer) in FAMILIES.items():
        legacy = _write(writer, tmp_path_factory.mktemp(f"{name}-legacy"))
        as_json = tmp_path_factory.mktemp(f"{name}-json")
        getattr(transformers, class_name).from_pretrained(str(legacy)).save_pretrained(str(as_json))
        out[name] = {"legacy": legacy, "json": as_json}
    return out


@pytest.fixture(scope="module", params=[(f, s) for f in FAMILIES for s in ("legacy", "json")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def pair(request, folders):
    name, source = request.param
    class_name = FAMILIES[name][0]
    folder = str(folders[name][source])
    return getattr(polymodal, class_name).from_pretrained(folder), getattr(transformers, class_name).from_pretrained(folder)


def _same(a, b):
    assert sorted(a.keys()) == sorted(b.keys())
    for key in b.keys():
        x, y = a[key], b[key]
        if isinstance(y, torch.Tensor):
            assert torch.equal(x, y), key
        elif isinstance(y, np.ndarray):
            assert np.array_equal(x, y), key
        else:
            assert x == y, key


def test_vocab_and_specials_match(pair):
    ours, oracle = pair
    assert ours.get_vocab() == oracle.get_vocab()
    assert ours.all_special_tokens == oracle.all_special_tokens
    assert ours.model_input_names == oracle.model_input_names


def test_multilingual_texts_with_offsets(pair):
    ours, oracle = pair
    texts = [*SENTENCES, JAPANESE, LONG_TEXT]
    options = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
    a, b = ours(texts, **options), oracle(texts, **options)
    _same(a, b)
    for i in range(len(texts)):
        assert a.word_ids(i) == b.word_ids(i)
        assert a.sequence_ids(i) == b.sequence_ids(i)
        assert a.tokens(i) == b.tokens(i)


@pytest.mark.parametrize("max_length,stride", [(32, 8), (48, 16)])
def test_question_answering_windows(pair, max_length, stride):
    ours, oracle = pair
    options = dict(truncation="only_second", max_length=max_length, stride=stride, return_overflowing_tokens=True,
                   return_offsets_mapping=True, padding="max_length")
    a, b = ours(QUESTIONS, CONTEXTS, **options), oracle(QUESTIONS, CONTEXTS, **options)
    _same(a, b)
    assert len(a["input_ids"]) > len(QUESTIONS)  # long contexts were split into windows
    for i in range(len(a["input_ids"])):
        assert a.sequence_ids(i) == b.sequence_ids(i)
        assert a.word_ids(i) == b.word_ids(i)
    tensors = dict(options, return_tensors="pt")
    _same(ours(QUESTIONS, CONTEXTS, **tensors), oracle(QUESTIONS, CONTEXTS, **tensors))


def test_pairs_and_max_length_padding(pair):
    ours, oracle = pair
    for options in (dict(padding="max_length", max_length=40, truncation=True, return_tensors="pt"),
                    dict(truncation="longest_first", max_length=16, return_offsets_mapping=True),
                    dict(truncation="only_second", max_length=24, padding=True, return_tensors="np")):
        _same(ours(QUESTIONS, CONTEXTS, **options), oracle(QUESTIONS, CONTEXTS, **options))
    _same(ours(QUESTIONS[0], CONTEXTS[1]), oracle(QUESTIONS[0], CONTEXTS[1]))


def test_decode_round_trip(pair):
    ours, oracle = pair
    ids = oracle(SENTENCES, padding=True)["input_ids"]
    assert ours.batch_decode(ids, skip_special_tokens=True) == oracle.batch_decode(ids, skip_special_tokens=True)


def test_save_and_reload_both_ways(pair, tmp_path):
    ours, oracle = pair
    ours.save_pretrained(tmp_path / "ours")
    back = type(oracle).from_pretrained(str(tmp_path / "ours"))
    _same(ours(SENTENCES, padding=True), back(SENTENCES, padding=True))


def test_wrong_pair_shape_is_a_clear_error(pair):
    ours, _ = pair
    with pytest.raises(InvalidInputError, match="text_pair"):
        ours(QUESTIONS, CONTEXTS[:2])
    with pytest.raises(InvalidInputError, match="text_pair"):
        ours(QUESTIONS, "one context for four questions")


def test_stride_too_large_for_the_question_is_a_clear_error(pair):
    ours, _ = pair
    with pytest.raises(InvalidInputError, match="stride"):
        ours("a very long question " * 6, CONTEXTS[0], truncation="only_second", max_length=24, stride=20,
             return_overflowing_tokens=True)
