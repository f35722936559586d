"""``AudioDataset.map``: run a function over rows or batches and keep the results in memory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..core.errors import InvalidInputError


def apply_map(dataset, function: Callable | None, batched: bool, batch_size: int | None, removed: list[str],
              with_indices: bool, fn_kwargs: dict, desc: str | None):
    n = len(dataset)
    function = function or (lambda example, *args, **kwargs: {})
    runner = _run_batched if batched else _run_rows
    outputs, keep_lazy_audio = runner(dataset, function, batch_size or n or 1, with_indices, fn_kwargs, desc)
    out_rows = len(next(iter(outputs.values()))) if outputs else n
    if keep_lazy_audio:  # the function handed the decoded audio back untouched: keep paths, not arrays
        outputs.pop(dataset._audio_column)
    drop = set(removed) | set(outputs)
    kept = {k: v for k, v in dataset._columns.items() if k not in drop}
    if out_rows != n and kept:
        raise InvalidInputError(
            f"map: the function returned {out_rows} rows for {n} inputs, so the columns {sorted(kept)} cannot be "
            "kept; pass remove_columns=dataset.column_names when a batched function changes the row count."
        )
    columns = {**kept, **outputs}
    features = {name: dataset.features[name] if name in kept else guess_value(values)
                for name, values in columns.items()}
    audio = dataset._audio_column if dataset._audio_column in kept else None
    lengths = dataset._safe_lengths() if out_rows == n else None
    return type(dataset)(columns, features, audio_column=audio, lengths=lengths)


# datasets options that change nothing for an in-memory dataset with no cache
_NO_OPS = {"keep_in_memory": (True, False), "load_from_cache_file": (None, True, False), "num_proc": (None, 0, 1),
           "new_fingerprint": None, "writer_batch_size": None, "features": (None,), "disable_nullable": (False,)}
_HELP = {
    "num_proc": "polymodal runs map/filter in this process; drop num_proc (or use num_proc=1), or preprocess "
                "in a DataLoader with num_workers.",
    "cache_file_name": "polymodal keeps results in memory and writes no cache files; drop cache_file_name.",
}


def check_options(method: str, options: dict) -> None:
    """Accept ``datasets`` options that are no-ops here; any other is an error that names it."""
    for name, value in options.items():
        allowed = _NO_OPS.get(name, ())
        if name in _NO_OPS and (allowed is None or value in allowed):
            continue
        hint = _HELP.get(name) or (
            f"supported: function, with_indices, input_columns, batched, batch_size, fn_kwargs, desc"
            f"{', drop_last_batch, remove_columns' if method == 'map' else ''}; no-ops: {sorted(_NO_OPS)}."
        )
        raise InvalidInputError(f"{method}({name}={value!r}) is not supported: {hint}")


def kept_rows(dataset, function, with_indices: bool, batched: bool, batch_size: int | None,
              fn_kwargs: dict) -> list[int]:
    """Indices of the rows ``function`` keeps (one bool per row, or a list of bools per batch)."""
    if function is None:
        return list(range(len(dataset)))
    n, keep = len(dataset), []
    size = (batch_size or n or 1) if batched else 1
    for start in range(0, n, size):
        indices = list(range(start, min(start + size, n)))
        example = dataset[indices] if batched else dataset[start]
        args = (indices if batched else start,) if with_indices else ()
        verdict = function(example, *args, **fn_kwargs)
        verdicts = list(verdict) if batched else [verdict]
        if len(verdicts) != len(indices):
            raise InvalidInputError(
                f"filter(batched=True): the function returned {len(verdicts)} values for {len(indices)} rows; "
                "return one bool per row."
            )
        keep.extend(i for i, v in zip(indices, verdicts) if bool(v))
    return keep


def guess_value(values: list):
    """The ``Value`` feature of a column from its first value (``Value("sequence")``: anything else)."""
    from .dataset import Value

    first = values[0] if values else None
    kinds = {bool: "bool", int: "int64", float: "float32", str: "string"}
    return Value(next((name for t, name in kinds.items() if isinstance(first, t)), "sequence"))


def _progress(total: int, desc: str | None):
    from tqdm.auto import tqdm

    # disable=None: a bar on a terminal, silence in logs and tests.
    return tqdm(total=total, desc=desc or "Map", unit=" examples", disable=None)


def _run_rows(dataset, function, _batch_size, with_indices, fn_kwargs, desc):
    outputs: dict[str, list] = {}
    audio_name = dataset._audio_column
    same_audio = audio_name is not None
    with _progress(len(dataset), desc) as bar:
        for i in range(len(dataset)):
            row = dataset[i]
            result = function(row, i, **fn_kwargs) if with_indices else function(row, **fn_kwargs)
            result = _as_row(result, i)
            if audio_name in result and result[audio_name] is not row.get(audio_name):
                same_audio = False
            _append_row(outputs, result, i)
            bar.update(1)
    return outputs, same_audio and audio_name in outputs


def _run_batched(dataset, function, batch_size, with_indices, fn_kwargs, desc):
    outputs: dict[str, list] = {}
    n = len(dataset)
    with _progress(n, desc) as bar:
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            batch = dataset[start:stop]
            indices = list(range(start, stop))
            result = function(batch, indices, **fn_kwargs) if with_indices else function(batch, **fn_kwargs)
            _append_batch(outputs, _as_batch(result, start, stop), start)
            bar.update(stop - start)
    return outputs, False


def _as_row(result: Any, index: int) -> dict:
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        raise InvalidInputError(
            f"map: the function returned {type(result).__name__} for row {index}; it must return a dict of columns."
        )
    return dict(result)


def _append_row(outputs: dict[str, list], result: dict, index: int) -> None:
    if index > 0 and set(result) != set(outputs):
        raise InvalidInputError(
            f"map: row {index} returned columns {sorted(result)} but earlier rows returned {sorted(outputs)}; "
            "return the same columns for every row."
        )
    for key, value in result.items():
        outputs.setdefault(key, []).append(value)


def _as_batch(result: Any, start: int, stop: int) -> dict[str, list]:
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        raise InvalidInputError(
            f"map(batched=True): the function returned {type(result).__name__} for rows {start}-{stop - 1}; "
            "it must return a dict of column lists."
        )
    # A 2-D array (or tensor) counts as one row per first-axis entry, like a list of rows.
    batch = {key: list(value) for key, value in dict(result).items()}
    sizes = {key: len(value) for key, value in batch.items()}
    if len(set(sizes.values())) > 1:
        raise InvalidInputError(
            f"map(batched=True): rows {start}-{stop - 1} returned columns of different lengths {sizes}."
        )
    return batch


def _append_batch(outputs: dict[str, list], batch: dict[str, list], start: int) -> None:
    if start > 0 and set(batch) != set(outputs):
        raise InvalidInputError(
            f"map(batched=True): the batch at row {start} returned columns {sorted(batch)} but earlier batches "
            f"returned {sorted(outputs)}; return the same columns for every batch."
        )
    for key, values in batch.items():
        outputs.setdefault(key, []).extend(values)
