"""pipeline("text-generation") against Transformers' pipeline on a tiny GPT-2 + BPE tokenizer:
full/new text, several sequences, token ids, batching independence, chats, streaming, errors."""

import pytest
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from polymodal import pipeline

CORPUS = ["Hello world, this is a small corpus. Once upon a time there was a tiny model that liked tokens.",
          "The quick brown fox jumps over the lazy dog! 12345"] * 20
TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>{% endif %}")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    path = tmp_path_factory.mktemp("tg")
    hf_tok = transformers.GPT2TokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>",
                                            eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    hf_tok.chat_template = TEMPLATE
    hf_tok.save_pretrained(path)
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=len(hf_tok), n_positions=128, n_embd=32, n_layer=2, n_head=4,
                                     bos_token_id=0, eos_token_id=0)
    transformers.GPT2LMHeadModel(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def pipes(checkpoint):
    return transformers.pipeline("text-generation", model=str(checkpoint)), pipeline("text-generation", model=str(checkpoint))


@pytest.mark.parametrize("kwargs", [
    dict(do_sample=False, max_new_tokens=8),
    dict(do_sample=False, max_new_tokens=8, return_full_text=False),
    dict(do_sample=False, max_new_tokens=6, num_beams=3, num_return_sequences=2),
    dict(do_sample=False, max_new_tokens=5, return_tensors=True),
])
def test_matches_transformers(pipes, kwargs):
    hf, pm = pipes
    for prompt in ("Hello world", ["Once upon a time", "The fox"]):
        assert pm(prompt, **kwargs) == hf(prompt, **kwargs)


def test_seeded_sampling_matches_transformers(pipes):
    hf, pm = pipes
    torch.manual_seed(3)
    expected = hf("Hello world", max_new_tokens=6)
    torch.manual_seed(3)
    assert pm("Hello world", max_new_tokens=6) == expected


def test_batched_results_equal_single_results(pipes):
    _, pm = pipes
    pm.tokenizer.pad_token = pm.tokenizer.eos_token
    prompts = ["Hello", "Once upon a time there was", "The quick brown fox jumps"]
    alone = [pm(p, do_sample=False, max_new_tokens=8) for p in prompts]
    assert pm(prompts, do_sample=False, max_new_tokens=8, batch_size=3) == alone


def test_chat_input(pipes):
    hf, pm = pipes
    chat = [{"role": "user", "content": "Hello world"}]
    out = pm(chat, do_sample=False, max_new_tokens=5)
    assert out == hf(chat, do_sample=False, max_new_tokens=5)
    assert out[0]["generated_text"][-1]["role"] == "assistant"


def test_streaming(pipes, capsys):
    from polymodal import TextStreamer

    _, pm = pipes
    out = pm("Hello world", do_sample=False, max_new_tokens=6, streamer=TextStreamer(pm.tokenizer))
    assert capsys.readouterr().out.strip() == out[0]["generated_text"].strip()


def test_errors(checkpoint):
    pm = pipeline("text-generation", model=str(checkpoint))
    with pytest.raises(ValueError, match="pad_token"):
        pm(["a", "b"], batch_size=2, max_new_tokens=2)
    with pytest.raises(ValueError, match="max_new_tokens"):
        pm("Hello", max_new_tokens=0)
    with pytest.raises(ValueError, match="prompt"):
        pm(123)
    with pytest.raises(ValueError, match="empty"):
        pm("", max_new_tokens=2)
    with pytest.raises(ValueError, match="n_positions|max_position_embeddings"):
        pm("Hello world " * 100, max_new_tokens=5)


def test_cli_generate(checkpoint, capsys):
    from polymodal.cli import main

    hf = transformers.pipeline("text-generation", model=str(checkpoint))
    expected = hf("Hello world", do_sample=False, max_new_tokens=6)[0]["generated_text"]
    assert main(["generate", str(checkpoint), "Hello world", "--max-new-tokens", "6"]) == 0
    assert capsys.readouterr().out.strip() == expected.strip()
    assert main(["generate", str(checkpoint), "Hello", "--max-new-tokens", "3", "--json", "--new-text-only",
                 "--do-sample", "--seed", "0"]) == 0
    assert '"prompt": "Hello"' in capsys.readouterr().out
    assert main(["generate", str(checkpoint / "missing"), "Hello"]) == 2
    assert "not a folder" in capsys.readouterr().err
