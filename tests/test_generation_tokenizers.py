"""Decoder-LM tokenizers against Transformers: GPT-2 byte-level BPE (tokenizer.json and
vocab.json + merges.txt), Llama SentencePiece BPE (tokenizer.model and tokenizer.json), Code Llama
infilling, chat templates, AutoTokenizer dispatch and streamers."""

import threading

import pytest
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from polymodal import AutoTokenizer
from polymodal.generation import TextIteratorStreamer, TextStreamer
from polymodal.models.gpt2.tokenization import GPT2Tokenizer
from polymodal.models.llama.tokenization import CodeLlamaTokenizer, LlamaTokenizer

CORPUS = ["Hello world, this is a small corpus. Once upon a time there was a tiny model that liked tokens.",
          "The quick brown fox jumps over the lazy dog! def add(a, b): return a + b 12345 émigré 日本語"] * 20
TEXTS = ["Hello world, naïve 日本", "The fox<|endoftext|> jumps  twice", " leading space", ""]


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    path = tmp_path_factory.mktemp("gpt2tok")
    hf = transformers.GPT2TokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>",
                                        eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    hf.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def spm_dir(tmp_path_factory):
    import sentencepiece as spm

    path = tmp_path_factory.mktemp("spm")
    spm.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS), model_prefix=str(path / "tokenizer"),
                                   vocab_size=340, model_type="bpe", byte_fallback=True, character_coverage=1.0,
                                   bos_id=1, eos_id=2, unk_id=0, pad_id=-1, minloglevel=3)
    (path / "tokenizer.vocab").unlink()
    return path


def _same(hf, pm, texts, **kwargs):
    a, b = hf(texts, **kwargs), pm(texts, **kwargs)
    for key in a:
        assert a[key] == b[key], key
    for ids in a["input_ids"]:
        assert pm.decode(ids) == hf.decode(ids)
        assert pm.decode(ids, skip_special_tokens=True) == hf.decode(ids, skip_special_tokens=True)


def test_gpt2_tokenizer_json_matches(gpt2_dir):
    hf = transformers.AutoTokenizer.from_pretrained(gpt2_dir)
    pm = AutoTokenizer.from_pretrained(gpt2_dir)
    assert isinstance(pm, GPT2Tokenizer)
    _same(hf, pm, TEXTS, return_offsets_mapping=True)
    assert pm.pad_token is None and pm.eos_token == "<|endoftext|>"


def test_gpt2_legacy_vocab_and_merges(gpt2_dir, tmp_path):
    import json

    data = json.loads((gpt2_dir / "tokenizer.json").read_text())
    (tmp_path / "vocab.json").write_text(json.dumps(data["model"]["vocab"]))
    merges = [" ".join(m) if isinstance(m, list) else m for m in data["model"]["merges"]]
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    hf = transformers.GPT2Tokenizer(vocab=str(tmp_path / "vocab.json"), merges=str(tmp_path / "merges.txt"))
    pm = GPT2Tokenizer(vocab_file=str(tmp_path / "vocab.json"), merges_file=str(tmp_path / "merges.txt"))
    _same(hf, pm, TEXTS[:3])


def test_gpt2_batch_without_pad_token_is_a_clear_error(gpt2_dir):
    pm = AutoTokenizer.from_pretrained(gpt2_dir)
    with pytest.raises(ValueError, match="pad_token = tokenizer.eos_token"):
        pm(["a", "bb cc"], padding=True)
    pm.pad_token = pm.eos_token
    pm.padding_side = "left"
    out = pm(["a", "bb cc"], padding=True, return_tensors="pt")
    assert out["attention_mask"][0, 0] == 0


def test_llama_sentencepiece_model_and_round_trip(spm_dir, tmp_path):
    hf = transformers.LlamaTokenizer.from_pretrained(spm_dir)
    pm = LlamaTokenizer.from_pretrained(spm_dir)
    _same(hf, pm, TEXTS)
    hf.save_pretrained(tmp_path / "hf")
    _same(transformers.AutoTokenizer.from_pretrained(tmp_path / "hf"), LlamaTokenizer.from_pretrained(tmp_path / "hf"),
          TEXTS)
    pm_bos = LlamaTokenizer.from_pretrained(spm_dir, add_bos_token=True)
    pm_bos.save_pretrained(tmp_path / "pm")
    back = transformers.AutoTokenizer.from_pretrained(tmp_path / "pm")
    _same(back, pm_bos, TEXTS)
    assert pm_bos("hi")["input_ids"][0] == 1


def test_code_llama_infilling(spm_dir):
    hf = transformers.CodeLlamaTokenizer.from_pretrained(spm_dir)
    pm = CodeLlamaTokenizer.from_pretrained(spm_dir)
    for text in ("def add(a, b):<FILL_ME>\n    return a + b", "Hello world"):
        assert pm(text)["input_ids"] == hf(text)["input_ids"]
    assert pm("def add(a", suffix=" b)")["input_ids"] == hf("def add(a", suffix=" b)")["input_ids"]
    assert pm("def f(", suffix="):", suffix_first=True)["input_ids"] == hf("def f(", suffix="):", suffix_first=True)["input_ids"]
    assert (pm.prefix_id, pm.middle_id, pm.suffix_id, pm.eot_id) == (hf.prefix_id, hf.middle_id, hf.suffix_id, hf.eot_id)
    assert pm("Hello world")["input_ids"] == hf("Hello world")["input_ids"]  # plain text after infilling


TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def test_chat_template_matches_transformers(gpt2_dir, tmp_path):
    hf = transformers.AutoTokenizer.from_pretrained(gpt2_dir)
    pm = AutoTokenizer.from_pretrained(gpt2_dir)
    hf.chat_template = pm.chat_template = TEMPLATE
    chat = [{"role": "user", "content": "Hello world"}, {"role": "assistant", "content": "hi"}]
    # The seed docs' default (a list of ids) is Transformers 5's return_dict=False.
    for kwargs in (dict(tokenize=False), dict(tokenize=False, add_generation_prompt=True), dict(return_dict=False),
                   dict(tokenize=False, continue_final_message=True)):
        assert pm.apply_chat_template(chat, **kwargs) == hf.apply_chat_template(chat, **kwargs)
    pm.save_pretrained(tmp_path)
    assert transformers.AutoTokenizer.from_pretrained(tmp_path).chat_template == TEMPLATE
    assert AutoTokenizer.from_pretrained(tmp_path).chat_template == TEMPLATE
    with pytest.raises(ValueError, match="chat template"):
        AutoTokenizer.from_pretrained(gpt2_dir).apply_chat_template(chat)


class _Decoder:
    def decode(self, ids, **kwargs):
        return "".join({1: "Hello", 2: " wor", 3: "ld", 4: "\n", 5: " 日"}.get(i, "?") for i in ids)


def test_text_streamer_releases_whole_words(capsys):
    streamer = TextStreamer(_Decoder(), skip_prompt=True)
    streamer.put(torch.tensor([[1]]))  # the prompt
    for token in (2, 3, 4, 1, 5):
        streamer.put(torch.tensor([token]))
    streamer.end()
    assert capsys.readouterr().out == " world\nHello 日\n"


def test_text_iterator_streamer_with_generate(tmp_path):
    from polymodal.models.gpt2 import GPT2LMHeadModel

    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=6, n_embd=16, n_layer=1, n_head=2,
                                                              n_positions=32, eos_token_id=None, bos_token_id=1))
    hf.save_pretrained(tmp_path)
    model = GPT2LMHeadModel.from_pretrained(tmp_path)
    streamer = TextIteratorStreamer(_Decoder(), timeout=30)
    thread = threading.Thread(target=model.generate, kwargs=dict(input_ids=torch.tensor([[1]]), max_new_tokens=5,
                                                                 streamer=streamer))
    thread.start()
    text = "".join(streamer)
    thread.join()
    expected = _Decoder().decode(model.generate(torch.tensor([[1]]), max_new_tokens=5)[0].tolist())
    assert text == expected
