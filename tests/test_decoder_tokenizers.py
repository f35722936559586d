"""Tokenizers of the decoder families beyond GPT-2/Llama against Transformers: BLOOM (its own
tokenizer.json pre-tokenizer, left padding), CodeGen (byte-level BPE + truncate_before_pattern),
OPT (GPT-2's tokenizer with a BOS token), all through AutoTokenizer."""

import json

import pytest
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from polymodal import AutoTokenizer
from polymodal.models.bloom.tokenization import BloomTokenizer
from polymodal.models.codegen.tokenization import CodeGenTokenizer

CORPUS = ["Hello world, this is a small corpus. Once upon a time there was a tiny model.",
          "def add(a, b):\n    return a + b\n\nprint(add(1, 2))  # 12345 émigré 日本語"] * 20
TEXTS = ["Hello world, naïve 日本", "The fox  jumps  twice.", " leading", "def f(x):\n\treturn x"]


def _bpe(pre_tokenizer, specials):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=320, special_tokens=specials,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def _same(theirs, ours, **kwargs):
    a, b = theirs(TEXTS, **kwargs), ours(TEXTS, **kwargs)
    assert a["input_ids"] == b["input_ids"] and a["attention_mask"] == b["attention_mask"]
    for ids in a["input_ids"]:
        assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)


def test_bloom_tokenizer_json_as_written(tmp_path):
    split = pre_tokenizers.Split(Regex(" ?[^(\\s|[.,!?…。，、।۔،])]+"), "isolated")
    tok = _bpe(pre_tokenizers.Sequence([split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
               ["<unk>", "<s>", "</s>", "<pad>"])
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                         pad_token="<pad>", padding_side="left").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({**config, "tokenizer_class": "BloomTokenizerFast"}))
    theirs, ours = transformers.AutoTokenizer.from_pretrained(tmp_path), AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(ours, BloomTokenizer)
    _same(theirs, ours, padding=True)


@pytest.fixture(scope="module")
def byte_level_dir(tmp_path_factory):
    tok = _bpe(pre_tokenizers.ByteLevel(add_prefix_space=False), ["<|endoftext|>"])
    path = tmp_path_factory.mktemp("bytelevel")
    tok.save(str(path / "tokenizer.json"))
    return path


def test_codegen_tokenizer_and_truncation(byte_level_dir, tmp_path):
    hf = transformers.CodeGenTokenizer(tokenizer_file=str(byte_level_dir / "tokenizer.json"),
                                       bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    hf.save_pretrained(tmp_path)
    ours = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(ours, CodeGenTokenizer)
    _same(hf, ours)
    code = "def f(x):\n    return x\n\n\n# test\ndef g():\n    pass\nprint(1)\nprint(2)"
    ids = hf(code)["input_ids"]
    for patterns in (["^#", "\n\n\n"], ["^print"], []):
        assert ours.decode(ids, truncate_before_pattern=patterns) == hf.decode(ids, truncate_before_pattern=patterns)


def test_opt_style_gpt2_tokenizer_with_bos(byte_level_dir, tmp_path):
    hf = transformers.GPT2Tokenizer(tokenizer_file=str(byte_level_dir / "tokenizer.json"), bos_token="<|endoftext|>",
                                    eos_token="<|endoftext|>", unk_token="<|endoftext|>", pad_token="<|endoftext|>",
                                    add_bos_token=True)
    hf.save_pretrained(tmp_path)
    ours = AutoTokenizer.from_pretrained(tmp_path)
    _same(hf, ours, padding=True)
    assert ours("Hello")["input_ids"][0] == ours.bos_token_id


def test_biogpt_moses_bpe_tokenizer(tmp_path):
    sacremoses = pytest.importorskip("sacremoses")
    from polymodal.models.biogpt.tokenization import BioGptTokenizer

    moses = sacremoses.MosesTokenizer(lang="en")
    corpus = [" ".join(moses.tokenize(t, aggressive_dash_splits=True, escape=True)) for t in CORPUS + [
        "Aspirin inhibits COX-1 & COX-2 (cyclo-oxygenase) in 95% of patients' samples [n=12]."] * 5]
    tok = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, end_of_word_suffix="</w>",
                                                        special_tokens=["<s>", "<pad>", "</s>", "<unk>"]))
    model = json.loads(tok.to_str())["model"]
    (tmp_path / "vocab.json").write_text(json.dumps(model["vocab"]))
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (tmp_path / "merges.txt").write_text("".join(f"{m} {100 - i % 50}\n" for i, m in enumerate(merges)))
    hf = transformers.BioGptTokenizer(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"))
    hf.save_pretrained(tmp_path / "hf")
    ours = AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert isinstance(ours, BioGptTokenizer)
    texts = TEXTS + ["Aspirin inhibits COX-1 & COX-2 (cyclo-oxygenase) in 95% of patients' samples [n=12]."]
    a, b = hf(texts, padding=True), ours(texts, padding=True)
    assert a["input_ids"] == b["input_ids"] and a["attention_mask"] == b["attention_mask"]
    for ids in a["input_ids"]:
        for skip in (True, False):
            assert ours.decode(ids, skip_special_tokens=skip) == hf.decode(ids, skip_special_tokens=skip)
    assert ours("one", "two")["input_ids"] == hf("one", "two")["input_ids"]
    ours.save_pretrained(tmp_path / "pm")
    back = transformers.BioGptTokenizer.from_pretrained(tmp_path / "pm")
    assert back(texts)["input_ids"] == hf(texts)["input_ids"]


def test_ctrl_subword_bpe_tokenizer(tmp_path):
    from polymodal.models.ctrl.tokenization import CTRLTokenizer

    tok = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=300, end_of_word_suffix="</w>",
                                                        special_tokens=["<unk>"]))
    model = json.loads(tok.to_str())["model"]
    vocab = {(t[:-4] if t.endswith("</w>") else t + "@@") if t != "<unk>" else t: i for t, i in model["vocab"].items()}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "".join(m + "\n" for m in merges))
    hf = transformers.CTRLTokenizer(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"))
    hf.save_pretrained(tmp_path / "hf")
    ours = AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert isinstance(ours, CTRLTokenizer)
    texts = ["Links Hello world, this is a tiny model.\nOnce  upon", "The quick fox jumps! émigré", "x"]
    a, b = hf(texts), ours(texts)
    assert dict(a) == dict(b)
    for ids in a["input_ids"]:
        assert ours.decode(ids) == hf.decode(ids)
    ours.save_pretrained(tmp_path / "pm")
    assert transformers.CTRLTokenizer.from_pretrained(tmp_path / "pm")(texts)["input_ids"] == a["input_ids"]
