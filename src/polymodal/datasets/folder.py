"""Load your own audio: a folder per class, or a CSV / JSONL manifest.

Layouts (``load_audio_folder(path)``):

* folder per class — ``root/<label>/*.wav`` (``.flac``, ``.ogg``, ``.mp3`` …, nested folders
  allowed); with ``root/train/<label>/…`` and ``root/test/<label>/…`` the splits come back as a
  dict of datasets;
* a manifest — a ``.csv``, ``.jsonl`` or ``.json`` file (or ``metadata.csv`` /
  ``metadata.jsonl`` inside the folder), one row per clip: a path column (``path``, ``file``
  or ``audio``; relative paths are relative to the manifest), ``label``, optionally
  ``transcription`` / ``text`` and ``split``; other columns are kept as they are.

Labels become integer ids in sorted order (``features["label"].names`` holds the names).
Files are only checked to exist here; clips are decoded when a row is read.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from ..core.errors import InvalidInputError
from .dataset import Audio, AudioDataset, AudioDatasetDict, ClassLabel

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
SPLIT_NAMES = ("train", "test", "validation", "valid", "dev", "eval")
PATH_COLUMNS = ("path", "file", "audio", "file_name")
MANIFEST_NAMES = ("metadata.csv", "metadata.jsonl", "metadata.json")
_SHOW = 5  # how many offending files/lines an error lists


class DatasetNotFoundError(InvalidInputError, FileNotFoundError):
    """A dataset folder or manifest that does not exist (catchable as FileNotFoundError)."""


def load_audio_folder(path: str | os.PathLike, sampling_rate: int | None = None,
                      manifest: str | os.PathLike | None = None, split: str | None = None,
                      label_column: str = "label", mono: bool = True):
    """Load a folder of audio (or a manifest) as an :class:`AudioDataset`.

    Args:
        path: the folder, or a manifest file.
        sampling_rate: decode every clip at this rate (resampled as needed); ``None`` keeps each
            file's rate. Same as ``cast_column("audio", Audio(sampling_rate=…))``.
        manifest: a CSV/JSONL manifest to use instead of scanning ``path`` (relative paths in it
            are resolved against the manifest's folder).
        split: return only this split (``"train"``, ``"test"`` …).
        label_column: the manifest column holding the class (renamed to ``label``).
        mono: average the channels of multi-channel files.

    Returns:
        An :class:`AudioDataset`, or an :class:`AudioDatasetDict` of them when the data has
        splits and ``split`` is not given.
    """
    root = Path(path)
    if manifest is None and not root.exists():
        raise DatasetNotFoundError(
            f"Dataset path {str(root)!r} does not exist; pass a folder of audio or a manifest file."
        )
    manifest_file = _find_manifest(root, manifest)
    audio = Audio(sampling_rate=sampling_rate, mono=mono)
    if manifest_file is not None:
        records = read_manifest(manifest_file)
        splits = _manifest_splits(records, manifest_file, label_column)
    else:
        splits = _folder_splits(root)
    datasets = _build(splits, audio)
    return _pick_split(datasets, split, root if manifest_file is None else manifest_file)


# ----------------------------------------------------------------------------- folder layout


def _find_manifest(root: Path, manifest) -> Path | None:
    if manifest is not None:
        manifest = Path(manifest)
        if not manifest.is_file():
            raise DatasetNotFoundError(
                f"Manifest {str(manifest)!r} does not exist; pass the path of a CSV or JSONL file."
            )
        return manifest
    if root.is_file():
        if root.suffix.lower() in AUDIO_EXTENSIONS:
            raise InvalidInputError(
                f"{str(root)!r} is one audio file; load_audio_folder wants a folder of them or a CSV/JSONL manifest."
            )
        return root
    return next((root / name for name in MANIFEST_NAMES if (root / name).is_file()), None)


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _folder_splits(root: Path) -> dict[str | None, list[dict[str, Any]]]:
    """``{split or None: [{"audio": path, "label": name}, …]}`` from the folder tree."""
    subs = _subfolders(root)
    if not subs:
        found = "audio files but no class folders" if _audio_files(root) else "no class folders"
        raise InvalidInputError(
            f"Dataset folder {str(root)!r} has {found}; put each class's clips in their own folder "
            "(root/<label>/clip.wav) or add a metadata.csv with path and label columns."
        )
    names = {p.name.lower() for p in subs}
    if names <= set(SPLIT_NAMES) and names & {"train", "test"}:
        return {p.name: _class_rows(p) for p in subs}
    return {None: _class_rows(root)}


def _class_rows(folder: Path) -> list[dict[str, Any]]:
    rows = []
    for class_dir in _subfolders(folder):
        rows += [{"audio": str(f), "label": class_dir.name} for f in _audio_files(class_dir)]
    if not rows:
        raise InvalidInputError(
            f"Dataset folder {str(folder)!r} holds no audio files in its class folders "
            f"(looked for {', '.join(AUDIO_EXTENSIONS)})."
        )
    return rows


# ----------------------------------------------------------------------------- manifests


def read_manifest(path: str | os.PathLike) -> list[tuple[int, dict[str, Any]]]:
    """``[(line number, record), …]`` from a CSV, JSONL or JSON-list file; errors name file and line."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInputError(
            f"Manifest {str(path)!r} is not UTF-8 text ({err.reason} at byte {err.start})."
        ) from None
    if suffix in (".jsonl", ".json"):
        records = _read_json(path, text)
    elif suffix in (".csv", ".tsv"):
        records = _read_csv(path, text, "\t" if suffix == ".tsv" else ",")
    else:
        raise InvalidInputError(f"Manifest {str(path)!r}: unknown format {suffix!r}; use .csv, .tsv, .jsonl or .json.")
    if not records:
        raise InvalidInputError(f"Manifest {str(path)!r} has no rows.")
    return records


def _read_csv(path: Path, text: str, delimiter: str) -> list[tuple[int, dict[str, Any]]]:
    # newline="": quoted cells may hold line breaks (the csv module's own rule)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = []
    try:
        for row in reader:
            line = reader.line_num
            if None in row or None in row.values():  # more / fewer cells than the header has
                raise InvalidInputError(
                    f"{path}:{line}: expected {len(reader.fieldnames)} values "
                    f"({', '.join(reader.fieldnames)}), got {_cells(row)}."
                )
            records.append((line, row))
    except csv.Error as err:
        raise InvalidInputError(f"{path}:{reader.line_num}: broken CSV: {err}.") from None
    if reader.fieldnames is None:
        raise InvalidInputError(f"Manifest {str(path)!r} is empty; it needs a header line such as 'path,label'.")
    return records


def _cells(row: dict) -> int:
    filled = sum(1 for k, v in row.items() if k is not None and v is not None)
    return filled + len(row.get(None) or [])


def _read_json(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InvalidInputError(f"{path}:{err.lineno}: broken JSON: {err.msg}.") from None
        return [(i + 1, _record(path, i + 1, r)) for i, r in enumerate(data)]
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise InvalidInputError(
                f"{path}:{number}: broken JSON line ({err.msg} at column {err.colno}); each line must be one "
                'object such as {"path": "clip.wav", "label": "yes"}.'
            ) from None
        records.append((number, _record(path, number, value)))
    return records


def _record(path: Path, line: int, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInputError(f"{path}:{line}: expected a JSON object per row, got {type(value).__name__}.")
    return value


def _manifest_splits(records, manifest: Path, label_column: str) -> dict[str | None, list[dict[str, Any]]]:
    columns = list(records[0][1])
    path_column = next((c for c in PATH_COLUMNS if c in columns), None)
    if path_column is None:
        raise InvalidInputError(
            f"Manifest {str(manifest)!r} has no path column: its columns are {columns}; name the column with the "
            f"audio file paths one of {list(PATH_COLUMNS)}."
        )
    has_text = any(c in columns for c in ("transcription", "text", "sentence"))
    if label_column not in columns and not has_text:
        raise InvalidInputError(
            f"Manifest {str(manifest)!r} has no {label_column!r} column (columns: {columns}); add one with each "
            "clip's class, or a 'transcription' column for speech recognition."
        )
    base = manifest.parent
    rows, missing = {}, []
    for line, record in records:
        row = _manifest_row(record, path_column, label_column, label_column in columns, base, manifest, line)
        if not os.path.isfile(row["audio"]):
            missing.append(f"line {line}: {row['audio']}")
        rows.setdefault(record.get("split") or None, []).append(row)
    if missing:
        raise DatasetNotFoundError(
            f"Manifest {str(manifest)!r} lists {len(missing)} audio file(s) that do not exist, e.g. "
            f"{'; '.join(missing[:_SHOW])}. Paths are resolved relative to the manifest's folder."
        )
    if None in rows and len(rows) > 1:
        raise InvalidInputError(f"Manifest {str(manifest)!r}: some rows have a 'split' value and some do not.")
    return rows


def _manifest_row(record, path_column, label_column, need_label: bool, base: Path, manifest: Path,
                  line: int) -> dict[str, Any]:
    value = record.get(path_column)
    if isinstance(value, dict):  # {"audio": {"path": …}} as datasets writes it
        value = value.get("path")
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{manifest}:{line}: the {path_column!r} value is empty; give the audio file's path.")
    row = {k: v for k, v in record.items() if k not in (path_column, "split", label_column)}
    row["audio"] = str(base / os.path.expanduser(value.strip()))
    if need_label:
        label = record.get(label_column)
        if label is None or str(label).strip() == "":
            raise InvalidInputError(f"{manifest}:{line}: the {label_column!r} value is empty.")
        row["label"] = str(label).strip()
    return row


# ----------------------------------------------------------------------------- datasets


def _label_names(splits: dict) -> list[str] | None:
    names = {row["label"] for rows in splits.values() for row in rows if "label" in row}
    if not names:
        return None
    # Numeric labels sort as numbers ("2" before "10"); names sort as text.
    numeric = all(n.lstrip("-").isdigit() for n in names)
    return sorted(names, key=int) if numeric else sorted(names)


def _build(splits: dict, audio: Audio) -> dict[str | None, AudioDataset]:
    names = _label_names(splits)
    out = {}
    for split, rows in splits.items():
        columns = _columns(rows)
        features: dict[str, Any] = {"audio": audio}
        if names is not None:
            index = {n: i for i, n in enumerate(names)}
            columns["label"] = [index[n] for n in columns["label"]]
            features["label"] = ClassLabel(names=list(names))
        out[split] = AudioDataset(columns, features, audio_column="audio")
    return out


def _columns(rows: list[dict[str, Any]]) -> dict[str, list]:
    # audio first, then label, then the manifest's other columns in their order
    order = ["audio"] + (["label"] if "label" in rows[0] else []) + [k for k in rows[0] if k not in ("audio", "label")]
    missing = [i for i, row in enumerate(rows) if set(row) != set(order)]
    if missing:
        raise InvalidInputError(f"Manifest rows {missing[:_SHOW]} have different columns from the first row.")
    return {name: [row[name] for row in rows] for name in order}


def _pick_split(datasets: dict, split: str | None, source: Path):
    if None in datasets:  # no splits in the data
        if split not in (None, "train"):
            raise InvalidInputError(f"{str(source)!r} has no splits; split={split!r} cannot be chosen.")
        return datasets[None]
    if split is None:
        return AudioDatasetDict(datasets)
    if split not in datasets:
        raise InvalidInputError(f"{str(source)!r} has no split {split!r}; its splits are {sorted(datasets)}.")
    return datasets[split]


def load_spoken_intents(split: str | None = None, sampling_rate: int | None = None):
    """The bundled spoken-intent dataset (14 banking intents, espeak-ng voices, 8 kHz), split
    train/test by voice. Columns: audio, label, transcription, speaker."""
    return load_audio_folder(spoken_intents_path(), sampling_rate=sampling_rate, split=split)


def spoken_intents_path() -> Path:
    return Path(__file__).resolve().parent / "data" / "spoken_intents"
