"""summarization / translation / text2text-generation pipelines, checked against Transformers' generate().

Transformers 5.x has no such pipelines, so the oracle is what the documented pipeline does by
hand: task prefix + text → Transformers' tokenizer → Transformers' model.generate (task settings)
→ decode with skip_special_tokens=True.
"""

from __future__ import annotations

import functools

import pytest
import torch
from seq2seq_helpers import T5_TASKS, write_tiny_bart_lm, write_tiny_t5_lm

import polymodal
from polymodal.core.errors import InvalidInputError

transformers = pytest.importorskip("transformers")
TEXTS = ["The quick brown fox jumps over the lazy dog.", "A short one.",
         "Tokenizers split text into pieces, and models read the pieces one at a time."]


@pytest.fixture(scope="module")
def t5_dir(tmp_path_factory):
    return str(write_tiny_t5_lm(tmp_path_factory.mktemp("t5_lm")))


@pytest.fixture(scope="module")
def bart_dir(tmp_path_factory):
    return str(write_tiny_bart_lm(tmp_path_factory.mktemp("bart_lm")))


@functools.lru_cache(maxsize=4)
def _reference(folder):
    return (transformers.AutoTokenizer.from_pretrained(folder),
            transformers.AutoModelForSeq2SeqLM.from_pretrained(folder).eval())


def _expected(folder, texts, prefix="", **generate):
    tokenizer, model = _reference(folder)
    out = []
    for text in texts:
        ids = tokenizer(prefix + text, return_tensors="pt")
        with torch.no_grad():
            generated = model.generate(**ids, **generate)
        out.append([tokenizer.decode(g, skip_special_tokens=True) for g in generated])
    return out


def test_summarization_uses_t5_task_params(t5_dir):
    summarizer = polymodal.pipeline("summarization", model=t5_dir)
    params = {k: v for k, v in T5_TASKS["summarization"].items() if k != "prefix"}
    expected = _expected(t5_dir, TEXTS, "summarize: ", **params)
    with pytest.warns(UserWarning, match="max_length"):  # short texts: summary limit longer than the text
        assert summarizer(TEXTS[1]) == [{"summary_text": expected[1][0]}]
    assert summarizer(TEXTS) == [{"summary_text": e[0]} for e in expected]


def test_translation_xx_to_yy(t5_dir):
    translator = polymodal.pipeline("translation_en_to_fr", model=t5_dir)
    assert translator.task == "translation_en_to_fr"
    expected = _expected(t5_dir, TEXTS[:2], "translate English to French: ", max_length=10, num_beams=2)
    assert translator(TEXTS[:2]) == [{"translation_text": e[0]} for e in expected]
    ids = translator(TEXTS[0], return_tensors=True)[0]["translation_token_ids"]
    assert isinstance(ids, torch.Tensor)


def test_text2text_generation_bart(bart_dir):
    generator = polymodal.pipeline("text2text-generation", model=bart_dir)
    expected = _expected(bart_dir, TEXTS, max_new_tokens=8)
    assert generator(TEXTS, max_new_tokens=8) == [{"generated_text": e[0]} for e in expected]
    several = _expected(bart_dir, TEXTS[:1], max_new_tokens=6, num_beams=3, num_return_sequences=2)[0]
    assert generator(TEXTS[0], max_new_tokens=6, num_beams=3, num_return_sequences=2) == \
        [{"generated_text": t} for t in several]
    # a list with several sequences each: one list per input
    assert generator(TEXTS[:2], max_new_tokens=6, num_beams=3, num_return_sequences=2)[0] == \
        [{"generated_text": t} for t in several]


def test_default_max_new_tokens_and_batches(bart_dir):
    generator = polymodal.pipeline("text2text-generation", model=bart_dir, max_new_tokens=5, num_beams=2)
    assert generator(TEXTS[0]) == [{"generated_text": _expected(bart_dir, TEXTS[:1], max_new_tokens=5,
                                                                 num_beams=2)[0][0]}]
    texts = TEXTS + ["Another text."]
    alone = [generator(text)[0] for text in texts]
    assert generator(texts, batch_size=3) == alone  # a list of one-sequence results comes back flat
    assert [r[0] for r in generator(iter(texts), batch_size=3)] == alone


def test_bad_input(bart_dir, t5_dir):
    generator = polymodal.pipeline("text2text-generation", model=bart_dir, max_new_tokens=4)
    long = " ".join(["word"] * 200)
    with pytest.raises(InvalidInputError, match="reads at most 64.*truncation=True"):
        generator(long)
    assert generator(long, truncation=True)[0]["generated_text"] is not None
    with pytest.raises(InvalidInputError, match="expects text"):
        generator([TEXTS[0], 3])
    with pytest.raises(InvalidInputError, match="Unknown argument"):
        generator(TEXTS[0], beams=2)
    with pytest.raises(InvalidInputError, match="src_lang"):
        polymodal.pipeline("translation", model=t5_dir)(TEXTS[0], src_lang="en", tgt_lang="fr")
