"""Trainer callbacks, state and control: same events, order and state file as Transformers' Trainer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from wav2vec2_helpers import NO_DROPOUT, hf_model

import polymodal
from polymodal.core.errors import ConfigError

transformers = pytest.importorskip("transformers")


def _dataset(n=10, length=800, labels=3, seed=0):
    rng = np.random.default_rng(seed)
    return [{"input_values": rng.standard_normal(length).astype(np.float32), "label": i % labels} for i in range(n)]


@pytest.fixture(scope="module")
def init_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("init")
    hf_model("Wav2Vec2ForSequenceClassification", True, "layer", num_labels=3, mask_time_prob=0.0,
             **NO_DROPOUT).save_pretrained(path)
    return path


def _args(lib, out, **overrides):
    common = dict(output_dir=str(out), learning_rate=1e-3, per_device_train_batch_size=2,
                  per_device_eval_batch_size=4, gradient_accumulation_steps=2, max_steps=4, logging_steps=2,
                  eval_strategy="steps", eval_steps=3, save_strategy="steps", save_steps=2,
                  train_sampling_strategy="sequential", report_to="none", seed=0, disable_tqdm=True)
    common.update(overrides)
    return lib.TrainingArguments(**common)


class Recorder(transformers.TrainerCallback):
    """Written for Transformers' Trainer: records every event with the step it saw."""

    def __init__(self):
        self.events = []

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name.startswith("on_"):
            def record(args, state, control, **kwargs):
                assert {"model", "optimizer", "lr_scheduler", "train_dataloader"} <= set(kwargs)
                self.events.append((name, state.global_step))
                return attr(args, state, control, **kwargs)
            return record
        return attr


def _train(lib, init_dir, out, callbacks, **overrides):
    auto = getattr(lib, "AutoModelForAudioClassification")
    model = auto.from_pretrained(init_dir)
    trainer = lib.Trainer(model=model, args=_args(lib, out, **overrides), train_dataset=_dataset(10),
                          eval_dataset=_dataset(4, seed=1), callbacks=callbacks)
    trainer.train()
    return trainer


def test_transformers_callback_sees_the_same_events_in_the_same_order(init_dir, tmp_path):
    theirs, ours = Recorder(), Recorder()
    hf = _train(transformers, init_dir, tmp_path / "hf", [theirs])
    pm = _train(polymodal, init_dir, tmp_path / "pm", [ours])
    assert ours.events == theirs.events
    assert {name for name, _ in ours.events} >= {
        "on_init_end", "on_train_begin", "on_epoch_begin", "on_step_begin", "on_substep_end",
        "on_pre_optimizer_step", "on_optimizer_step", "on_step_end", "on_log", "on_prediction_step",
        "on_evaluate", "on_save", "on_epoch_end", "on_train_end"}
    assert pm.state.global_step == hf.state.global_step == 4
    drop = {"train_runtime", "train_steps_per_second", "train_samples_per_second", "eval_runtime",
            "eval_samples_per_second", "eval_steps_per_second", "total_flos", "train_loss"}
    assert [sorted(set(e) - drop) for e in pm.state.log_history] == [sorted(set(e) - drop) for e in hf.state.log_history]


def test_trainer_state_file_loads_in_transformers_and_back(init_dir, tmp_path):
    _train(polymodal, init_dir, tmp_path / "pm", None)
    path = tmp_path / "pm" / "checkpoint-4" / "trainer_state.json"
    theirs = transformers.TrainerState.load_from_json(str(path))
    assert theirs.global_step == 4 and theirs.max_steps == 4 and theirs.save_steps == 2
    assert theirs.log_history == json.loads(path.read_text())["log_history"]
    assert "TrainerControl" in theirs.stateful_callbacks
    _train(transformers, init_dir, tmp_path / "hf", None)
    ours = polymodal.TrainerState.load_from_json(tmp_path / "hf" / "checkpoint-4" / "trainer_state.json")
    assert ours.global_step == 4 and ours.eval_steps == 3 and ours.log_history
    assert ours["global_step"] == 4  # the older dict-style access still works


def test_early_stopping_matches_transformers(init_dir, tmp_path):
    steps = []
    for lib in (transformers, polymodal):
        trainer = _train(lib, init_dir, tmp_path / lib.__name__, [lib.EarlyStoppingCallback(early_stopping_patience=2)],
                         learning_rate=0.0, max_steps=20, eval_steps=1, save_steps=1, logging_steps=1,
                         load_best_model_at_end=True, gradient_accumulation_steps=1, save_total_limit=2)
        steps.append((trainer.state.global_step, trainer.state.best_global_step))
    assert steps[0] == steps[1] == (3, 1)


def test_add_pop_remove_callback(init_dir, tmp_path):
    class Mine(polymodal.TrainerCallback):
        pass

    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    trainer = polymodal.Trainer(model=model, args=_args(polymodal, tmp_path, eval_strategy="no"), callbacks=[Mine])
    names = [type(c).__name__ for c in trainer.callbacks]
    assert names == ["DefaultFlowCallback", "Mine", "PrinterCallback"]
    mine = trainer.pop_callback(Mine)
    assert isinstance(mine, Mine) and trainer.pop_callback(Mine) is None
    trainer.add_callback(mine)
    trainer.remove_callback(mine)
    trainer.remove_callback(polymodal.PrinterCallback)
    trainer.add_callback(polymodal.ProgressCallback)
    assert [type(c).__name__ for c in trainer.callbacks] == ["DefaultFlowCallback", "ProgressCallback"]


def test_callback_control_stops_training(init_dir, tmp_path):
    class StopAtTwo(polymodal.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                control.should_training_stop = True

    trainer = _train(polymodal, init_dir, tmp_path, [StopAtTwo()], eval_strategy="no", save_strategy="no")
    assert trainer.state.global_step == 2


def test_tensorboard_writes_event_files(init_dir, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logdir = tmp_path / "tb"
    trainer = _train(polymodal, init_dir, tmp_path / "out", None, report_to="tensorboard", logging_dir=str(logdir),
                     save_strategy="no")
    assert any(isinstance(c, polymodal.TensorBoardCallback) for c in trainer.callbacks)
    events = EventAccumulator(str(logdir))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert {"train/loss", "train/learning_rate", "eval/loss"} <= set(tags)
    assert [e.step for e in events.Scalars("train/loss")] == [2, 4]


def test_report_to_errors_are_clear(init_dir, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="not a known integration"):
        polymodal.TrainingArguments(report_to="tensorbord")
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    with pytest.raises(ConfigError, match="implements only"):
        polymodal.Trainer(model=model, args=_args(polymodal, tmp_path, report_to=["wandb"]))
    from polymodal.train import integrations

    monkeypatch.setattr(integrations, "is_tensorboard_available", lambda: False)
    monkeypatch.setitem(integrations._IMPLEMENTED, "tensorboard",
                        (integrations.TensorBoardCallback, integrations.is_tensorboard_available))
    with pytest.raises(ConfigError, match="not installed"):
        polymodal.Trainer(model=model, args=_args(polymodal, tmp_path, report_to="tensorboard"))
    assert integrations.normalize_report_to("all") == []


def test_eval_strategy_without_eval_dataset_is_an_error(init_dir, tmp_path):
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    trainer = polymodal.Trainer(model=model, args=_args(polymodal, tmp_path), train_dataset=_dataset(4))
    with pytest.raises(ConfigError, match="needs an eval_dataset"):
        trainer.train()


def test_public_names():
    from polymodal import (  # noqa: F401
        DefaultFlowCallback,
        EarlyStoppingCallback,
        PrinterCallback,
        ProgressCallback,
        TensorBoardCallback,
        TrainerCallback,
        TrainerControl,
        TrainerState,
    )

    control = TrainerControl()
    control.should_log = control.should_save = True
    control._new_step()
    assert not control.should_log and not control.should_save


class _FakeApi:
    calls: list = []

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs.get("private")))

    def upload_folder(self, folder_path, repo_id, commit_message, revision=None, ignore_patterns=None):
        from pathlib import Path

        files = sorted(p.name for p in Path(folder_path).iterdir())
        self.calls.append(("upload_folder", repo_id, commit_message, files, ignore_patterns, self.token))
        return type("Info", (), {"commit_url": f"https://hub/{repo_id}/commit/1"})()


def test_push_to_hub_online_uploads_through_huggingface_hub(init_dir, tmp_path, monkeypatch):
    import huggingface_hub

    from polymodal.core import hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "_hub_reachable", lambda: True)
    monkeypatch.setattr(huggingface_hub, "HfApi", _FakeApi)
    _FakeApi.calls = []

    class PushSeen(polymodal.TrainerCallback):
        pushes = 0

        def on_push_begin(self, args, state, control, **kwargs):
            PushSeen.pushes += 1

    trainer = _train(polymodal, init_dir, tmp_path / "my-model", [PushSeen()], eval_strategy="no", save_steps=4,
                     push_to_hub=True, hub_token="tok", hub_private_repo=True)
    url = trainer.push_to_hub()
    assert url == "https://hub/my-model/commit/1" and PushSeen.pushes == 1
    uploads = [c for c in _FakeApi.calls if c[0] == "upload_folder"]
    # every_save: the checkpoint at step 4, without its training state; then the final model folder.
    assert [u[2] for u in uploads] == ["Training in progress, step 4", "End of training"]
    assert "model.safetensors" in uploads[0][3] and "training_state.safetensors" in uploads[0][4]
    assert "checkpoint-4" in uploads[1][3] and "checkpoint-*/**" in uploads[1][4] and uploads[1][5] == "tok"
    assert ("create_repo", "my-model", True) in _FakeApi.calls


def test_push_to_hub_offline_is_one_clear_error(init_dir, tmp_path, monkeypatch, caplog):
    from polymodal.core.errors import HubUnavailableError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    with caplog.at_level("WARNING", logger="polymodal"):
        trainer = polymodal.Trainer(model=model, args=_args(polymodal, tmp_path, eval_strategy="no",
                                                            push_to_hub=True, hub_model_id="me/model"))
    assert "offline" in caplog.text
    with pytest.raises(HubUnavailableError, match=r"Trainer.push_to_hub\(\).*HF_HUB_OFFLINE.*huggingface-cli upload me/model"):
        trainer.push_to_hub()
    assert (tmp_path / "model.safetensors").is_file()  # saved locally before the error


def test_callback_states_restored_from_checkpoint(init_dir, tmp_path):
    stopper = polymodal.EarlyStoppingCallback(early_stopping_patience=5)
    _train(polymodal, init_dir, tmp_path, [stopper], learning_rate=0.0, max_steps=3, eval_steps=1, save_steps=1,
           gradient_accumulation_steps=1, metric_for_best_model="loss")
    assert stopper.early_stopping_patience_counter == 2
    saved = json.loads((tmp_path / "checkpoint-3" / "trainer_state.json").read_text())
    assert saved["stateful_callbacks"]["EarlyStoppingCallback"]["attributes"] == {"early_stopping_patience_counter": 2}
    fresh = polymodal.EarlyStoppingCallback(early_stopping_patience=5)
    model = polymodal.AutoModelForAudioClassification.from_pretrained(init_dir)
    trainer = polymodal.Trainer(model=model, args=_args(polymodal, tmp_path, learning_rate=0.0, max_steps=3,
                                                        eval_steps=1, gradient_accumulation_steps=1,
                                                        metric_for_best_model="loss",
                                                        restore_callback_states_from_checkpoint=True),
                                train_dataset=_dataset(10), eval_dataset=_dataset(4, seed=1), callbacks=[fresh])
    trainer.train(resume_from_checkpoint=str(tmp_path / "checkpoint-2"))
    assert fresh.early_stopping_patience_counter == 2  # 1 restored from checkpoint-2, +1 at step 3


def test_save_strategy_best_and_eval_on_start_like_transformers(init_dir, tmp_path):
    runs = []
    for lib in (transformers, polymodal):
        recorder = Recorder()
        out = tmp_path / lib.__name__
        trainer = _train(lib, init_dir, out, [recorder], save_strategy="best", metric_for_best_model="loss",
                         eval_on_start=True, eval_steps=1, gradient_accumulation_steps=1, learning_rate=5e-3)
        runs.append((recorder.events, sorted(p.name for p in out.glob("checkpoint-*")),
                     Path(trainer.state.best_model_checkpoint).name, trainer.state.best_global_step))
    assert runs[1] == runs[0]
    assert runs[1][0][2] == ("on_prediction_step", 0)  # evaluated before the first step


def test_argument_checks_for_best_model():
    with pytest.raises(ConfigError, match="save_strategy='best'"):
        polymodal.TrainingArguments(save_strategy="best")
    with pytest.raises(ConfigError, match="multiple of eval_steps"):
        polymodal.TrainingArguments(load_best_model_at_end=True, eval_strategy="steps", eval_steps=3, save_steps=4)
    args = polymodal.TrainingArguments(load_best_model_at_end=True, eval_strategy="epoch", save_strategy="best",
                                       metric_for_best_model="accuracy")
    assert args.greater_is_better is True
    with pytest.raises(TypeError, match="unexpected keyword"):
        polymodal.Trainer.train(object.__new__(polymodal.Trainer), resume=True)
