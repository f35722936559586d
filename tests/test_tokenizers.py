"""Tokenizer parity with Transformers' fast tokenizers (the oracle) on tiny trained vocabularies.

Every family is loaded two ways — from its legacy files (vocab.json+merges.txt, vocab.txt,
sentencepiece.bpe.model) and from a tokenizer.json checkpoint — and compared with
Transformers on a multilingual sentence set, every padding/truncation mode, tensors,
pairs and decoding; then saved by each library and loaded by the other.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")

from tokenizer_helpers import LONG_TEXT, SENTENCES, WRITERS  # noqa: E402

from polymodal.core.errors import CheckpointError, ConfigError, InvalidInputError  # noqa: E402
from polymodal.models.auto import AutoTokenizer  # noqa: E402
from polymodal.text import tokenizers as P  # noqa: E402
from polymodal.text.base import BatchEncoding  # noqa: E402

FAMILIES = {
    "clip": (P.CLIPTokenizer, transformers.CLIPTokenizer),
    "bert": (P.BertTokenizer, transformers.BertTokenizer),
    "xlm-roberta": (P.XLMRobertaTokenizer, transformers.XLMRobertaTokenizer),
    "roberta": (P.RobertaTokenizer, transformers.RobertaTokenizer),
}
ALL_TEXTS = SENTENCES + [LONG_TEXT]
PAIRS = [("A photo of a cat.", "a dog"), ("안녕하세요", "Café déjà vu"), ("", "only the second"), (LONG_TEXT, "short")]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """family -> {"legacy": folder with the legacy files, "json": folder with tokenizer.json}."""
    out = {}
    for family, (_, oracle_cls) in FAMILIES.items():
        legacy = WRITERS[family](tmp_path_factory.mktemp(f"{family}-legacy"))
        as_json = tmp_path_factory.mktemp(f"{family}-json")
        oracle_cls.from_pretrained(str(legacy)).save_pretrained(str(as_json))
        assert (as_json / "tokenizer.json").is_file()
        out[family] = {"legacy": legacy, "json": as_json}
    return out


@pytest.fixture(scope="module", params=[(f, s) for f in FAMILIES for s in ("legacy", "json")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def pair(request, folders):
    family, source = request.param
    ours_cls, oracle_cls = FAMILIES[family]
    folder = str(folders[family][source])
    return family, ours_cls.from_pretrained(folder), oracle_cls.from_pretrained(folder)


def _same(a, b):
    assert sorted(a.keys()) == sorted(b.keys())
    for key in b.keys():
        x, y = a[key], b[key]
        if isinstance(y, torch.Tensor):
            assert isinstance(x, torch.Tensor) and x.dtype == y.dtype and torch.equal(x, y), key
        elif isinstance(y, np.ndarray):
            assert isinstance(x, np.ndarray) and x.dtype == y.dtype and np.array_equal(x, y), key
        else:
            assert x == y, key


# ------------------------------------------------------------------ encoding parity
def test_vocabulary_and_special_tokens(pair):
    _, ours, oracle = pair
    assert len(ours) == len(oracle) and ours.vocab_size == oracle.vocab_size
    assert ours.get_vocab() == oracle.get_vocab()
    assert ours.special_tokens_map == oracle.special_tokens_map
    assert ours.all_special_ids == oracle.all_special_ids
    for name in ("bos", "eos", "unk", "sep", "pad", "cls", "mask"):
        assert getattr(ours, f"{name}_token") == getattr(oracle, f"{name}_token")
        assert getattr(ours, f"{name}_token_id") == getattr(oracle, f"{name}_token_id")
    assert ours.model_input_names == oracle.model_input_names
    assert ours.num_special_tokens_to_add() == oracle.num_special_tokens_to_add()
    assert ours.num_special_tokens_to_add(pair=True) == oracle.num_special_tokens_to_add(pair=True)


@pytest.mark.parametrize("text", ALL_TEXTS, ids=range(len(ALL_TEXTS)))
def test_single_text_matches(pair, text):
    _, ours, oracle = pair
    _same(ours(text), oracle(text))
    assert ours.tokenize(text) == oracle.tokenize(text)
    assert ours.encode(text, add_special_tokens=False) == oracle.encode(text, add_special_tokens=False)


@pytest.mark.parametrize("options", [
    dict(padding=True),
    dict(padding="longest", return_tensors="pt"),
    dict(padding="max_length", max_length=24, truncation=True, return_tensors="np"),
    dict(padding="max_length", max_length=9, truncation=True, return_tensors="pt"),
    dict(truncation=True, max_length=7),
    dict(max_length=5),
    dict(padding=True, pad_to_multiple_of=8, return_tensors="pt"),
    dict(padding=True, padding_side="left", return_tensors="pt"),
    dict(padding=True, return_attention_mask=False, return_tensors="np"),
    dict(padding=True, return_token_type_ids=True, return_tensors="pt"),
    dict(padding=True, add_special_tokens=False, return_tensors="pt"),
    dict(padding=True, truncation="only_first", max_length=10, return_tensors="pt"),
    dict(return_length=True, return_special_tokens_mask=True, return_offsets_mapping=True),
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_batch_options_match(pair, options):
    _, ours, oracle = pair
    _same(ours(ALL_TEXTS, **options), oracle(ALL_TEXTS, **options))


def test_pairs_match(pair):
    _, ours, oracle = pair
    first, second = [p[0] for p in PAIRS], [p[1] for p in PAIRS]
    for options in (dict(), dict(padding=True, return_tensors="pt"),
                    dict(padding="max_length", truncation=True, max_length=20, return_tensors="pt"),
                    dict(truncation=True, max_length=12, padding=True)):
        _same(ours(first, second, **options), oracle(first, second, **options))
    # only_second cannot shorten a pair whose first text alone is too long: both libraries refuse
    room = max(len(ours.encode(f, add_special_tokens=False)) for f in first[:2]) + ours.num_special_tokens_to_add(True)
    short = dict(truncation="only_second", max_length=room + 2, padding=True, return_tensors="pt")
    _same(ours(first[:2], second[:2], **short), oracle(first[:2], second[:2], **short))
    _same(ours("a photo", "of a cat"), oracle("a photo", "of a cat"))


def test_model_max_length_drives_truncation(folders):
    for family, (ours_cls, oracle_cls) in FAMILIES.items():
        folder = str(folders[family]["json"])
        ours = ours_cls.from_pretrained(folder, model_max_length=12)
        oracle = oracle_cls.from_pretrained(folder, model_max_length=12)
        assert ours.model_max_length == 12
        _same(ours(ALL_TEXTS, truncation=True, padding="max_length", return_tensors="pt"),
              oracle(ALL_TEXTS, truncation=True, padding="max_length", return_tensors="pt"))


def test_split_into_words_matches(pair):
    _, ours, oracle = pair
    words = [["a", "photo", "of", "a", "cat"], ["Café", "안녕"]]
    _same(ours(words, is_split_into_words=True, padding=True), oracle(words, is_split_into_words=True, padding=True))


# ------------------------------------------------------------------ decoding parity
def test_decode_matches(pair):
    _, ours, oracle = pair
    batch = oracle(ALL_TEXTS, padding=True, return_tensors="pt")["input_ids"]
    for skip in (False, True):
        assert ours.batch_decode(batch, skip_special_tokens=skip) == oracle.batch_decode(batch, skip_special_tokens=skip)
        assert ours.decode(batch[3], skip_special_tokens=skip) == oracle.decode(batch[3], skip_special_tokens=skip)
        assert ours.decode(batch.numpy(), skip_special_tokens=skip) == oracle.decode(batch.numpy(), skip_special_tokens=skip)
    ids = batch[2].tolist()
    assert ours.convert_ids_to_tokens(ids) == oracle.convert_ids_to_tokens(ids)
    assert ours.convert_ids_to_tokens(ids, skip_special_tokens=True) == oracle.convert_ids_to_tokens(ids, skip_special_tokens=True)
    tokens = oracle.convert_ids_to_tokens(ids)
    assert ours.convert_tokens_to_ids(tokens + ["not-a-token-xyz"]) == oracle.convert_tokens_to_ids(tokens + ["not-a-token-xyz"])
    assert ours.convert_tokens_to_string(tokens) == oracle.convert_tokens_to_string(tokens)
    assert ours.decode(ids[0]) == oracle.decode(ids[0])


def test_pad_matches(pair):
    _, ours, oracle = pair
    examples = [dict(oracle(t)) for t in ALL_TEXTS[:5]]
    for options in (dict(), dict(return_tensors="pt"), dict(padding="max_length", max_length=64, return_tensors="np"),
                    dict(pad_to_multiple_of=16, return_tensors="pt"), dict(padding_side="left")):
        _same(ours.pad(examples, **options), oracle.pad(examples, **options))
    as_dict = {k: [e[k] for e in examples] for k in examples[0]}
    _same(ours.pad(as_dict, return_tensors="pt"), oracle.pad(as_dict, return_tensors="pt"))


# ------------------------------------------------------------------ save / load both ways
def test_polymodal_save_transformers_load(pair, tmp_path):
    family, ours, oracle = pair
    ours.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == type(ours).__name__
    assert (tmp_path / "tokenizer.json").is_file() and (tmp_path / "special_tokens_map.json").is_file()
    reloaded = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    assert type(reloaded).__name__ == type(oracle).__name__
    options = dict(padding=True, truncation=True, max_length=20, return_tensors="pt")
    _same(reloaded(ALL_TEXTS, **options), oracle(ALL_TEXTS, **options))
    assert reloaded.special_tokens_map == oracle.special_tokens_map


def test_transformers_save_polymodal_load(pair, tmp_path):
    family, ours, oracle = pair
    oracle.save_pretrained(str(tmp_path))
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert type(reloaded) is type(ours)
    options = dict(padding=True, truncation=True, max_length=20, return_tensors="pt")
    _same(reloaded(ALL_TEXTS, **options), oracle(ALL_TEXTS, **options))
    # and a second round trip through polymodal keeps everything
    again = tmp_path / "again"
    reloaded.save_pretrained(again)
    _same(type(ours).from_pretrained(again)(ALL_TEXTS, **options), oracle(ALL_TEXTS, **options))


def test_settings_survive_round_trip(folders, tmp_path):
    ours = P.BertTokenizer.from_pretrained(folders["bert"]["legacy"], model_max_length=32, padding_side="left",
                                           do_lower_case=True)
    ours.save_pretrained(tmp_path)
    back = P.BertTokenizer.from_pretrained(tmp_path)
    assert (back.model_max_length, back.padding_side, back.do_lower_case) == (32, "left", True)
    oracle = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    assert (oracle.model_max_length, oracle.padding_side) == (32, "left")


def test_fast_aliases_and_legacy_constructors(folders):
    assert P.CLIPTokenizerFast is P.CLIPTokenizer and P.BertTokenizerFast is P.BertTokenizer
    assert P.XLMRobertaTokenizerFast is P.XLMRobertaTokenizer and P.RobertaTokenizerFast is P.RobertaTokenizer
    clip = folders["clip"]["legacy"]
    direct = P.CLIPTokenizer(vocab_file=str(clip / "vocab.json"), merges_file=str(clip / "merges.txt"))
    loaded = P.CLIPTokenizer.from_pretrained(clip)
    assert direct("a photo of a cat")["input_ids"] == loaded("a photo of a cat")["input_ids"]
    bert = P.BertTokenizer.from_pretrained(folders["bert"]["legacy"] / "vocab.txt")  # single-file form
    assert bert("hello world")["input_ids"] == P.BertTokenizer.from_pretrained(folders["bert"]["legacy"])(
        "hello world")["input_ids"]
    from polymodal import CLIPTokenizerFast, XLMRobertaTokenizer  # public, lazily imported names

    assert CLIPTokenizerFast is P.CLIPTokenizer and XLMRobertaTokenizer is P.XLMRobertaTokenizer


def test_uncased_bert_strips_accents_and_cased_keeps_them(tmp_path):
    folder = WRITERS["bert"](tmp_path, lowercase=False)
    for lower in (True, False):
        ours = P.BertTokenizer.from_pretrained(folder, do_lower_case=lower)
        oracle = transformers.BertTokenizer.from_pretrained(str(folder), do_lower_case=lower)
        _same(ours(ALL_TEXTS, padding=True), oracle(ALL_TEXTS, padding=True))


# ------------------------------------------------------------------ BatchEncoding
def test_batch_encoding_behaviour(folders):
    tok = P.BertTokenizer.from_pretrained(folders["bert"]["json"])
    enc = tok(["a photo of a cat", "a dog"], padding=True, return_tensors="pt")
    assert isinstance(enc, BatchEncoding)
    assert enc.input_ids is enc["input_ids"] and enc.attention_mask.shape == enc.token_type_ids.shape
    assert enc.to("cpu") is enc and enc.input_ids.dtype == torch.int64
    assert enc.tokens(0)[0] == "[CLS]" and enc.word_ids(0)[0] is None and enc.sequence_ids(0)[1] == 0
    assert enc.is_fast and enc.n_sequences == 1
    with pytest.raises(AttributeError):
        enc.pixel_values
    plain = tok(["a", "a photo of"])
    ragged = BatchEncoding(dict(plain))
    assert ragged.convert_to_tensors("np")["input_ids"].dtype == object
    with pytest.raises(InvalidInputError, match="padding=True"):
        BatchEncoding(dict(plain), tensor_type="pt")
    single = tok("a photo", return_tensors="np")
    assert single["input_ids"].shape[0] == 1


# ------------------------------------------------------------------ bad input
def test_missing_files_name_what_is_needed(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="vocab.json"):
        P.CLIPTokenizer.from_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="No such folder|has no"):
        P.BertTokenizer.from_pretrained(tmp_path / "nope")


def test_broken_files_give_clear_errors(folders, tmp_path):
    (tmp_path / "tokenizer.json").write_text('{"model": {"type": "BPE", "vocab": ')
    with pytest.raises(CheckpointError, match="not valid JSON"):
        P.CLIPTokenizer.from_pretrained(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    (tmp_path / "vocab.json").write_text("[1, 2, 3]")
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b\n")
    with pytest.raises(CheckpointError, match="JSON object"):
        P.RobertaTokenizer.from_pretrained(tmp_path)
    (tmp_path / "vocab.json").write_text('{"a": 0, "b": 1, "ab": 2}')
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b c\n")
    with pytest.raises(CheckpointError, match="line 2"):
        P.RobertaTokenizer.from_pretrained(tmp_path)
    spm = tmp_path / "spm"
    spm.mkdir()
    (spm / "sentencepiece.bpe.model").write_bytes(b"\xff\xff\xff not a model")
    with pytest.raises(CheckpointError, match="sentencepiece"):
        P.XLMRobertaTokenizer.from_pretrained(spm)
    broken = tmp_path / "broken_config"
    broken.mkdir()
    (broken / "vocab.txt").write_text((folders["bert"]["legacy"] / "vocab.txt").read_text())
    (broken / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="tokenizer_config.json"):
        P.BertTokenizer.from_pretrained(broken)


@pytest.mark.parametrize("bad", [42, None, [1, 2, 3], {"text": "x"}, b"bytes"])
def test_text_that_is_not_str_is_rejected(folders, bad):
    tok = P.CLIPTokenizer.from_pretrained(folders["clip"]["json"])
    with pytest.raises(InvalidInputError):
        tok(bad)


def test_bad_arguments_are_rejected(folders):
    tok = P.RobertaTokenizer.from_pretrained(folders["roberta"]["json"])
    with pytest.raises(InvalidInputError, match="padding="):
        tok("x", padding="sideways")
    with pytest.raises(InvalidInputError, match="return_tensors"):
        tok("x", return_tensors="tf")
    with pytest.raises(InvalidInputError, match="one entry per text"):
        tok(["a", "b"], ["c"])
    tok.pad_token = None
    with pytest.raises(InvalidInputError, match="pad token"):
        tok(["a", "b c"], padding=True)
    with pytest.raises(InvalidInputError, match="multiple of pad_to_multiple_of"):
        P.RobertaTokenizer.from_pretrained(folders["roberta"]["json"])(
            "a", padding="max_length", truncation=True, max_length=10, pad_to_multiple_of=4)
    with pytest.raises(InvalidInputError, match="input_ids"):
        tok.pad([{"attention_mask": [1]}])


# ------------------------------------------------------------------ ProcessorMixin (image + text)
def test_processor_mixin_routes_and_round_trips(folders, tmp_path):
    """A CLIP-style processor on the base class: kwarg routing, merged output, both save directions."""
    from PIL import Image

    from polymodal.models.clip.image_processing import CLIPImageProcessor
    from polymodal.text.processing import ProcessorMixin

    class TinyCLIPProcessor(ProcessorMixin):
        attributes = ["image_processor", "tokenizer"]
        image_processor_class = "CLIPImageProcessor"
        tokenizer_class = "CLIPTokenizer"

    oracle = transformers.CLIPProcessor(
        transformers.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        transformers.CLIPTokenizer.from_pretrained(str(folders["clip"]["json"])))
    oracle.save_pretrained(str(tmp_path / "theirs"))
    ours = TinyCLIPProcessor.from_pretrained(tmp_path / "theirs", use_fast=False)  # bit-exact pixels
    assert isinstance(ours.image_processor, CLIPImageProcessor) and isinstance(ours.tokenizer, P.CLIPTokenizer)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8))
    texts = ["a photo of a cat", "a photo of a dog sitting on the grass"]
    a = ours(text=texts, images=image, return_tensors="pt", padding=True)
    b = oracle(text=texts, images=image, return_tensors="pt", padding=True)
    assert sorted(a.keys()) == sorted(b.keys()) == ["attention_mask", "input_ids", "pixel_values"]
    assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["attention_mask"], b["attention_mask"])
    assert torch.allclose(a["pixel_values"], b["pixel_values"], atol=1e-5)
    # modality dicts and a text-only option that must not reach the image processor
    a = ours(text=texts, images=[image, image], text_kwargs={"max_length": 5, "truncation": True},
             padding="max_length", return_tensors="np")
    assert a["input_ids"].shape == (2, 5) and a["pixel_values"].shape == (2, 3, 32, 32)
    assert ours.batch_decode(b["input_ids"], skip_special_tokens=True) == oracle.batch_decode(
        b["input_ids"], skip_special_tokens=True)
    assert ours.model_input_names == ["pixel_values", "input_ids", "attention_mask"]

    ours.save_pretrained(tmp_path / "ours")
    saved = json.loads((tmp_path / "ours" / "processor_config.json").read_text())
    assert saved["processor_class"] == "TinyCLIPProcessor" and "image_processor" in saved
    back = transformers.CLIPProcessor.from_pretrained(str(tmp_path / "ours"))
    c = back(text=texts, images=image, return_tensors="pt", padding=True)
    assert torch.equal(c["input_ids"], b["input_ids"]) and torch.allclose(c["pixel_values"], b["pixel_values"])
    with pytest.raises(InvalidInputError, match="at least one"):
        ours()


def test_transformers4_style_config_files(folders, tmp_path):
    """Hub configs from Transformers 4: AddedToken dicts, added_tokens_decoder, special_tokens_map.json."""
    import shutil

    for name in ("vocab.json", "merges.txt"):
        shutil.copy(folders["clip"]["legacy"] / name, tmp_path / name)
    vocab = json.loads((tmp_path / "vocab.json").read_text())
    token = {"__type": "AddedToken", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    config = {
        "add_prefix_space": False, "do_lower_case": True, "errors": "replace", "model_max_length": 77,
        "bos_token": {**token, "content": "<|startoftext|>"}, "eos_token": {**token, "content": "<|endoftext|>"},
        "unk_token": {**token, "content": "<|endoftext|>"}, "pad_token": "<|endoftext|>",
        "tokenizer_class": "CLIPTokenizer",
        "added_tokens_decoder": {str(vocab[t]): {"content": t, "lstrip": False, "normalized": True, "rstrip": False,
                                                  "single_word": False, "special": True}
                                 for t in ("<|startoftext|>", "<|endoftext|>")},
    }
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    (tmp_path / "special_tokens_map.json").write_text(json.dumps({"bos_token": "<|startoftext|>"}))
    ours = AutoTokenizer.from_pretrained(tmp_path)
    oracle = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    assert isinstance(ours, P.CLIPTokenizer) and ours.model_max_length == 77
    options = dict(padding="max_length", truncation=True, return_tensors="pt")
    _same(ours(ALL_TEXTS, **options), oracle(ALL_TEXTS, **options))
    assert ours.decode(oracle("hello <|endoftext|> world")["input_ids"]) == oracle.decode(
        oracle("hello <|endoftext|> world")["input_ids"])


def test_generic_fast_tokenizer_uses_tokenizer_json_as_is(folders):
    from polymodal.text.base import PreTrainedTokenizerFast

    for family in FAMILIES:
        folder = str(folders[family]["json"])
        ours = PreTrainedTokenizerFast.from_pretrained(folder)
        oracle = transformers.PreTrainedTokenizerFast.from_pretrained(folder)
        _same(ours(ALL_TEXTS, padding=True, return_tensors="pt"), oracle(ALL_TEXTS, padding=True, return_tensors="pt"))
