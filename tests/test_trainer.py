"""Trainer: parity with Transformers' Trainer, resumption, checkpoints, strategies, collators."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from wav2vec2_helpers import NO_DROPOUT, hf_model

import polymodal
from polymodal.core.errors import CheckpointError, ConfigError
from polymodal.train.checkpoint import sorted_checkpoints

transformers = pytest.importorskip("transformers")


def _dataset(n=12, length=1600, labels=3, seed=0, ragged=False):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        size = length - (37 * i) % 400 if ragged else length
        rows.append({"input_values": rng.standard_normal(size).astype(np.float32), "label": i % labels})
    return rows


@pytest.fixture(scope="module")
def init_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("init")
    hf_model("Wav2Vec2ForSequenceClassification", True, "layer", num_labels=3, mask_time_prob=0.0,
             **NO_DROPOUT).save_pretrained(path)
    return path


def _args(lib, out, **overrides):
    common = dict(output_dir=str(out), learning_rate=2e-3, per_device_train_batch_size=4,
                  gradient_accumulation_steps=2, num_train_epochs=3, warmup_steps=2, logging_steps=1,
                  train_sampling_strategy="sequential", save_strategy="no", report_to="none", seed=0,
                  weight_decay=0.01, disable_tqdm=True)
    common.update(overrides)
    return lib.TrainingArguments(**common)


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_losses_and_weights_match_transformers_trainer(init_dir, tmp_path):
    # Gradient accumulation is left at 1 here: Transformers 5.23 does not divide the loss of models
    # whose forward takes **kwargs by the accumulation steps (its logged loss and gradients are
    # N times too large). polymodal averages, as Transformers 4 did; see the GA test below.
    data = _dataset(14)  # 4 batches per epoch with a short last one
    no_ga = dict(gradient_accumulation_steps=1, num_train_epochs=1.5)
    hf = transformers.AutoModelForAudioClassification.from_pretrained(init_dir)
    theirs = transformers.Trainer(model=hf, args=_args(transformers, tmp_path / "hf", **no_ga), train_dataset=data)
    theirs.train()
    pm = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    ours = polymodal.Trainer(model=pm, args=_args(polymodal, tmp_path / "pm", **no_ga), train_dataset=data)
    ours.train()
    hf_losses = [e["loss"] for e in theirs.state.log_history if "loss" in e]
    pm_losses = [e["loss"] for e in ours.state["log_history"] if "loss" in e]
    assert len(pm_losses) == len(hf_losses) == 6
    np.testing.assert_allclose(pm_losses, hf_losses, atol=2e-4)
    hf_lrs = [e["learning_rate"] for e in theirs.state.log_history if "learning_rate" in e]
    pm_lrs = [e["learning_rate"] for e in ours.state["log_history"] if "learning_rate" in e]
    np.testing.assert_allclose(pm_lrs, hf_lrs, rtol=1e-6)
    hf_weights = hf.state_dict()
    for key, value in pm.state_dict().items():
        torch.testing.assert_close(value, hf_weights[key], atol=2e-5, rtol=1e-4, msg=key)


def test_gradient_accumulation_equals_a_bigger_batch(init_dir, tmp_path):
    data = _dataset(8)
    results = []
    for batch, steps in ((4, 1), (2, 2)):
        model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
        args = _args(polymodal, tmp_path / f"b{batch}", per_device_train_batch_size=batch,
                     gradient_accumulation_steps=steps, max_steps=2)
        trainer = polymodal.Trainer(model=model, args=args, train_dataset=data)
        trainer.train()
        results.append((_weights(model), [e["loss"] for e in trainer.state["log_history"] if "loss" in e]))
    (w1, l1), (w2, l2) = results
    np.testing.assert_allclose(l1, l2, atol=1e-4)
    for key in w1:
        torch.testing.assert_close(w1[key], w2[key], atol=1e-5, rtol=1e-4, msg=key)


def test_warmup_ratio_and_epoch_eval_like_the_guide(init_dir, tmp_path):
    data = _dataset(8)
    accuracy = polymodal.metrics.load("accuracy")

    def compute_metrics(eval_pred):
        predictions = np.argmax(eval_pred.predictions, axis=1)
        return accuracy.compute(predictions=predictions, references=eval_pred.label_ids)

    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    args = polymodal.TrainingArguments(
        output_dir=str(tmp_path), eval_strategy="epoch", save_strategy="epoch", learning_rate=3e-5,
        per_device_train_batch_size=4, gradient_accumulation_steps=1, per_device_eval_batch_size=4,
        num_train_epochs=2, warmup_ratio=0.1, logging_steps=1, load_best_model_at_end=True,
        metric_for_best_model="accuracy", push_to_hub=True, disable_tqdm=True)
    trainer = polymodal.Trainer(model=model, args=args, train_dataset=data, eval_dataset=data,
                                compute_metrics=compute_metrics)
    output = trainer.train()
    assert output.global_step == 4
    evals = [e for e in trainer.state["log_history"] if "eval_accuracy" in e]
    assert len(evals) == 2 and {"eval_loss", "eval_runtime", "epoch"} <= set(evals[0])
    assert [p.name for p in sorted_checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-4"]
    state = json.loads((tmp_path / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4 and state["log_history"]
    assert state["best_model_checkpoint"] in {str(tmp_path / "checkpoint-2"), str(tmp_path / "checkpoint-4")}
    metrics = trainer.evaluate()
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0
    prediction = trainer.predict(data)
    assert prediction.predictions.shape == (8, 3) and prediction.label_ids.shape == (8,)
    assert "test_loss" in prediction.metrics


def test_checkpoints_hold_no_pickles(init_dir, tmp_path):
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    trainer = polymodal.Trainer(model=model, args=_args(polymodal, tmp_path, save_strategy="steps", save_steps=2,
                                                        max_steps=2), train_dataset=_dataset(8))
    trainer.train()
    files = {p.name for p in (tmp_path / "checkpoint-2").iterdir()}
    assert {"model.safetensors", "config.json", "training_state.safetensors", "training_state.json",
            "trainer_state.json"} <= files
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pth", ".pkl"))]


class _StopAt(polymodal.TrainerCallback):
    """A callback that simulates a crash once the given step has been logged."""

    def __init__(self, step):
        self.step = step

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.global_step == self.step and "loss" in (logs or {}):
            raise KeyboardInterrupt("simulated crash")


def _run(init_dir, out, resume=None, callbacks=None):
    torch.manual_seed(123)
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir, hidden_dropout=0.1)
    args = _args(polymodal, out, train_sampling_strategy="random", save_strategy="steps", save_steps=1,
                 max_steps=7, per_device_train_batch_size=2, gradient_accumulation_steps=2)
    trainer = polymodal.Trainer(model=model, args=args, train_dataset=_dataset(14), callbacks=callbacks)
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def test_resume_reproduces_uninterrupted_run(init_dir, tmp_path):
    full = _run(init_dir, tmp_path / "full")
    with pytest.raises(KeyboardInterrupt):
        _run(init_dir, tmp_path / "part", callbacks=[_StopAt(5)])  # crashes mid-epoch, after checkpoint-4
    assert sorted_checkpoints(tmp_path / "part")[-1].name == "checkpoint-4"
    torch.manual_seed(999)  # a new process starts with other RNG state: prove it is restored
    resumed = _run(init_dir, tmp_path / "part", resume=True)
    assert resumed.state["global_step"] == 7
    a, b = _weights(full.model), _weights(resumed.model)
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=1e-5, msg=key)
    full_losses = [e["loss"] for e in full.state["log_history"] if "loss" in e]
    resumed_losses = [e["loss"] for e in resumed.state["log_history"] if "loss" in e]
    assert resumed_losses == full_losses[:4] + resumed_losses[4:]
    np.testing.assert_allclose(resumed_losses[4:], full_losses[4:], atol=1e-6)


def test_interrupted_save_keeps_last_good_checkpoint(init_dir, tmp_path, monkeypatch):
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    args = _args(polymodal, tmp_path, save_strategy="steps", save_steps=1, max_steps=3)
    trainer = polymodal.Trainer(model=model, args=args, train_dataset=_dataset(14))
    original = type(model).save_pretrained
    calls = {"n": 0}

    def flaky_save(self, directory, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("power cut")
        return original(self, directory, *a, **k)

    monkeypatch.setattr(type(model), "save_pretrained", flaky_save)
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    assert [p.name for p in sorted_checkpoints(tmp_path)] == ["checkpoint-1"]
    monkeypatch.undo()
    reloaded = polymodal.AutoModelForAudioClassification.from_pretrained(tmp_path / "checkpoint-1")
    assert reloaded.num_parameters() == model.num_parameters()
    assert list(tmp_path.glob(".checkpoint-2.tmp-*"))  # what the "power cut" left
    resumed = polymodal.Trainer(model=model, args=args, train_dataset=_dataset(14))
    resumed.train(resume_from_checkpoint=True)
    assert resumed.state["global_step"] == 3
    assert not list(tmp_path.glob(".checkpoint-*.tmp-*"))


def test_save_total_limit_and_group_by_length(init_dir, tmp_path):
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    data = _dataset(12, ragged=True)
    args = _args(polymodal, tmp_path, save_strategy="steps", save_steps=1, max_steps=4, save_total_limit=2,
                 group_by_length=True, per_device_train_batch_size=2, gradient_accumulation_steps=1)
    extractor = polymodal.Wav2Vec2FeatureExtractor(return_attention_mask=True)
    trainer = polymodal.Trainer(model=model, args=args, train_dataset=data, processing_class=extractor)
    trainer.train()
    assert [p.name for p in sorted_checkpoints(tmp_path)] == ["checkpoint-3", "checkpoint-4"]
    assert (tmp_path / "checkpoint-4" / "preprocessor_config.json").is_file()


def test_resume_errors(init_dir, tmp_path):
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    trainer = polymodal.Trainer(model=model, args=_args(polymodal, tmp_path), train_dataset=_dataset(4))
    with pytest.raises(CheckpointError, match="no checkpoint"):
        trainer.train(resume_from_checkpoint=True)
    with pytest.raises(CheckpointError, match="not a complete"):
        trainer.train(resume_from_checkpoint=str(tmp_path / "nowhere"))


def test_arguments_validation_and_spellings():
    args = polymodal.TrainingArguments(output_dir="x", evaluation_strategy="steps", eval_steps=5, group_by_length=True)
    assert args.eval_strategy == "steps" and args.train_sampling_strategy == "group_by_length"
    assert polymodal.TrainingArguments(warmup_steps=0.1).get_warmup_steps(100) == 10
    assert polymodal.TrainingArguments(warmup_ratio=0.25).get_warmup_steps(10) == math.ceil(2.5)
    with pytest.raises(ConfigError, match="eval_strategy"):
        polymodal.TrainingArguments(eval_strategy="sometimes")
    with pytest.raises(ConfigError, match="load_best_model_at_end"):
        polymodal.TrainingArguments(load_best_model_at_end=True)
    with pytest.raises(ConfigError, match="save_strategy"):
        polymodal.TrainingArguments(load_best_model_at_end=True, eval_strategy="epoch", save_strategy="steps")


def test_nonfinite_loss_is_skipped_with_warning(init_dir, tmp_path):
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    data = _dataset(8)
    data[0]["input_values"][:] = np.inf
    trainer = polymodal.Trainer(model=model, args=_args(polymodal, tmp_path, per_device_train_batch_size=1,
                                                        gradient_accumulation_steps=1, max_steps=2),
                                train_dataset=data)
    with pytest.warns(UserWarning, match="NaN/inf"):
        trainer.train()
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_dict_of_splits_is_a_clear_error(init_dir, tmp_path):
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    trainer = polymodal.Trainer(model=model, args=_args(polymodal, tmp_path),
                                train_dataset={"train": _dataset(4), "test": _dataset(4)})
    with pytest.raises(ConfigError, match="pass one split"):
        trainer.train()


def test_fp16_on_cpu_is_a_clear_error(init_dir, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("has a GPU")
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    with pytest.raises(ConfigError, match="bf16"):
        polymodal.Trainer(model=model, args=_args(polymodal, tmp_path, fp16=True))


def test_bf16_autocast_trains(init_dir, tmp_path):
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    trainer = polymodal.Trainer(model=model, args=_args(polymodal, tmp_path, bf16=True, max_steps=2),
                                train_dataset=_dataset(8))
    output = trainer.train()
    assert math.isfinite(output.training_loss)


def test_ctc_collator_pads_labels_with_minus_100(tmp_path):
    from pipeline_helpers import ctc_folder

    folder = ctc_folder(tmp_path / "ctc")
    processor = polymodal.Wav2Vec2Processor.from_pretrained(folder)
    features = [{"input_values": np.ones(n, dtype=np.float32), "labels": processor.tokenizer(text).input_ids}
                for n, text in ((800, "hello world"), (500, "low"))]
    batch = polymodal.DataCollatorCTCWithPadding(processor=processor, padding=True)(features)
    assert batch["input_values"].shape == (2, 800)
    assert batch["labels"].shape == (2, 11)
    assert (batch["labels"][1, 3:] == -100).all() and (batch["labels"][0] != -100).all()


def test_default_collator_pads_with_the_feature_extractor(init_dir):
    extractor = polymodal.Wav2Vec2FeatureExtractor(return_attention_mask=True)
    collate = polymodal.DataCollatorWithPadding(extractor)
    batch = collate(_dataset(3, ragged=True))
    assert batch["input_values"].shape[0] == 3 and batch["labels"].tolist() == [0, 1, 2]
    assert batch["attention_mask"].sum(-1).tolist() == [1600, 1563, 1526]


def _noisy_run(init_dir, out, resume=None, callbacks=None):
    """Every source of randomness on: dropout, LayerDrop and SpecAugment time/feature masks."""
    torch.manual_seed(321)
    model = polymodal.AutoModelForAudioClassification.from_pretrained(
        init_dir, hidden_dropout=0.1, attention_dropout=0.1, feat_proj_dropout=0.1, layerdrop=0.2,
        mask_time_prob=0.3, mask_time_length=4, mask_feature_prob=0.2, mask_feature_length=4)
    args = _args(polymodal, out, train_sampling_strategy="random", save_strategy="steps", save_steps=4,
                 max_steps=10, per_device_train_batch_size=2, gradient_accumulation_steps=1)
    trainer = polymodal.Trainer(model=model, args=args, train_dataset=_dataset(14), callbacks=callbacks)
    output = trainer.train(resume_from_checkpoint=resume)
    return trainer, output


@pytest.mark.filterwarnings("ignore:.*masked_spec_embed")  # the init checkpoint had SpecAugment off
def test_mid_epoch_resume_is_bit_exact_with_dropout_and_specaugment(init_dir, tmp_path):
    full, full_output = _noisy_run(init_dir, tmp_path / "full")
    with pytest.raises(KeyboardInterrupt):
        _noisy_run(init_dir, tmp_path / "part", callbacks=[_StopAt(9)])
    # 7 batches per epoch: checkpoint-8 is one batch into the second epoch.
    assert sorted_checkpoints(tmp_path / "part")[-1].name == "checkpoint-8"
    torch.manual_seed(999)
    resumed, output = _noisy_run(init_dir, tmp_path / "part", resume=str(tmp_path / "part" / "checkpoint-8"))
    for key, value in full.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    losses = [[e["loss"] for e in t.state.log_history if "loss" in e] for t in (full, resumed)]
    assert losses[0] == losses[1]
    # train_loss covers the whole run, not only the steps after the resume.
    assert output.training_loss == pytest.approx(full_output.training_loss, rel=1e-9)
    assert output.training_loss == pytest.approx(np.mean(losses[0]), rel=1e-6)


def test_stale_temporary_checkpoint_folders_are_removed(init_dir, tmp_path):
    stale = tmp_path / ".checkpoint-3.tmp-4242"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"half written")
    keep = tmp_path / "notes.checkpoint-3.tmp-1"  # not a name the Trainer writes: left alone
    keep.mkdir()
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    trainer = polymodal.Trainer(model=model, args=_args(polymodal, tmp_path, max_steps=1), train_dataset=_dataset(4))
    trainer.train()
    assert not stale.exists() and keep.exists()


def test_losses_match_transformers_with_dropout_on(tmp_path):
    # Dropout draws from the global RNG, so equal losses need the same random stream as Transformers'
    # Trainer, including the one draw its generator-less train loader takes at each epoch start.
    path = tmp_path / "init"
    hf_model("Wav2Vec2ForSequenceClassification", False, "group", num_labels=3, mask_time_prob=0.0,
             hidden_dropout=0.1, attention_dropout=0.1, activation_dropout=0.1, feat_proj_dropout=0.1,
             layerdrop=0.0).save_pretrained(path)
    data = _dataset(8)
    args = dict(gradient_accumulation_steps=1, num_train_epochs=2, train_sampling_strategy="random")
    losses = []
    for lib in (transformers, polymodal):
        model = lib.AutoModelForAudioClassification.from_pretrained(path)
        trainer = lib.Trainer(model=model, args=_args(lib, tmp_path / lib.__name__, **args), train_dataset=data)
        trainer.train()
        history = trainer.state.log_history if lib is transformers else trainer.state["log_history"]
        losses.append([e["loss"] for e in history if "loss" in e])
    assert len(losses[0]) == len(losses[1]) == 4
    np.testing.assert_allclose(losses[1], losses[0], atol=1e-5)
