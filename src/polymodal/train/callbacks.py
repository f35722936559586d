"""Trainer callbacks: the events of the training loop and the stock callbacks.

A callback written for Transformers' ``Trainer`` runs unchanged: the events, their order, the
keyword arguments they receive and the ``TrainerControl`` contract are the same. Callbacks only
read the loop's state; they act on it by setting flags on ``control`` (and returning it or not).
"""

from __future__ import annotations

import logging

from ..core.errors import ConfigError
from .state import ExportableState, TrainerControl, TrainerState

logger = logging.getLogger("polymodal")

# Every event of the callback page, in the order a training run first meets them.
EVENTS = ("on_init_end", "on_train_begin", "on_epoch_begin", "on_step_begin", "on_substep_end",
          "on_pre_optimizer_step", "on_optimizer_step", "on_step_end", "on_log", "on_prediction_step",
          "on_evaluate", "on_predict", "on_save", "on_epoch_end", "on_train_end", "on_push_begin")


class TrainerCallback:
    """Base class: override the events you need. Each receives ``(args, state, control, **kwargs)``
    with ``model``, ``processing_class``, ``optimizer``, ``lr_scheduler``, ``train_dataloader`` and
    ``eval_dataloader`` in ``kwargs`` (plus ``logs`` for ``on_log``, ``metrics`` for
    ``on_evaluate``/``on_predict``)."""

    def on_init_end(self, args, state, control, **kwargs):
        """At the end of ``Trainer.__init__``."""

    def on_train_begin(self, args, state, control, **kwargs):
        """At the start of ``train()``."""

    def on_train_end(self, args, state, control, **kwargs):
        """At the end of ``train()``."""

    def on_epoch_begin(self, args, state, control, **kwargs):
        """At the start of an epoch."""

    def on_epoch_end(self, args, state, control, **kwargs):
        """At the end of an epoch."""

    def on_step_begin(self, args, state, control, **kwargs):
        """Before the first micro-batch of an optimizer step (gradient accumulation)."""

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        """After gradient clipping, before ``optimizer.step()``."""

    def on_optimizer_step(self, args, state, control, **kwargs):
        """After ``optimizer.step()``, before the gradients are zeroed."""

    def on_substep_end(self, args, state, control, **kwargs):
        """After a micro-batch that does not end an optimizer step."""

    def on_step_end(self, args, state, control, **kwargs):
        """After an optimizer step (``state.global_step`` is already incremented)."""

    def on_evaluate(self, args, state, control, **kwargs):
        """After an evaluation (``metrics`` in kwargs)."""

    def on_predict(self, args, state, control, metrics, **kwargs):
        """After ``Trainer.predict``."""

    def on_save(self, args, state, control, **kwargs):
        """After a checkpoint is saved."""

    def on_log(self, args, state, control, **kwargs):
        """After the trainer logged something (``logs`` in kwargs)."""

    def on_prediction_step(self, args, state, control, **kwargs):
        """After each evaluation/prediction batch."""

    def on_push_begin(self, args, state, control, **kwargs):
        """Before the trainer pushes to the Hub."""


class CallbackHandler(TrainerCallback):
    """Calls the callbacks in order; a callback may return a new ``control`` or ``None``."""

    def __init__(self, callbacks, model, processing_class, optimizer, lr_scheduler):
        self.callbacks: list = []
        for callback in callbacks:
            self.add_callback(callback)
        self.model, self.processing_class = model, processing_class
        self.optimizer, self.lr_scheduler = optimizer, lr_scheduler
        self.train_dataloader = self.eval_dataloader = None

    def add_callback(self, callback) -> None:
        instance = callback() if isinstance(callback, type) else callback
        if type(instance) in {type(c) for c in self.callbacks}:
            logger.warning("Adding a second %s to the Trainer's callbacks (now: %s).", type(instance).__name__,
                           self.callback_list)
        self.callbacks.append(instance)

    def pop_callback(self, callback):
        found = self._find(callback)
        if found is not None:
            self.callbacks.remove(found)
        return found

    def remove_callback(self, callback) -> None:
        self.pop_callback(callback)

    def _find(self, callback):
        for candidate in self.callbacks:
            if isinstance(callback, type) and isinstance(candidate, callback) or candidate is callback:
                return candidate
        return None

    @property
    def callback_list(self) -> str:
        return ", ".join(type(c).__name__ for c in self.callbacks)

    def call_event(self, event: str, args, state, control, **kwargs):
        for callback in self.callbacks:
            if not hasattr(callback, event):  # a duck-typed callback that does not define this event
                continue
            result = getattr(callback, event)(
                args, state, control, model=self.model, processing_class=self.processing_class,
                optimizer=self.optimizer, lr_scheduler=self.lr_scheduler,
                train_dataloader=self.train_dataloader, eval_dataloader=self.eval_dataloader, **kwargs)
            if result is not None:
                control = result
        return control

    # The handler resets the flags an event consumes before the callbacks see it.
    def on_train_begin(self, args, state, control, **kwargs):
        control._new_training()
        return self.call_event("on_train_begin", args, state, control, **kwargs)

    def on_epoch_begin(self, args, state, control, **kwargs):
        control._new_epoch()
        return self.call_event("on_epoch_begin", args, state, control, **kwargs)

    def on_step_begin(self, args, state, control, **kwargs):
        control._new_step()
        return self.call_event("on_step_begin", args, state, control, **kwargs)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        control.should_evaluate = False
        return self.call_event("on_evaluate", args, state, control, metrics=metrics, **kwargs)

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        return self.call_event("on_predict", args, state, control, metrics=metrics, **kwargs)

    def on_save(self, args, state, control, **kwargs):
        control.should_save = False
        return self.call_event("on_save", args, state, control, **kwargs)

    def on_log(self, args, state, control, logs=None, **kwargs):
        control.should_log = False
        return self.call_event("on_log", args, state, control, logs=logs, **kwargs)


def _forward(event: str):
    def method(self, args, state, control, **kwargs):
        return self.call_event(event, args, state, control, **kwargs)

    method.__name__ = event
    return method


for _event in ("on_init_end", "on_train_end", "on_epoch_end", "on_pre_optimizer_step", "on_optimizer_step",
               "on_substep_end", "on_step_end", "on_prediction_step", "on_push_begin"):
    setattr(CallbackHandler, _event, _forward(_event))


class DefaultFlowCallback(TrainerCallback):
    """Decides when to log, evaluate, save and stop from the ``*_strategy``/``*_steps`` arguments."""

    def on_step_end(self, args, state, control, **kwargs):
        step = state.global_step
        if step == 1 and args.logging_first_step:
            control.should_log = True
        if args.logging_strategy == "steps" and state.logging_steps and step % state.logging_steps == 0:
            control.should_log = True
        eval_due = args.eval_strategy == "steps" and args.eval_delay <= step
        if eval_due and step % state.eval_steps == 0:
            control.should_evaluate = True
        if args.save_strategy == "steps" and state.save_steps > 0 and step % state.save_steps == 0:
            control.should_save = True
        if step >= state.max_steps:
            control.should_training_stop = True
            # The last step is always evaluated and saved under the "steps" strategies.
            if eval_due and step % state.eval_steps != 0:
                control.should_evaluate = True
            if args.save_strategy == "steps":
                control.should_save = True
        return control

    def on_epoch_end(self, args, state, control, **kwargs):
        if args.logging_strategy == "epoch":
            control.should_log = True
        if args.eval_strategy == "epoch" and args.eval_delay <= state.epoch:
            control.should_evaluate = True
        if args.save_strategy == "epoch":
            control.should_save = True
        return control


def _bars_enabled() -> bool:
    from ..logging import is_progress_bar_enabled

    return is_progress_bar_enabled()


def _format_logs(logs: dict) -> dict:
    return {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in logs.items() if k != "total_flos"}


class ProgressCallback(TrainerCallback):
    """A tqdm bar for training and evaluation; logs are written above the bar."""

    def __init__(self, max_str_len: int = 100):
        self.training_bar = self.prediction_bar = None
        self.max_str_len = max_str_len
        self.current_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        from tqdm.auto import tqdm

        if state.is_world_process_zero:
            self.training_bar = tqdm(total=state.max_steps, initial=state.global_step, dynamic_ncols=True,
                                     disable=not _bars_enabled())
        self.current_step = state.global_step

    def on_step_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None:
            self.training_bar.update(state.global_step - self.current_step)
            self.current_step = state.global_step

    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
        from tqdm.auto import tqdm

        if not state.is_world_process_zero or eval_dataloader is None or not hasattr(eval_dataloader, "__len__"):
            return
        if self.prediction_bar is None:
            self.prediction_bar = tqdm(total=len(eval_dataloader), leave=self.training_bar is None,
                                       dynamic_ncols=True, disable=not _bars_enabled())
        self.prediction_bar.update(1)

    def _close_prediction_bar(self) -> None:
        if self.prediction_bar is not None:
            self.prediction_bar.close()
        self.prediction_bar = None

    def on_evaluate(self, args, state, control, **kwargs):
        self._close_prediction_bar()

    def on_predict(self, args, state, control, **kwargs):
        self._close_prediction_bar()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or self.training_bar is None:
            return
        shown = {k: (f"[string of length {len(v)} not shown]" if isinstance(v, str) and len(v) > self.max_str_len
                     else v) for k, v in (logs or {}).items()}
        self.training_bar.write(str(_format_logs(shown)))

    def on_train_end(self, args, state, control, **kwargs):
        if self.training_bar is not None:
            self.training_bar.close()
        self.training_bar = None


class PrinterCallback(TrainerCallback):
    """Prints each log dict (used instead of the progress bar when ``disable_tqdm=True``)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_local_process_zero and logs is not None:
            print(_format_logs(logs))


class EarlyStoppingCallback(TrainerCallback, ExportableState):
    """Stops training when ``metric_for_best_model`` has not improved (by more than
    ``early_stopping_threshold``) for ``early_stopping_patience`` evaluations in a row."""

    def __init__(self, early_stopping_patience: int = 1, early_stopping_threshold: float | None = 0.0):
        if int(early_stopping_patience) < 1:
            raise ConfigError(f"early_stopping_patience must be >= 1, got {early_stopping_patience}.")
        self.early_stopping_patience = early_stopping_patience
        self.early_stopping_threshold = early_stopping_threshold or 0.0
        self.early_stopping_patience_counter = 0  # evaluations in a row without improvement

    def check_metric_value(self, args, state, control, metric_value) -> None:
        best = state.best_metric
        improved = best is None or (metric_value > best if args.greater_is_better else metric_value < best)
        if best is None or (improved and abs(metric_value - best) > self.early_stopping_threshold):
            self.early_stopping_patience_counter = 0
        else:
            self.early_stopping_patience_counter += 1

    def on_train_begin(self, args, state, control, **kwargs):
        if args.metric_for_best_model is None:
            raise ConfigError("EarlyStoppingCallback needs TrainingArguments(metric_for_best_model=...) "
                              "(e.g. 'loss' or 'accuracy').")
        if args.eval_strategy == "no":
            raise ConfigError("EarlyStoppingCallback needs evaluations: set eval_strategy='steps' or 'epoch'.")
        if not args.load_best_model_at_end:
            logger.warning("EarlyStoppingCallback without load_best_model_at_end=True: the best model will not "
                           "be loaded at the end of training.")

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        name = args.metric_for_best_model
        key = name if name.startswith("eval_") else f"eval_{name}"
        value = (metrics or {}).get(key)
        if value is None:
            logger.warning("EarlyStoppingCallback: the evaluation has no %r (only %s); not checking this time.",
                           key, sorted(metrics or {}))
            return
        self.check_metric_value(args, state, control, value)
        if self.early_stopping_patience_counter >= self.early_stopping_patience:
            control.should_training_stop = True

    def state(self) -> dict:
        return {"args": {"early_stopping_patience": self.early_stopping_patience,
                         "early_stopping_threshold": self.early_stopping_threshold},
                "attributes": {"early_stopping_patience_counter": self.early_stopping_patience_counter}}


__all__ = ["TrainerCallback", "CallbackHandler", "DefaultFlowCallback", "ProgressCallback", "PrinterCallback",
           "EarlyStoppingCallback", "TrainerState", "TrainerControl", "ExportableState", "EVENTS"]
