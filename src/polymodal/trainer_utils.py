"""``transformers.trainer_utils``'s import path (``set_seed``, ``get_last_checkpoint``, …).
The code is in :mod:`polymodal.train.trainer_utils`."""

from .train.checkpoint import PREFIX as PREFIX_CHECKPOINT_DIR
from .train.optimization import SchedulerType
from .train.trainer_utils import (
    EvalPrediction,
    IntervalStrategy,
    PredictionOutput,
    TrainOutput,
    enable_full_determinism,
    get_last_checkpoint,
    set_seed,
)

__all__ = [
    "PREFIX_CHECKPOINT_DIR", "EvalPrediction", "IntervalStrategy", "PredictionOutput", "SchedulerType", "TrainOutput",
    "enable_full_determinism", "get_last_checkpoint", "set_seed",
]
