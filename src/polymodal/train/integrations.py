"""Reporting integrations (``TrainingArguments.report_to``): TensorBoard.

An integration named in ``report_to`` that is not installed, or that polymodal does not
implement, is an error at ``Trainer`` construction — never silently ignored.
"""

from __future__ import annotations

import importlib.util
import os

from ..core.errors import ConfigError
from .callbacks import TrainerCallback

# Integrations Transformers knows; only those in _IMPLEMENTED have a polymodal callback.
_KNOWN = ("azure_ml", "clearml", "codecarbon", "comet_ml", "dagshub", "dvclive", "flyte", "mlflow", "neptune",
          "swanlab", "tensorboard", "trackio", "wandb")


def is_tensorboard_available() -> bool:
    return importlib.util.find_spec("tensorboard") is not None or importlib.util.find_spec("tensorboardX") is not None


def default_logdir() -> str:
    """``runs/<Mon01_12-00-00>_<host>``: the folder name torch's SummaryWriter picks."""
    import socket
    from datetime import datetime

    return os.path.join("runs", datetime.now().strftime("%b%d_%H-%M-%S") + "_" + socket.gethostname())


def rewrite_logs(logs: dict) -> dict:
    """``eval_loss`` → ``eval/loss``, ``test_x`` → ``test/x``, anything else → ``train/…`` (TensorBoard groups)."""
    out = {}
    for key, value in logs.items():
        for prefix in ("eval", "test"):
            if key.startswith(prefix + "_"):
                out[f"{prefix}/{key[len(prefix) + 1:]}"] = value
                break
        else:
            out[f"train/{key}"] = value
    return out


class TensorBoardCallback(TrainerCallback):
    """Writes every log as TensorBoard scalars under ``args.logging_dir``
    (default ``<output_dir>/runs/<time>_<host>``); the arguments and model config as text."""

    def __init__(self, tb_writer=None):
        if tb_writer is None and not is_tensorboard_available():
            raise ConfigError("TensorBoardCallback (report_to='tensorboard') needs the tensorboard package: "
                              "pip install 'polymodal[tensorboard]' (or pip install tensorboard).")
        self.tb_writer = tb_writer
        self.logging_dir = None

    def _init_summary_writer(self, args, log_dir=None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.logging_dir = log_dir or args.logging_dir or os.path.join(args.output_dir, default_logdir())
        self.tb_writer = SummaryWriter(log_dir=self.logging_dir)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        if self.tb_writer is None:
            self._init_summary_writer(args)
        self.tb_writer.add_text("args", args.to_json_string())
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_json_string"):
            self.tb_writer.add_text("model_config", config.to_json_string())

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero:
            return
        if self.tb_writer is None:
            self._init_summary_writer(args)
        for key, value in rewrite_logs(logs or {}).items():
            if isinstance(value, (int, float)):
                self.tb_writer.add_scalar(key, value, state.global_step)
            elif isinstance(value, str):
                self.tb_writer.add_text(key, value, state.global_step)
        self.tb_writer.flush()

    def on_train_end(self, args, state, control, **kwargs):
        if self.tb_writer is not None:
            self.tb_writer.close()
            self.tb_writer = None


_IMPLEMENTED = {"tensorboard": (TensorBoardCallback, is_tensorboard_available)}


def normalize_report_to(report_to) -> list[str]:
    """``"all"`` → every installed integration polymodal implements; ``"none"``/None → []; a name → [name]."""
    if report_to is None or report_to == "none" or report_to == ["none"]:
        return []
    if report_to == "all" or report_to == ["all"]:
        return [name for name, (_, available) in _IMPLEMENTED.items() if available()]
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    for name in names:
        if name not in _KNOWN:
            raise ConfigError(f"report_to={name!r} is not a known integration; use 'tensorboard', 'all' or 'none'.")
    return names


def get_reporting_integration_callbacks(report_to) -> list[type]:
    """Callback classes for ``report_to``; a clear error for one that is missing or not implemented."""
    classes = []
    for name in normalize_report_to(report_to):
        if name not in _IMPLEMENTED:
            raise ConfigError(f"report_to={name!r}: polymodal implements only {sorted(_IMPLEMENTED)}. Use "
                              "report_to='tensorboard', or write a TrainerCallback whose on_log sends the logs.")
        cls, available = _IMPLEMENTED[name]
        if not available():
            raise ConfigError(f"report_to={name!r} but the {name} package is not installed: "
                              f"pip install 'polymodal[{name}]' (or pip install {name}), or set report_to='none'.")
        classes.append(cls)
    return classes
