"""Seq2SeqTrainer: predict_with_generate against Transformers' Seq2SeqTrainer on a tiny GPT-2."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import polymodal
from polymodal.core.errors import ConfigError

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=50, n_positions=64, n_embd=32, n_layer=2, n_head=4,
                                     bos_token_id=1, eos_token_id=1, pad_token_id=0)
    path = tmp_path_factory.mktemp("gpt2")
    transformers.GPT2LMHeadModel(config).save_pretrained(path)
    return path


def _rows(with_labels: bool):
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(5):
        ids = rng.integers(2, 50, 6).tolist()
        rows.append({"input_ids": ids, "attention_mask": [1] * 6, **({"labels": ids} if with_labels else {})})
    return rows


def _trainer(lib, path, out, **overrides):
    model = lib.GPT2LMHeadModel.from_pretrained(path)
    args = lib.Seq2SeqTrainingArguments(output_dir=str(out), per_device_eval_batch_size=2, predict_with_generate=True,
                                        report_to="none", disable_tqdm=True, **overrides)
    return lib.Seq2SeqTrainer(model=model, args=args)


def test_predict_with_generate_equals_transformers(gpt2_dir, tmp_path):
    gen = dict(generation_num_beams=2, generation_max_length=12)
    outputs = [_trainer(lib, gpt2_dir, tmp_path / lib.__name__, **gen).predict(_rows(False))
               for lib in (transformers, polymodal)]
    theirs, ours = outputs
    assert ours.predictions.shape == theirs.predictions.shape == (5, 20)  # padded to the model's max_length
    np.testing.assert_array_equal(ours.predictions, theirs.predictions)
    # A per-call argument overrides the training arguments, as in Transformers.
    short = [_trainer(lib, gpt2_dir, tmp_path / lib.__name__, **gen).predict(_rows(False), max_new_tokens=2)
             for lib in (transformers, polymodal)]
    np.testing.assert_array_equal(short[1].predictions, short[0].predictions)


def test_loss_and_labels_with_generation(gpt2_dir, tmp_path):
    trainer = _trainer(polymodal, gpt2_dir, tmp_path, generation_max_length=8)
    out = trainer.predict(_rows(True))
    assert out.predictions.shape == (5, 20) and out.label_ids.shape == (5, 20)
    assert (out.label_ids[:, 6:] == 0).all()  # labels padded with pad_token_id
    args = polymodal.TrainingArguments(output_dir=str(tmp_path / "p"), per_device_eval_batch_size=2, report_to="none")
    reference = polymodal.Trainer(model=trainer.model, args=args).predict(_rows(True))
    assert out.metrics["test_loss"] == pytest.approx(reference.metrics["test_loss"], rel=1e-6)
    decoded = []

    def compute_metrics(pred):
        decoded.append(pred.predictions.shape)
        return {"n": float(len(pred.predictions))}

    trainer.compute_metrics = compute_metrics
    metrics = trainer.evaluate(_rows(True), num_beams=2)
    assert metrics["eval_n"] == 5.0 and decoded == [(5, 20)]


def test_seq2seq_argument_errors(tmp_path):
    with pytest.raises(ConfigError, match="sortish_sampler"):
        polymodal.Seq2SeqTrainingArguments(output_dir=str(tmp_path), sortish_sampler=True)
    with pytest.raises(ConfigError, match="generation_num_beams"):
        polymodal.Seq2SeqTrainingArguments(output_dir=str(tmp_path), generation_num_beams=0)
