"""Small Trainer helpers of the ``trainer_utils`` page: seeding, determinism, result tuples."""

from __future__ import annotations

import os
import random
from contextlib import contextmanager
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


@dataclass
class LabelSmoother:
    """Cross-entropy with label smoothing over the model's logits (``label_smoothing_factor``):
    ``(1 - epsilon) * nll + epsilon * mean over classes of -log p``, averaged over labelled positions
    (``ignore_index`` positions excluded)."""

    epsilon: float = 0.1
    ignore_index: int = -100

    def __call__(self, model_output, labels: torch.Tensor, shift_labels: bool = False) -> torch.Tensor:
        logits = model_output["logits"] if isinstance(model_output, dict) else model_output[0]
        if shift_labels:  # causal LM: position t predicts token t + 1
            logits, labels = logits[..., :-1, :].contiguous(), labels[..., 1:].contiguous()
        neg_log_probs = -torch.nn.functional.log_softmax(logits, dim=-1)
        if labels.dim() == neg_log_probs.dim() - 1:
            labels = labels.unsqueeze(-1)
        ignored = labels.eq(self.ignore_index)
        nll = neg_log_probs.gather(dim=-1, index=labels.clamp(min=0)).masked_fill(ignored, 0.0)
        smoothed = neg_log_probs.sum(dim=-1, keepdim=True, dtype=torch.float32).masked_fill(ignored, 0.0)
        active = ignored.numel() - ignored.long().sum()
        return (1 - self.epsilon) * nll.sum() / active + self.epsilon * smoothed.sum() / (active * neg_log_probs.shape[-1])


@contextmanager
def torch_distributed_zero_first(local_rank: int):
    """Let the local main process (rank 0 or -1) run the block first — e.g. to build a dataset cache —
    while the other processes wait, then run it on the others."""
    import torch.distributed as dist

    waits = local_rank not in (-1, 0) and dist.is_available() and dist.is_initialized()
    if waits:
        dist.barrier()
    yield
    if local_rank == 0 and dist.is_available() and dist.is_initialized():
        dist.barrier()



def get_last_checkpoint(folder) -> str | None:
    """The newest ``checkpoint-N`` folder in ``folder`` (as a path string), or None when there is none.

    Like Transformers' (scripts call it to resume); one difference on purpose: a folder a killed
    save left without its ``trainer_state.json`` is skipped, since resuming from it would fail.
    """
    from .checkpoint import sorted_checkpoints

    if not os.path.isdir(folder):
        raise FileNotFoundError(f"get_last_checkpoint: {str(folder)!r} is not a folder; pass the Trainer's output_dir.")
    found = sorted_checkpoints(folder)
    return str(found[-1]) if found else None

def _seconds_text(seconds: float) -> str:
    """``h:mm:ss.cc`` (hundredths), the format Transformers prints runtimes in."""
    import datetime

    return f"{datetime.timedelta(seconds=int(seconds))}.{int(abs(seconds - int(seconds)) * 100):02d}"


def metrics_format(metrics: dict[str, float]) -> dict[str, Any]:
    """Metrics made readable: runtimes as ``h:mm:ss.cc``, memory in MB, FLOs in GF, floats to 4 places."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if "_mem_" in key:
            out[key] = f"{int(value) >> 20}MB"
        elif "_runtime" in key:
            out[key] = _seconds_text(value)
        elif key == "total_flos":
            out[key] = f"{int(value) >> 30}GF"
        else:
            out[key] = round(value, 4) if isinstance(value, float) else value
    return out


def format_metrics_table(split: str, metrics: dict[str, float]) -> str:
    shown = metrics_format(metrics)
    key_width = max((len(str(k)) for k in shown), default=0)
    value_width = max((len(str(v)) for v in shown.values()), default=0)
    rows = [f"  {key: <{key_width}} = {shown[key]:>{value_width}}" for key in sorted(shown)]
    return "\n".join([f"***** {split} metrics *****", *rows])


def write_metrics(output_dir, split: str, metrics: dict[str, float], combined: bool = True) -> None:
    """``<split>_results.json``, and (``combined``) the metrics merged into ``all_results.json``."""
    import json
    from pathlib import Path

    from ..core.io import atomic_write_text

    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / f"{split}_results.json", json.dumps(metrics, indent=4, sort_keys=True))
    if combined:
        path = folder / "all_results.json"
        merged = json.loads(path.read_text()) if path.is_file() else {}
        merged.update(metrics)
        atomic_write_text(path, json.dumps(merged, indent=4, sort_keys=True))
