"""Schedules, get_scheduler, Adafactor and optim= choices against Transformers, step for step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import polymodal
from polymodal.core.errors import ConfigError
from polymodal.train import optimization as ours

transformers = pytest.importorskip("transformers")
from transformers import optimization as theirs  # noqa: E402

WARMUP, TOTAL, STEPS = 4, 20, 26  # run past the end: what a schedule does after num_training_steps matters too

SCHEDULES = [
    ("linear", {}), ("cosine", {}), ("cosine", {"num_cycles": 1.5}), ("cosine_with_restarts", {"num_cycles": 3}),
    ("polynomial", {}), ("polynomial", {"lr_end": 1e-3, "power": 2.0}), ("constant", {}),
    ("constant_with_warmup", {}), ("inverse_sqrt", {}), ("inverse_sqrt", {"timescale": 7}),
    ("cosine_with_min_lr", {"min_lr": 0.01}), ("cosine_with_min_lr", {"min_lr_rate": 0.2}),
    ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.1}),
    ("cosine_warmup_with_min_lr", {"min_lr": 0.05, "warmup_lr_rate": 0.3}),
    ("warmup_stable_decay", {"num_decay_steps": 6}),
    ("warmup_stable_decay", {"num_decay_steps": 5, "warmup_type": "cosine", "decay_type": "1-sqrt",
                             "min_lr_ratio": 0.1}),
    ("warmup_stable_decay", {"num_decay_steps": 5, "num_stable_steps": 3, "warmup_type": "1-sqrt",
                             "decay_type": "linear"}),
]


def _curve(module, name, kwargs, warmup=WARMUP, total=TOTAL):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    scheduler = module.get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=total,
                                     scheduler_specific_kwargs=dict(kwargs))
    rates = []
    for _ in range(STEPS):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.filterwarnings("ignore:Both num_training_steps")
@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES, ids=lambda v: str(v))
def test_schedule_equals_transformers(name, kwargs):
    np.testing.assert_allclose(_curve(ours, name, kwargs), _curve(theirs, name, kwargs), rtol=1e-12, atol=0)


@pytest.mark.filterwarnings("ignore:Both num_training_steps")
def test_zero_warmup_and_every_name_is_covered():
    for name, kwargs in SCHEDULES:
        np.testing.assert_allclose(_curve(ours, name, kwargs, warmup=0), _curve(theirs, name, kwargs, warmup=0),
                                   rtol=1e-12, atol=0)
    covered = {name for name, _ in SCHEDULES} | {"reduce_lr_on_plateau"}
    assert covered == {t.value for t in ours.SchedulerType}


@pytest.mark.parametrize("fn", ["get_constant_schedule", "get_constant_schedule_with_warmup",
                                "get_linear_schedule_with_warmup", "get_cosine_schedule_with_warmup",
                                "get_cosine_with_hard_restarts_schedule_with_warmup",
                                "get_polynomial_decay_schedule_with_warmup", "get_inverse_sqrt_schedule"])
def test_public_schedule_functions(fn):
    def run(module):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        args = {"num_warmup_steps": 3} if fn != "get_constant_schedule" else {}
        if "linear" in fn or "cosine" in fn or "polynomial" in fn:
            args["num_training_steps"] = 12
        scheduler = getattr(module, fn)(optimizer, **args)
        out = []
        for _ in range(15):
            out.append(scheduler.get_last_lr()[0])
            optimizer.step()
            scheduler.step()
        return out

    np.testing.assert_allclose(run(ours), run(theirs), rtol=1e-12)
    assert getattr(polymodal, fn) is getattr(ours, fn)


def test_scheduler_errors():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ConfigError, match="not a known schedule"):
        ours.get_scheduler("cosine_restarts", optimizer, 1, 10)
    with pytest.raises(ConfigError, match="num_training_steps"):
        ours.get_scheduler("linear", optimizer, 1)
    with pytest.raises(ConfigError, match="min_lr"):
        ours.get_scheduler("cosine_with_min_lr", optimizer, 1, 10)
    with pytest.raises(ConfigError, match="lr_end"):
        ours.get_scheduler("polynomial", optimizer, 1, 10, {"lr_end": 1.0})
    plateau = ours.get_scheduler("reduce_lr_on_plateau", optimizer, scheduler_specific_kwargs={"patience": 2})
    assert isinstance(plateau, torch.optim.lr_scheduler.ReduceLROnPlateau) and plateau.patience == 2
    with pytest.raises(ConfigError, match="lr_scheduler_type"):
        polymodal.TrainingArguments(lr_scheduler_type="cosine_restarts")
    with pytest.raises(ConfigError, match="needs evaluations"):
        polymodal.TrainingArguments(lr_scheduler_type="reduce_lr_on_plateau")


ADAFACTOR_SETTINGS = [
    {},
    {"warmup_init": True},
    {"lr": 1e-2, "relative_step": False, "scale_parameter": False},
    {"lr": 3e-3, "relative_step": False, "beta1": 0.9, "weight_decay": 0.01, "clip_threshold": 0.5},
    {"scale_parameter": False, "decay_rate": -0.5, "beta1": 0.8},
]


def _params(seed=0):
    g = torch.Generator().manual_seed(seed)
    shapes = [(6, 5), (7,), (2, 3, 4), (1, 1)]
    return [torch.nn.Parameter(torch.randn(*s, generator=g)) for s in shapes]


@pytest.mark.parametrize("settings", ADAFACTOR_SETTINGS, ids=str)
def test_adafactor_equals_transformers(settings):
    runs = []
    for module in (ours, theirs):
        params = _params()
        optimizer = module.Adafactor(params, **settings)
        schedule = module.AdafactorSchedule(optimizer) if settings.get("lr") is None else None
        g = torch.Generator().manual_seed(1)
        rates = []
        for _ in range(6):
            for p in params:
                p.grad = torch.randn(p.shape, generator=g)
            optimizer.step()
            if schedule is not None:
                schedule.step()
                rates.append(schedule.get_lr())
        runs.append(([p.detach().clone() for p in params], rates))
    for a, b in zip(runs[0][0], runs[1][0]):
        torch.testing.assert_close(a, b, atol=1e-7, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(runs[0][1], dtype=float), np.asarray(runs[1][1], dtype=float), rtol=1e-6)


def test_adafactor_bf16_params_and_errors():
    for module in (ours, theirs):
        p = torch.nn.Parameter(torch.ones(4, 4, dtype=torch.bfloat16))
        p.grad = torch.full((4, 4), 0.5, dtype=torch.bfloat16)
        module.Adafactor([p]).step()
        assert p.dtype == torch.bfloat16
    with pytest.raises(ConfigError, match="relative_step"):
        ours.Adafactor(_params(), lr=1e-3)
    with pytest.raises(ConfigError, match="warmup_init"):
        ours.Adafactor(_params(), lr=1e-3, relative_step=False, warmup_init=True)


@pytest.mark.parametrize(("optim", "optim_args"), [
    ("adamw_torch", None), ("adamw_torch_fused", None), ("adafactor", None), ("sgd", "momentum=0.9,nesterov=True"),
    ("adagrad", "lr_decay=0.1"), ("rmsprop", "momentum=0.5,centered=true")])
def test_optim_choices_match_transformers(optim, optim_args, tmp_path):
    settings = dict(output_dir=str(tmp_path), optim=optim, optim_args=optim_args, learning_rate=3e-4,
                    adam_beta1=0.8, adam_epsilon=1e-6)
    cls, kwargs = ours.get_optimizer_cls_and_kwargs(polymodal.TrainingArguments(**settings))
    their_cls, their_kwargs = transformers.Trainer.get_optimizer_cls_and_kwargs(
        transformers.TrainingArguments(**settings))
    assert cls.__name__ == their_cls.__name__ and kwargs == their_kwargs


def test_unknown_optim_is_a_clear_error():
    with pytest.raises(ConfigError, match="optim='lion_8bit'"):
        polymodal.TrainingArguments(optim="lion_8bit")
    with pytest.raises(ConfigError, match="key=value"):
        ours.get_optimizer_cls_and_kwargs(polymodal.TrainingArguments(optim="sgd", optim_args="momentum"))


def test_trainer_uses_the_schedule_and_optimizer(tmp_path):
    from wav2vec2_helpers import NO_DROPOUT, hf_model

    hf_model("Wav2Vec2ForSequenceClassification", True, "layer", num_labels=2, mask_time_prob=0.0,
             **NO_DROPOUT).save_pretrained(tmp_path / "init")
    rng = np.random.default_rng(0)
    data = [{"input_values": rng.standard_normal(800).astype(np.float32), "label": i % 2} for i in range(8)]
    logged = []
    for lib in (transformers, polymodal):
        args = lib.TrainingArguments(
            output_dir=str(tmp_path / lib.__name__), max_steps=6, per_device_train_batch_size=2, learning_rate=1e-3,
            warmup_steps=2, lr_scheduler_type="cosine_with_restarts", lr_scheduler_kwargs={"num_cycles": 2},
            optim="adafactor", logging_steps=1, save_strategy="no", report_to="none", disable_tqdm=True,
            train_sampling_strategy="sequential")
        model = lib.AutoModelForAudioClassification.from_pretrained(tmp_path / "init")
        trainer = lib.Trainer(model=model, args=args, train_dataset=data)
        trainer.train()
        assert type(getattr(trainer.optimizer, "optimizer", trainer.optimizer)).__name__ == "Adafactor"
        logged.append([(e["learning_rate"], e["loss"]) for e in trainer.state.log_history if "loss" in e])
    np.testing.assert_allclose(logged[1], logged[0], rtol=1e-6, atol=2e-5)
