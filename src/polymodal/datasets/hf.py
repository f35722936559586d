"""Hugging Face ``datasets`` ↔ polymodal datasets, both ways, with no audio decoding by ``datasets``.

``from_hf(ds)`` (also ``AudioDataset.from_hf``) reads a ``datasets.Dataset`` (or ``DatasetDict``)
without letting ``datasets`` decode anything — current ``datasets`` needs ``torchcodec`` for audio
— by casting its ``Audio``/``Image`` columns to ``decode=False``: each audio cell becomes the
``{"path", "bytes"}`` the table stores, decoded later by polymodal's own I/O when a row is read.
Features map one to one: ``Audio(sampling_rate)`` ↔ :class:`~polymodal.datasets.Audio`,
``ClassLabel(names)`` ↔ :class:`~polymodal.datasets.ClassLabel`, ``Image`` ↔
:class:`~polymodal.datasets.Image`, ``Value(dtype)`` ↔ :class:`~polymodal.datasets.Value`.
A dataset with an ``Image`` column becomes an ``ImageDataset``, any other an ``AudioDataset``.

``to_hf(ds)`` (also ``ds.to_hf()``) goes back: paths and encoded files are stored as they are;
clips held as decoded arrays are written as WAV bytes (so ``datasets`` needs no codec to store them).
"""

from __future__ import annotations

import io
from typing import Any

from ..core.errors import InvalidInputError
from .dataset import Audio, AudioDataset, AudioDatasetDict, ClassLabel, Value


def _datasets():
    try:
        import datasets
    except ImportError:
        raise InvalidInputError(
            "Converting to or from Hugging Face datasets needs the `datasets` package: pip install datasets"
        ) from None
    return datasets


# ----------------------------------------------------------------------------- datasets → polymodal
def from_hf(dataset):
    """A ``datasets.Dataset`` → ``AudioDataset``/``ImageDataset``; a ``DatasetDict`` → a dict of them."""
    hf = _datasets()
    if isinstance(dataset, (hf.DatasetDict, dict)):
        splits = {name: from_hf(split) for name, split in dataset.items()}
        if any(not isinstance(split, AudioDataset) for split in splits.values()):
            from .image_folder import ImageDatasetDict

            return ImageDatasetDict(splits)
        return AudioDatasetDict(splits)
    if isinstance(dataset, hf.IterableDataset):
        raise InvalidInputError("from_hf: an IterableDataset (streaming=True) has no rows to hold; load it "
                                "without streaming, or pass it to a pipeline directly (it streams).")
    if not isinstance(dataset, hf.Dataset):
        raise InvalidInputError(f"from_hf expects a datasets.Dataset or DatasetDict, got {type(dataset).__name__}.")
    features, raw = {}, dataset
    for name, feature in dataset.features.items():
        ours = _our_feature(hf, feature)
        features[name] = ours
        if isinstance(feature, (hf.Audio, hf.Image)) and feature.decode:
            raw = raw.cast_column(name, type(feature)(**{**_fields(feature), "decode": False}))
    columns = raw.to_dict()
    image_columns = [name for name, f in dataset.features.items() if isinstance(f, hf.Image)]
    if image_columns:
        from .image_folder import ImageDataset

        for name in image_columns:  # the image loader reads bytes or a path
            columns[name] = [_encoded(cell) for cell in columns[name]]
        return ImageDataset(columns, features)
    audio = next((name for name, f in features.items() if isinstance(f, Audio)), None)
    return AudioDataset(columns, features, audio_column=audio)


def _fields(feature) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(feature, f.name) for f in dataclasses.fields(feature) if f.init and f.name != "id"}


def _our_feature(hf, feature):
    if isinstance(feature, hf.Audio):
        channels = getattr(feature, "num_channels", None)
        return Audio(sampling_rate=feature.sampling_rate, mono=channels in (None, 1), num_channels=channels)
    if isinstance(feature, hf.ClassLabel):
        return ClassLabel(names=list(feature.names))
    if isinstance(feature, hf.Image):
        from .image_folder import Image

        return Image()
    if isinstance(feature, hf.Value):
        return Value(dtype=feature.dtype)
    return feature  # lists, nested structs …: kept as datasets describes them


def _encoded(cell):
    if isinstance(cell, dict):
        return cell.get("bytes") if cell.get("bytes") is not None else cell.get("path")
    return cell


# ----------------------------------------------------------------------------- polymodal → datasets
def to_hf(dataset):
    """An ``AudioDataset``/``ImageDataset`` (or a dict of them) → ``datasets.Dataset`` (``DatasetDict``)."""
    hf = _datasets()
    if isinstance(dataset, dict):
        return hf.DatasetDict({name: to_hf(split) for name, split in dataset.items()})
    columns = getattr(dataset, "_columns", None)
    if columns is None:
        raise InvalidInputError(f"to_hf expects a polymodal AudioDataset or ImageDataset, got {type(dataset).__name__}.")
    columns = dict(columns)
    features = {}
    for name, feature in dataset.features.items():
        converted = _hf_feature(hf, feature)
        if converted is not None:
            features[name] = converted
        if isinstance(feature, Audio):
            columns[name] = [_storable_audio(cell) for cell in columns[name]]
    table = hf.Dataset.from_dict(columns)
    for name, feature in features.items():
        if table.features[name] != feature:
            table = table.cast_column(name, feature)
    return table


def _hf_feature(hf, feature):
    if isinstance(feature, Audio):
        # num_channels passes through as it came; `mono` is how polymodal itself decodes the column.
        return hf.Audio(sampling_rate=feature.sampling_rate, num_channels=getattr(feature, "num_channels", None))
    if isinstance(feature, ClassLabel):
        return hf.ClassLabel(names=list(feature.names))
    if type(feature).__name__ == "Image" and type(feature).__module__.startswith("polymodal"):
        return hf.Image()
    if isinstance(feature, Value) and feature.dtype in _HF_DTYPES:
        return hf.Value(feature.dtype)
    return None  # let datasets infer it from the values


_HF_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
              "float32", "float64", "string", "large_string"}


def _storable_audio(cell):
    """Paths and encoded files as they are; decoded samples as WAV bytes (no codec needed)."""
    if isinstance(cell, dict) and cell.get("array") is not None:
        import numpy as np
        import soundfile

        buffer = io.BytesIO()
        soundfile.write(buffer, np.asarray(cell["array"], dtype=np.float32), int(cell["sampling_rate"]),
                        format="WAV", subtype="FLOAT")
        return {"bytes": buffer.getvalue(), "path": cell.get("path")}
    if isinstance(cell, dict):
        return {"bytes": cell.get("bytes"), "path": cell.get("path")}
    return {"bytes": None, "path": str(cell)}
