"""Trainer utilities: label smoothing, compute_loss_func, metrics reports, torch_distributed_zero_first."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from wav2vec2_helpers import NO_DROPOUT, TINY, hf_model

import polymodal
from polymodal.core.errors import ConfigError
from polymodal.train.trainer_utils import LabelSmoother, metrics_format, torch_distributed_zero_first

transformers = pytest.importorskip("transformers")
from transformers import trainer_pt_utils  # noqa: E402


@pytest.mark.parametrize("shift", [False, True])
def test_label_smoother_equals_transformers(shift):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 7, generator=g)
    labels = torch.randint(0, 7, (3, 5), generator=g)
    labels[0, :2] = -100
    ours = LabelSmoother(epsilon=0.2)({"logits": logits}, labels, shift_labels=shift)
    theirs = trainer_pt_utils.LabelSmoother(epsilon=0.2)({"logits": logits}, labels, shift_labels=shift)
    torch.testing.assert_close(ours, theirs, atol=1e-7, rtol=1e-6)
    sequence = LabelSmoother(0.1)((torch.randn(4, 3, generator=g),), torch.tensor([0, 2, 1, -100]))
    assert torch.isfinite(sequence)


@pytest.fixture(scope="module")
def init_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("init")
    hf_model("Wav2Vec2ForSequenceClassification", True, "layer", num_labels=3, mask_time_prob=0.0,
             **NO_DROPOUT).save_pretrained(path)
    return path


def _data(n=8):
    rng = np.random.default_rng(0)
    return [{"input_values": rng.standard_normal(800).astype(np.float32), "label": i % 3} for i in range(n)]


def test_label_smoothing_in_the_trainer_matches_transformers(init_dir, tmp_path):
    logged = []
    for lib in (transformers, polymodal):
        args = lib.TrainingArguments(output_dir=str(tmp_path / lib.__name__), max_steps=3, learning_rate=1e-3,
                                     per_device_train_batch_size=4, label_smoothing_factor=0.1, logging_steps=1,
                                     save_strategy="no", eval_strategy="steps", eval_steps=3, report_to="none",
                                     disable_tqdm=True, train_sampling_strategy="sequential")
        model = lib.AutoModelForAudioClassification.from_pretrained(init_dir)
        trainer = lib.Trainer(model=model, args=args, train_dataset=_data(), eval_dataset=_data(4))
        trainer.train()
        logged.append([e.get("loss", e.get("eval_loss")) for e in trainer.state.log_history
                       if "loss" in e or "eval_loss" in e])
    np.testing.assert_allclose(logged[1], logged[0], rtol=1e-5, atol=1e-5)
    ctc = polymodal.Wav2Vec2ForCTC(polymodal.Wav2Vec2Config(**TINY))
    with pytest.raises(ConfigError, match="CTC"):
        polymodal.Trainer(model=ctc, args=polymodal.TrainingArguments(output_dir=str(tmp_path), label_smoothing_factor=0.1))


def test_compute_loss_func(init_dir, tmp_path):
    seen = []

    def loss_func(outputs, labels, num_items_in_batch=None):
        seen.append(labels.shape)
        return torch.nn.functional.cross_entropy(outputs.logits, labels) * 0 + outputs.logits.pow(2).mean()

    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    args = polymodal.TrainingArguments(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4,
                                       save_strategy="no", report_to="none", disable_tqdm=True)
    polymodal.Trainer(model=model, args=args, train_dataset=_data(), compute_loss_func=loss_func).train()
    assert seen == [torch.Size([4]), torch.Size([4])]



def test_compute_loss_with_the_trainer_page_signature(init_dir, tmp_path):
    """The Trainer page's weighted-loss subclass overrides compute_loss(model, inputs, return_outputs)
    (no num_items_in_batch): it trains and evaluates unchanged."""
    from torch import nn

    calls = []

    class CustomTrainer(polymodal.Trainer):
        def compute_loss(self, model, inputs, return_outputs=False):
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            logits = outputs.get("logits")
            weight = torch.arange(1.0, self.model.config.num_labels + 1, device=model.device)
            loss = nn.CrossEntropyLoss(weight=weight)(logits.view(-1, self.model.config.num_labels), labels.view(-1))
            calls.append(return_outputs)
            return (loss, outputs) if return_outputs else loss

    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    args = polymodal.TrainingArguments(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4,
                                       save_strategy="no", report_to="none", disable_tqdm=True)
    trainer = CustomTrainer(model=model, args=args, train_dataset=_data(), eval_dataset=_data())
    assert np.isfinite(trainer.train().training_loss)
    assert np.isfinite(trainer.evaluate()["eval_loss"])
    assert len(calls) >= 3

def test_metrics_reports_like_transformers(tmp_path, capsys):
    metrics = {"train_runtime": 3723.456, "train_loss": 0.123456789, "epoch": 2.0, "total_flos": 3 * 2**30,
               "train_samples_per_second": 12.3456, "step": 7}
    assert metrics_format(metrics) == trainer_pt_utils.metrics_format(metrics)
    trainer = polymodal.Trainer.__new__(polymodal.Trainer)
    trainer.args = polymodal.TrainingArguments(output_dir=str(tmp_path))
    trainer.log_metrics("train", metrics)
    ours = capsys.readouterr().out
    theirs = transformers.Trainer.__new__(transformers.Trainer)
    theirs.args = transformers.TrainingArguments(output_dir=str(tmp_path / "hf"))
    trainer_pt_utils.log_metrics(theirs, "train", metrics)
    assert ours == capsys.readouterr().out and ours.startswith("***** train metrics *****")
    trainer.save_metrics("train", {"train_loss": 0.5})
    trainer.save_metrics("eval", {"eval_loss": 0.25})
    assert json.loads((tmp_path / "train_results.json").read_text()) == {"train_loss": 0.5}
    assert json.loads((tmp_path / "all_results.json").read_text()) == {"train_loss": 0.5, "eval_loss": 0.25}


def test_torch_distributed_zero_first_single_process():
    ran = []
    with torch_distributed_zero_first(-1):
        ran.append(1)
    with torch_distributed_zero_first(0):
        ran.append(2)
    assert ran == [1, 2]


class TinyQuestionAnswering(torch.nn.Module):
    """A plain module with QA-style outputs and labels (two logits tensors, two label tensors)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(4, 2)

    def forward(self, input_values, start_positions=None, end_positions=None):
        logits = self.proj(input_values)  # (B, T, 2)
        start, end = logits[..., 0], logits[..., 1]
        out = {}
        if start_positions is not None:
            ce = torch.nn.functional.cross_entropy
            out["loss"] = (ce(start, start_positions) + ce(end, end_positions)) / 2
        out.update(start_logits=start, end_logits=end)
        return out


def test_tuple_predictions_label_names_and_eval_sets_like_transformers(tmp_path):
    rng = np.random.default_rng(0)
    data = [{"input_values": rng.standard_normal((5, 4)).astype(np.float32), "start_positions": i % 5,
             "end_positions": (i + 2) % 5} for i in range(6)]
    results = []
    for lib in (transformers, polymodal):
        args = lib.TrainingArguments(output_dir=str(tmp_path / lib.__name__), per_device_eval_batch_size=4,
                                     report_to="none", disable_tqdm=True)
        trainer = lib.Trainer(model=TinyQuestionAnswering(), args=args,
                              eval_dataset={"a": data, "b": data[:3]},
                              compute_metrics=lambda p: {"n": float(len(p.label_ids[0])),
                                                         "start_hits": float((p.predictions[0].argmax(-1) == p.label_ids[0]).sum())})
        metrics = trainer.evaluate()
        prediction = trainer.predict(data)
        results.append((metrics, prediction))
    (hf_metrics, hf_pred), (pm_metrics, pm_pred) = results
    for key in ("eval_a_loss", "eval_a_n", "eval_a_start_hits", "eval_b_loss", "eval_b_n"):
        assert pm_metrics[key] == pytest.approx(hf_metrics[key], rel=1e-6), key
    assert isinstance(pm_pred.predictions, tuple) and len(pm_pred.predictions) == 2
    for ours, theirs in zip((*pm_pred.predictions, *pm_pred.label_ids), (*hf_pred.predictions, *hf_pred.label_ids)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    with pytest.raises(ConfigError, match="no set of that name"):
        trainer.evaluate("c")
    assert trainer.evaluate("b")["eval_b_n"] == 3.0


def _subclass(lib):
    """A Trainer subclass written the way the Trainer page shows, identical for both libraries."""

    class Weighted(lib.Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            weights = torch.tensor([1.0, 2.0, 3.0])
            loss = torch.nn.functional.cross_entropy(outputs.logits, labels, weight=weights)
            return (loss, outputs) if return_outputs else loss

        def training_step(self, model, inputs, num_items_in_batch=None):
            self.steps_seen = getattr(self, "steps_seen", 0) + 1
            return super().training_step(model, inputs, num_items_in_batch)

        def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
            loss, logits, labels = super().prediction_step(model, inputs, prediction_loss_only, ignore_keys)
            return loss, logits.softmax(-1), labels

    return Weighted


def test_overridden_methods_run_like_in_transformers(init_dir, tmp_path):
    runs = []
    for lib in (transformers, polymodal):
        args = lib.TrainingArguments(output_dir=str(tmp_path / lib.__name__), max_steps=2, learning_rate=1e-3,
                                     per_device_train_batch_size=4, logging_steps=1, save_strategy="no",
                                     report_to="none", disable_tqdm=True, train_sampling_strategy="sequential")
        model = lib.AutoModelForAudioClassification.from_pretrained(init_dir)
        trainer = _subclass(lib)(model=model, args=args, train_dataset=_data(), eval_dataset=_data(4))
        trainer.train()
        prediction = trainer.predict(_data(4))
        runs.append(([e["loss"] for e in trainer.state.log_history if "loss" in e], trainer.steps_seen,
                     prediction.predictions, prediction.metrics["test_loss"]))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-5)
    assert runs[1][1] == runs[0][1] == 2
    np.testing.assert_allclose(runs[1][2], runs[0][2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(runs[1][2].sum(-1), 1.0, rtol=1e-5)
    assert runs[1][3] == pytest.approx(runs[0][3], rel=1e-5)
