"""Small Trainer helpers of the ``trainer_utils`` page: seeding, determinism, result tuples."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

import numpy as np
import torch


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices); ``deterministic=True`` also turns on
    :func:`enable_full_determinism`."""
    if deterministic:
        enable_full_determinism(seed)
        return
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def enable_full_determinism(seed: int, warn_only: bool = False) -> None:
    """Seed everything and make torch pick deterministic kernels (slower; for debugging and
    distributed reproducibility). ``warn_only=True`` warns instead of failing on an op that has no
    deterministic kernel."""
    set_seed(seed)
    # cuBLAS needs a fixed workspace to be deterministic (CUDA >= 10.2); harmless on CPU.
    os.environ["CUDA_LAUNCH_BLOCKING"] = "1"
    os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":16:8"
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


class IntervalStrategy(str, Enum):
    NO = "no"
    STEPS = "steps"
    EPOCH = "epoch"


@dataclass
class EvalPrediction:
    """What ``compute_metrics`` receives; unpacks as ``predictions, label_ids``."""

    predictions: Any
    label_ids: Any
    inputs: Any = None

    def __iter__(self):
        return iter((self.predictions, self.label_ids))

    def __getitem__(self, index):
        return (self.predictions, self.label_ids)[index]


class PredictionOutput(NamedTuple):
    predictions: Any
    label_ids: Any
    metrics: dict[str, float] | None


class TrainOutput(NamedTuple):
    global_step: int
    training_loss: float
    metrics: dict[str, float]
