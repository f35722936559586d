"""``TrainerState`` and ``TrainerControl``: what callbacks read and the switches they flip.

``trainer_state.json`` has exactly Transformers' layout (the dataclass fields, sorted keys), so
a checkpoint folder written by polymodal loads with ``transformers.TrainerState.load_from_json``
and the other way round.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any


class ExportableState:
    """A callback whose settings and counters are stored in ``trainer_state.json``.

    ``state()`` returns ``{"args": <constructor kwargs>, "attributes": <counters>}``;
    ``from_state`` rebuilds the object from that dict.
    """

    def state(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must implement state() to be saved in a checkpoint.")

    @classmethod
    def from_state(cls, state: dict):
        instance = cls(**state["args"])
        for name, value in state["attributes"].items():
            setattr(instance, name, value)
        return instance


@dataclass
class TrainerState:
    """The progress of a training run (step, epoch, logs, best metric) shared with every callback."""

    epoch: float = 0
    global_step: int = 0
    max_steps: int = 0
    logging_steps: int = 500
    eval_steps: int = 500
    save_steps: int = 500
    train_batch_size: int | None = None
    num_train_epochs: int = 0
    num_input_tokens_seen: int = 0
    total_flos: float = 0
    log_history: list[dict[str, float]] = None  # type: ignore[assignment]
    best_metric: float | None = None
    best_global_step: int | None = None
    best_model_checkpoint: str | None = None
    is_local_process_zero: bool = True
    is_world_process_zero: bool = True
    is_hyper_param_search: bool = False
    trial_name: str | None = None
    trial_params: dict[str, Any] | None = None
    stateful_callbacks: Any = None

    def __post_init__(self):
        if self.log_history is None:
            self.log_history = []
        if self.stateful_callbacks is None:
            self.stateful_callbacks = {}
        elif not isinstance(self.stateful_callbacks, dict):  # a list of callbacks: store their states
            callbacks, self.stateful_callbacks = self.stateful_callbacks, {}
            for callback in callbacks:
                self.record_callback(callback)

    def record_callback(self, callback: ExportableState) -> None:
        """Store ``callback.state()`` under its class name (a list when there are several)."""
        if not isinstance(callback, ExportableState):
            raise TypeError(f"{type(callback).__name__} cannot be saved in trainer_state.json: it does not "
                            "inherit ExportableState (give it state() and from_state()).")
        name, value = type(callback).__name__, callback.state()
        if name not in self.stateful_callbacks:
            self.stateful_callbacks[name] = value
        elif isinstance(self.stateful_callbacks[name], list):
            self.stateful_callbacks[name].append(value)
        else:
            self.stateful_callbacks[name] = [self.stateful_callbacks[name], value]

    # The state was a plain dict in earlier polymodal versions: keep ``state["global_step"]`` working.
    def __getitem__(self, key: str):
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def compute_steps(self, args, max_steps: int) -> None:
        """Turn fractional ``logging/eval/save_steps`` (< 1: a share of ``max_steps``) into step counts."""
        for kind in ("logging", "eval", "save"):
            value = getattr(args, f"{kind}_steps")
            if value is not None:
                setattr(self, f"{kind}_steps", math.ceil(max_steps * value) if value < 1 else int(value))

    def to_json_string(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    def save_to_json(self, json_path) -> None:
        from ..core.io import atomic_write_text

        atomic_write_text(json_path, self.to_json_string())

    @classmethod
    def load_from_json(cls, json_path) -> TrainerState:
        with open(json_path, encoding="utf-8") as f:
            saved = json.load(f)
        known = {f.name for f in dataclasses.fields(cls)}
        # Files written by newer versions may hold more keys: keep what we know rather than fail.
        return cls(**{k: v for k, v in saved.items() if k in known})


@dataclass
class TrainerControl(ExportableState):
    """Switches a callback sets to steer the loop; the loop resets each at the documented moment."""

    should_training_stop: bool = False  # never reset once set
    should_epoch_stop: bool = False  # reset at the start of each epoch
    should_save: bool = False  # these three: reset at the start of each step
    should_evaluate: bool = False
    should_log: bool = False

    def _new_training(self) -> None:
        self.should_training_stop = False

    def _new_epoch(self) -> None:
        self.should_epoch_stop = False

    def _new_step(self) -> None:
        self.should_save = self.should_evaluate = self.should_log = False

    def state(self) -> dict:
        return {"args": dataclasses.asdict(self), "attributes": {}}
