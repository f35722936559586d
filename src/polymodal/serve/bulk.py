"""Bulk inference on Ray Data: ``polymodal classify|transcribe MODEL FILES… --ray`` → JSONL.

The files (or every audio file under a folder, or the ``path`` column of a CSV/JSONL manifest)
become a Ray dataset; ``map_batches`` runs them through a pool of pipeline actors, each loading
the model once and calling the pipeline on a whole batch; rows come back in input order, each
the same JSON line the single-process CLI prints with ``--json``. On a multi-node cluster the
files must be readable at the same path on every node (a shared filesystem).
"""

from __future__ import annotations

import json
import os

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif")


def expand_inputs(names: list[str]) -> list[str]:
    """Files as given; folders → their audio files (sorted, recursive); .csv/.jsonl manifests → their paths."""
    from ..core.errors import InvalidInputError

    files = []
    for name in names:
        if os.path.isdir(name):
            found = sorted(os.path.join(root, f) for root, _, fs in os.walk(name) for f in fs
                           if f.lower().endswith(AUDIO_SUFFIXES))
            if not found:
                raise InvalidInputError(f"folder {name!r} holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
            files.extend(found)
        elif name.lower().endswith((".csv", ".jsonl")):
            files.extend(_manifest_paths(name))
        elif not os.path.exists(name):
            raise InvalidInputError(f"audio file {name!r} does not exist")
        else:
            files.append(name)
    return files


def _manifest_paths(manifest: str) -> list[str]:
    import csv

    from ..core.errors import InvalidInputError

    base = os.path.dirname(os.path.abspath(manifest))
    with open(manifest, newline="", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()] if manifest.endswith(".jsonl") else list(
            csv.DictReader(f))
    if not rows or "path" not in rows[0]:
        raise InvalidInputError(f"manifest {manifest!r} needs a 'path' column")
    return [p if os.path.isabs(p) else os.path.join(base, p) for p in (row["path"] for row in rows)]


class PipelineActor:
    """One pipeline per Ray actor; ``__call__`` maps a batch of paths to JSON lines."""

    def __init__(self, task: str, model_dir: str, device=None, call_kwargs: dict | None = None):
        from ..pipelines import pipeline

        self.task, self.kwargs = task, call_kwargs or {}
        self.pipe = pipeline(task, model=model_dir, device=device)

    def __call__(self, batch: dict) -> dict:
        paths = [str(p) for p in batch["path"]]
        if self.task == "automatic-speech-recognition":  # the CLI transcribes one file per call
            results = [self.pipe(p, **self.kwargs) for p in paths]
        else:
            results = self.pipe(paths, batch_size=len(paths), **self.kwargs)
        return {"line": [json_line(self.task, p, r) for p, r in zip(paths, results)]}


def json_line(task: str, path: str, result) -> str:
    """The single-process CLI's ``--json`` line for one file."""
    if task == "automatic-speech-recognition":
        return json.dumps({"file": path, "text": result["text"]})
    return json.dumps({"file": path, "labels": result})


def bulk_inference(task: str, model_dir: str, files: list[str], batch_size: int = 8, concurrency: int = 2,
                   device=None, num_cpus: float = 1.0, **call_kwargs) -> list[str]:
    """JSON lines for ``files`` in order, computed by ``concurrency`` pipeline actors on Ray Data."""
    import ray

    ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # output lines in input order
    dataset = ray.data.from_items([{"path": os.path.abspath(f)} for f in files])
    dataset = dataset.map_batches(PipelineActor, batch_size=batch_size, concurrency=concurrency, num_cpus=num_cpus,
                                  batch_format="numpy",
                                  fn_constructor_kwargs={"task": task, "model_dir": os.path.abspath(model_dir),
                                                         "device": device, "call_kwargs": call_kwargs})
    lines = [row["line"] for row in dataset.take_all()]
    # Paths are absolutised for the workers; report them as the user gave them.
    return [_restore(line, given) for line, given in zip(lines, files)]


def _restore(line: str, given: str) -> str:
    record = json.loads(line)
    record["file"] = given
    return json.dumps(record)
