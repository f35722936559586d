"""DataCollatorForSeq2Seq and text_target= against Transformers (same batches, decoder_input_ids from the model)."""

from __future__ import annotations

import pytest
import torch
from seq2seq_helpers import write_tiny_t5_lm

import polymodal
from polymodal.core.errors import InvalidInputError

transformers = pytest.importorskip("transformers")
SOURCES = ["summarize: The quick brown fox jumps over the lazy dog.", "summarize: A short one.",
           "summarize: Tokenizers split text into pieces."]
TARGETS = ["A fox jumps.", "Short.", "Text becomes pieces, and the pieces become ids for the model."]


@pytest.fixture(scope="module")
def t5_dir(tmp_path_factory):
    return str(write_tiny_t5_lm(tmp_path_factory.mktemp("t5_collate")))


def _features(tokenizer):
    inputs = tokenizer(SOURCES, max_length=12, truncation=True)
    labels = tokenizer(text_target=TARGETS, max_length=10, truncation=True)
    return [{"input_ids": i, "attention_mask": m, "labels": lab}
            for i, m, lab in zip(inputs["input_ids"], inputs["attention_mask"], labels["input_ids"])]


@pytest.mark.parametrize("options", [{}, {"pad_to_multiple_of": 8}, {"padding": "max_length", "max_length": 16},
                                     {"label_pad_token_id": 0}])
def test_batches_equal_transformers(t5_dir, options):
    ours_tok = polymodal.AutoTokenizer.from_pretrained(t5_dir)
    theirs_tok = transformers.AutoTokenizer.from_pretrained(t5_dir)
    ours_features, theirs_features = _features(ours_tok), _features(theirs_tok)
    assert ours_features == theirs_features  # text_target= tokenises like Transformers
    model = polymodal.AutoModelForSeq2SeqLM.from_pretrained(t5_dir)
    hf_model = transformers.AutoModelForSeq2SeqLM.from_pretrained(t5_dir)
    ours = polymodal.DataCollatorForSeq2Seq(ours_tok, model=model, **options)(ours_features)
    theirs = transformers.DataCollatorForSeq2Seq(theirs_tok, model=hf_model, **options)(theirs_features)
    assert set(ours) == set(theirs)
    for key in theirs:
        assert torch.equal(ours[key], theirs[key]), key
    assert (ours["labels"] == options.get("label_pad_token_id", -100)).any()


def test_model_as_string_and_no_labels(t5_dir):
    tokenizer = polymodal.AutoTokenizer.from_pretrained(t5_dir)
    features = _features(tokenizer)
    batch = polymodal.DataCollatorForSeq2Seq(tokenizer=tokenizer, model=t5_dir)(features)  # as the guide writes it
    assert "decoder_input_ids" not in batch and batch["labels"].shape[0] == 3
    bare = polymodal.DataCollatorForSeq2Seq(tokenizer)([{k: v for k, v in f.items() if k != "labels"}
                                                       for f in features])
    assert bare["labels"] is None
    ragged = polymodal.DataCollatorForSeq2Seq(tokenizer, padding=False)(features[:1])
    assert ragged["labels"] == [features[0]["labels"]]


def test_bad_input(t5_dir):
    tokenizer = polymodal.AutoTokenizer.from_pretrained(t5_dir)
    features = _features(tokenizer)
    with pytest.raises(InvalidInputError, match="some do not"):
        polymodal.DataCollatorForSeq2Seq(tokenizer)([features[0], {**features[1], "labels": None}])
    short = {**features[1], "labels": features[2]["labels"]}  # a short input with a long target
    with pytest.raises(InvalidInputError, match="longer than max_length=8"):
        polymodal.DataCollatorForSeq2Seq(tokenizer, padding="max_length", max_length=8)([short])
    with pytest.raises(Exception, match="'pt'"):
        polymodal.DataCollatorForSeq2Seq(tokenizer, return_tensors="tf")
