"""``transformers.trainer_callback``'s import path, so a callback module written for Transformers'
Trainer runs with ``polymodal`` in its imports. The code is in :mod:`polymodal.train.callbacks`
and :mod:`polymodal.train.state`."""

from .train.callbacks import (
    CallbackHandler,
    DefaultFlowCallback,
    EarlyStoppingCallback,
    PrinterCallback,
    ProgressCallback,
    TrainerCallback,
)
from .train.state import ExportableState, TrainerControl, TrainerState

__all__ = [
    "CallbackHandler", "DefaultFlowCallback", "EarlyStoppingCallback", "ExportableState", "PrinterCallback",
    "ProgressCallback", "TrainerCallback", "TrainerControl", "TrainerState",
]
