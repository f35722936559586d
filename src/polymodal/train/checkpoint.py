"""Trainer checkpoints that hold no pickles.

A ``checkpoint-N/`` folder holds the model (``model.safetensors`` + ``config.json``), the
optimizer and RNG tensors in ``training_state.safetensors`` and everything else (optimizer
hyper-parameters, scheduler, step counters, Python/NumPy RNG) in JSON. Loading one never runs
code. The folder is written under a temporary name and renamed into place, so an interrupted
save leaves the previous checkpoint as the latest complete one.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core.errors import CheckpointError
from ..core.io import atomic_write_text

PREFIX = "checkpoint"
TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"
TRAINER_STATE = "trainer_state.json"


# --------------------------------------------------------------------------- optimizer
def _flatten_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, plain_state = {}, {}
    for index, values in state_dict["state"].items():
        plain_state[str(index)] = {}
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{name}"] = value.detach().contiguous().cpu()
            else:
                plain_state[str(index)][name] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in state_dict["param_groups"]]
    return tensors, {"state": plain_state, "param_groups": groups}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in meta["state"].items()}
    for key, tensor in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = tensor
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


# --------------------------------------------------------------------------- RNG
def _rng_state() -> tuple[dict[str, torch.Tensor], dict]:
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    np_state = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    plain = {
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": [py_version, list(py_internal), py_gauss],
    }
    return tensors, plain


def _set_rng_state(tensors: dict[str, torch.Tensor], plain: dict) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    name, keys, pos, has_gauss, cached = plain["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = plain["python"]
    random.setstate((version, tuple(internal), gauss))


# --------------------------------------------------------------------------- folders
def save_checkpoint(folder: Path, model, optimizer, scheduler, trainer_state: str, extra: dict, save_only_model: bool,
                    processing_class=None) -> None:
    """Write a complete checkpoint folder atomically (temporary folder, then rename).

    ``trainer_state`` is the text of ``trainer_state.json`` (``TrainerState.to_json_string()``)."""
    from safetensors.torch import save_file

    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    if processing_class is not None and hasattr(processing_class, "save_pretrained"):
        processing_class.save_pretrained(tmp)
    if not save_only_model:
        opt_tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
        rng_tensors, rng_plain = _rng_state()
        save_file({**opt_tensors, **rng_tensors}, str(tmp / TENSORS), metadata={"format": "pt"})
        sched = {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
        meta = {"optimizer": opt_meta, "scheduler": sched, "rng": rng_plain, **extra}
        atomic_write_text(tmp / STATE_JSON, json.dumps(meta, default=float))
    atomic_write_text(tmp / TRAINER_STATE, trainer_state)
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)


def load_training_state(folder: Path, optimizer, scheduler) -> dict:
    """Restore optimizer, scheduler and RNG from ``folder``; return the JSON extras."""
    from safetensors.torch import load_file

    tensors_path, meta_path = folder / TENSORS, folder / STATE_JSON
    if not tensors_path.is_file() or not meta_path.is_file():
        raise CheckpointError(
            f"'{folder}' has no optimizer/scheduler state ({TENSORS}, {STATE_JSON}); it was saved with "
            "save_only_model=True or is not a polymodal checkpoint. Start a new run from its weights instead."
        )
    tensors = load_file(str(tensors_path))
    meta = json.loads(meta_path.read_text())
    optimizer.load_state_dict(_unflatten_optimizer(tensors, meta["optimizer"]))
    scheduler_state = scheduler.state_dict()
    scheduler_state.update(meta["scheduler"])
    scheduler.load_state_dict(scheduler_state)
    _set_rng_state(tensors, meta["rng"])
    return meta


def remove_stale_temporaries(output_dir: str | os.PathLike) -> list[Path]:
    """Delete ``.checkpoint-N.tmp-PID`` folders a killed run left behind; return what was removed.

    Called when training starts, before any save of this run, so no live save is touched.
    """
    root = Path(output_dir)
    if not root.is_dir():
        return []
    stale = [p for p in root.iterdir() if p.is_dir() and re.fullmatch(rf"\.{PREFIX}-\d+\.tmp-\d+", p.name)]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def sorted_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """Complete ``checkpoint-N`` folders, oldest first (temporary folders are ignored)."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        match = re.fullmatch(rf"{PREFIX}-(\d+)", path.name)
        if match and path.is_dir() and (path / TRAINER_STATE).is_file():
            found.append((int(match.group(1)), path))
    return [p for _, p in sorted(found)]


def rotate_checkpoints(output_dir, limit: int | None, keep: Path | None = None) -> None:
    if not limit:
        return
    checkpoints = sorted_checkpoints(output_dir)
    if keep is not None and keep in checkpoints:
        # Keep the best checkpoint: move it to the end so it is never the oldest to delete.
        checkpoints.remove(keep)
        checkpoints.append(keep)
        limit = max(limit, 2)
    for path in checkpoints[: max(0, len(checkpoints) - limit)]:
        shutil.rmtree(path, ignore_errors=True)


def read_json_state(folder: Path) -> dict:
    """The ``trainer_state.json`` of a checkpoint folder."""
    return json.loads((Path(folder) / TRAINER_STATE).read_text())
