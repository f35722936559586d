"""Images for the image-classification guides: a folder per class (or a manifest) as an
:class:`ImageDataset`, a small ``datasets.Dataset`` look-alike.

Layouts (``load_image_folder(path)``):

* folder per class — ``root/<label>/*.png`` (``.jpg``, ``.webp`` …); with ``root/train/<label>/…``
  and ``root/test/<label>/…`` the splits come back as an :class:`ImageDatasetDict`;
* a manifest — ``metadata.csv`` / ``metadata.jsonl`` in the folder (or any CSV/JSONL file), one
  row per image: a path column (``file_name``, ``image``, ``path`` or ``file``; relative to the
  manifest), ``label`` and optionally ``split``; other columns are kept.

Labels become integer ids in sorted order (``features["label"].names``). Images are decoded when
a row is read (``open_image``: EXIF orientation, RGB, pixel cap, clear errors naming the file).
``with_transform`` / ``set_transform`` run a function over each fetched batch, as 🀗 Datasets does,
which is where the guide's augmentations go.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import InvalidInputError
from .dataset import ClassLabel
from .folder import DatasetNotFoundError, _label_names, read_manifest
from .mapping import guess_value

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")
IMAGE_PATH_COLUMNS = ("file_name", "image", "path", "file")
_MANIFESTS = ("metadata.csv", "metadata.jsonl", "metadata.json")
_SPLITS = ("train", "test", "validation", "valid", "dev", "eval")


@dataclass
class Image:
    """An image column: file paths (or bytes / PIL images) decoded to RGB PIL images on access."""

    decode: bool = True


class ImageDataset:
    """Rows of columns; the :class:`Image` columns are decoded lazily; an optional transform runs
    on every fetched batch (a dict of column lists)."""

    def __init__(self, columns: Mapping[str, Sequence], features: Mapping[str, Any] | None = None,
                 transform: Callable | None = None):
        self._columns = {name: list(values) for name, values in columns.items()}
        sizes = {len(v) for v in self._columns.values()}
        if len(sizes) > 1:
            raise InvalidInputError(f"Columns have different lengths { {k: len(v) for k, v in self._columns.items()} }.")
        self._num_rows = sizes.pop() if sizes else 0
        self.features = {name: (features or {}).get(name) or guess_value(values)  # int columns stay ints
                         for name, values in self._columns.items()}
        self._transform = transform

    # -- introspection
    @property
    def column_names(self) -> list[str]:
        return list(self._columns)

    @property
    def num_rows(self) -> int:
        return self._num_rows

    def __len__(self) -> int:
        return self._num_rows

    def __repr__(self) -> str:
        return f"ImageDataset({{features: {self.column_names}, num_rows: {self._num_rows}}})"

    # -- access
    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in self._columns:
                raise KeyError(f"Column {key!r} not in the dataset; its columns are {self.column_names}.")
            return self._fetch(range(self._num_rows))[key]
        if isinstance(key, slice):
            return self._fetch(range(self._num_rows)[key])
        if isinstance(key, (list, np.ndarray)):
            return self._fetch([self._index(i) for i in key])
        batch = self._fetch([self._index(key)])
        return {name: values[0] for name, values in batch.items()}

    def __iter__(self):
        for i in range(self._num_rows):
            yield self[i]

    def _index(self, key) -> int:
        if isinstance(key, bool) or not hasattr(key, "__index__"):
            raise InvalidInputError(f"Index a dataset with an int, a slice or a column name, got {type(key).__name__}.")
        index = int(key)
        if not -self._num_rows <= index < self._num_rows:
            raise IndexError(f"Index {index} is out of range for a dataset of {self._num_rows} rows.")
        return index % self._num_rows

    def _fetch(self, indices) -> dict[str, list]:
        batch = {name: [self._decode(name, i) for i in indices] for name in self._columns}
        if self._transform is not None:
            batch = self._transform(batch)
            if not isinstance(batch, Mapping):
                raise InvalidInputError(f"The dataset transform must return a dict of columns, got "
                                        f"{type(batch).__name__}.")
        return dict(batch)

    def _decode(self, name: str, index: int):
        from ..vision.image_input import open_image

        value = self._columns[name][index]
        feature = self.features.get(name)
        if isinstance(feature, Image) and feature.decode and value is not None:
            return open_image(value, index)
        return value

    # -- transforms (new datasets; the source is unchanged, except set_transform)
    def _derive(self, columns, features=None, transform="same") -> ImageDataset:
        return ImageDataset(columns, self.features if features is None else features,
                            self._transform if transform == "same" else transform)

    def with_transform(self, transform: Callable | None, columns=None, output_all_columns: bool = False) -> ImageDataset:
        """A copy whose rows go through ``transform(batch) -> batch`` when read."""
        if columns is not None or output_all_columns:
            raise InvalidInputError("with_transform: columns= and output_all_columns= are not supported; "
                                    "select the columns inside the transform.")
        return self._derive(self._columns, transform=transform)

    def set_transform(self, transform: Callable | None, columns=None, output_all_columns: bool = False) -> None:
        """Like :meth:`with_transform`, in place."""
        self._transform = self.with_transform(transform, columns, output_all_columns)._transform

    def reset_format(self) -> None:
        self._transform = None

    def select(self, indices: Iterable[int]) -> ImageDataset:
        indices = [self._index(i) for i in indices]
        return self._derive({k: [v[i] for i in indices] for k, v in self._columns.items()})

    def shuffle(self, seed: int | None = None) -> ImageDataset:
        return self.select(np.random.default_rng(seed).permutation(self._num_rows))

    def train_test_split(self, test_size: float | int | None = None, train_size: float | int | None = None,
                         shuffle: bool = True, seed: int | None = None,
                         stratify_by_column: str | None = None) -> ImageDatasetDict:
        """``{"train": …, "test": …}`` as 🀗 Datasets splits (sizes as fractions or counts)."""
        n_test, n_train = _split_sizes(self._num_rows, test_size, train_size)
        rng = np.random.default_rng(seed)
        if stratify_by_column is not None:
            order = _stratified_order(self._columns[stratify_by_column], n_test, rng)
        else:
            order = rng.permutation(self._num_rows) if shuffle else np.arange(self._num_rows)
        test, train = order[:n_test], order[n_test:n_test + n_train]
        if not shuffle:
            train, test = order[:n_train], order[n_train:n_train + n_test]
        return ImageDatasetDict(train=self.select(train), test=self.select(test))

    def remove_columns(self, column_names: str | Iterable[str]) -> ImageDataset:
        names = self._check(column_names)
        return self._derive({k: v for k, v in self._columns.items() if k not in names})

    def rename_column(self, original_column_name: str, new_column_name: str) -> ImageDataset:
        self._check(original_column_name)
        rename = lambda name: new_column_name if name == original_column_name else name  # noqa: E731
        return self._derive({rename(k): v for k, v in self._columns.items()},
                            {rename(k): v for k, v in self.features.items()})

    def cast_column(self, column: str, feature: Any) -> ImageDataset:
        self._check(column)
        if type(feature).__name__ == "Image":  # ours or datasets.Image
            feature = Image(decode=getattr(feature, "decode", True))
        return self._derive(self._columns, {**self.features, column: feature})

    def map(self, function: Callable | None = None, with_indices: bool = False, input_columns=None,
            batched: bool = False, batch_size: int | None = 1000, drop_last_batch: bool = False,
            remove_columns: str | Iterable[str] | None = None, fn_kwargs: dict | None = None,
            desc: str | None = None, **options) -> ImageDataset:
        """Apply ``function`` to every row (or batch) and keep the result in memory, like
        ``datasets.Dataset.map``; its caching and multiprocessing options (``num_proc`` > 1,
        ``cache_file_name`` …) are errors, those that change nothing here are accepted."""
        from .dataset import _with_input_columns
        from .mapping import check_options

        check_options("map", options)
        removed = set(self._check(remove_columns)) if remove_columns else set()
        function = _with_input_columns(function or (lambda *args, **kwargs: {}),
                                       self._check(input_columns) if input_columns else None, batched)
        size = (batch_size or self._num_rows or 1) if batched else 1
        stop = self._num_rows - (self._num_rows % size if batched and drop_last_batch else 0)
        out: dict[str, list] = {}
        for start in range(0, stop, size):
            indices = list(range(start, min(start + size, stop)))
            batch = self._fetch(indices)
            example = batch if batched else {k: v[0] for k, v in batch.items()}
            args = (indices if batched else start,) if with_indices else ()
            result = function(example, *args, **(fn_kwargs or {})) or {}
            result = result if batched else {k: [v] for k, v in result.items()}
            merged = {**{k: v for k, v in batch.items() if k not in removed}, **result}
            for key, values in merged.items():
                out.setdefault(key, []).extend(values)
        features = {k: v for k, v in self.features.items() if k in out and k not in removed}
        return ImageDataset(out, {k: v for k, v in features.items() if not isinstance(v, Image)})

    def filter(self, function: Callable | None = None, with_indices: bool = False, input_columns=None,
               batched: bool = False, batch_size: int | None = 1000, fn_kwargs: dict | None = None,
               desc: str | None = None, **options) -> ImageDataset:
        """Keep the rows for which ``function(row)`` is true (batched: one bool per row)."""
        from .dataset import _with_input_columns
        from .mapping import check_options, kept_rows

        check_options("filter", options)
        columns = self._check(input_columns) if input_columns else None
        keep = kept_rows(self, _with_input_columns(function, columns, batched), with_indices, batched,
                         batch_size, fn_kwargs or {})
        return self.select(keep)

    def _check(self, names) -> list[str]:
        names = [names] if isinstance(names, str) else list(names)
        missing = [n for n in names if n not in self._columns]
        if missing:
            raise InvalidInputError(f"Columns {missing} not in the dataset; its columns are {self.column_names}.")
        return names

    def to_list(self) -> list[dict]:
        return list(self)

    # -- Hugging Face datasets (polymodal.datasets.hf)
    @classmethod
    def from_hf(cls, dataset) -> ImageDataset:
        """A ``datasets.Dataset`` with an ``Image`` column → :class:`ImageDataset` (features kept)."""
        from .hf import from_hf

        return from_hf(dataset)

    def to_hf(self):
        """This dataset as a ``datasets.Dataset`` with ``Image``/``ClassLabel``/``Value`` features."""
        from .hf import to_hf

        return to_hf(self)


class ImageDatasetDict(dict):
    """Splits by name, like ``datasets.DatasetDict``; the transforms apply to every split."""

    def _each(self, method: str, *args, **kwargs) -> ImageDatasetDict:
        return ImageDatasetDict({name: getattr(ds, method)(*args, **kwargs) for name, ds in self.items()})

    def with_transform(self, *args, **kwargs):
        return self._each("with_transform", *args, **kwargs)

    def set_transform(self, *args, **kwargs) -> None:
        for ds in self.values():
            ds.set_transform(*args, **kwargs)

    def map(self, *args, **kwargs):
        return self._each("map", *args, **kwargs)

    def remove_columns(self, *args, **kwargs):
        return self._each("remove_columns", *args, **kwargs)

    def rename_column(self, *args, **kwargs):
        return self._each("rename_column", *args, **kwargs)

    def shuffle(self, seed: int | None = None):
        return self._each("shuffle", seed=seed)

    def filter(self, *args, **kwargs):
        return self._each("filter", *args, **kwargs)

    def to_hf(self):
        """A ``datasets.DatasetDict`` of the splits."""
        from .hf import to_hf

        return to_hf(self)

    @property
    def column_names(self) -> dict[str, list[str]]:
        return {name: ds.column_names for name, ds in self.items()}


def _split_sizes(total: int, test_size, train_size) -> tuple[int, int]:
    def count(value, name):
        if value is None:
            return None
        if isinstance(value, float):
            if not 0.0 < value < 1.0:
                raise InvalidInputError(f"{name}={value} must be a fraction in (0, 1) or a row count.")
            return int(np.ceil(value * total)) if name == "test_size" else int(np.floor(value * total))
        if not 0 < int(value) < total:
            raise InvalidInputError(f"{name}={value} must be between 1 and {total - 1} rows.")
        return int(value)

    n_test, n_train = count(test_size, "test_size"), count(train_size, "train_size")
    if n_test is None and n_train is None:
        n_test = int(np.ceil(0.25 * total))
    n_test = total - n_train if n_test is None else n_test
    n_train = total - n_test if n_train is None else n_train
    if n_test < 1 or n_train < 1 or n_test + n_train > total:
        raise InvalidInputError(f"Cannot split {total} rows into train={n_train} and test={n_test}.")
    return n_test, n_train


def _stratified_order(labels: list, n_test: int, rng) -> np.ndarray:
    """Test rows drawn per class in proportion, then the rest (both shuffled)."""
    labels = np.asarray(labels)
    test = []
    for value in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == value))
        test.extend(rows[: int(round(len(rows) * n_test / len(labels)))])
    test = list(rng.permutation(test))[:n_test]
    rest = rng.permutation([i for i in range(len(labels)) if i not in set(test)])
    return np.asarray(test + list(rest), dtype=int)


# ----------------------------------------------------------------------------- loading
def load_image_folder(path: str | os.PathLike, manifest: str | os.PathLike | None = None, split: str | None = None,
                      label_column: str = "label"):
    """A folder of images (class folders, or a manifest) → :class:`ImageDataset` (or a dict of splits)."""
    root = Path(path)
    if manifest is None and not root.exists():
        raise DatasetNotFoundError(f"Dataset path {str(root)!r} does not exist; pass a folder of images or a manifest.")
    manifest_file = Path(manifest) if manifest is not None else (
        root if root.is_file() else next((root / m for m in _MANIFESTS if (root / m).is_file()), None))
    if manifest_file is not None:
        if not manifest_file.is_file():
            raise DatasetNotFoundError(f"Manifest {str(manifest_file)!r} does not exist.")
        splits = _manifest_rows(manifest_file, label_column)
    else:
        splits = _folder_rows(root)
    names = _label_names(splits)
    datasets = {}
    for name, rows in splits.items():
        columns = {key: [row.get(key) for row in rows] for key in rows[0]}
        features: dict[str, Any] = {"image": Image()}
        if names is not None:
            index = {n: i for i, n in enumerate(names)}
            columns["label"] = [index[n] for n in columns["label"]]
            features["label"] = ClassLabel(names=list(names))
        datasets[name] = ImageDataset(columns, features)
    if None in datasets:
        if split not in (None, "train"):
            raise InvalidInputError(f"{str(root)!r} has no splits; split={split!r} cannot be chosen.")
        return datasets[None]
    if split is None:
        return ImageDatasetDict(datasets)
    if split not in datasets:
        raise InvalidInputError(f"{str(root)!r} has no split {split!r}; its splits are {sorted(datasets)}.")
    return datasets[split]


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def _folder_rows(root: Path) -> dict[str | None, list[dict]]:
    subs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subs:
        raise InvalidInputError(f"Image folder {str(root)!r} has no class folders; put each class's images in their "
                                "own folder (root/<label>/image.png) or add a metadata.csv with file_name and label.")
    if {p.name.lower() for p in subs} <= set(_SPLITS):
        return {p.name: _class_rows(p) for p in subs}
    return {None: _class_rows(root)}


def _class_rows(folder: Path) -> list[dict]:
    rows = [{"image": str(f), "label": d.name} for d in sorted(p for p in folder.iterdir() if p.is_dir())
            for f in _images_in(d)]
    if not rows:
        raise InvalidInputError(f"Image folder {str(folder)!r} holds no images in its class folders (looked for "
                                f"{', '.join(IMAGE_EXTENSIONS)}).")
    return rows


def _manifest_rows(manifest: Path, label_column: str) -> dict[str | None, list[dict]]:
    records = read_manifest(manifest)
    columns = list(records[0][1])
    path_column = next((c for c in IMAGE_PATH_COLUMNS if c in columns), None)
    if path_column is None:
        raise InvalidInputError(f"Manifest {str(manifest)!r} has no image path column (columns: {columns}); name it "
                                f"one of {list(IMAGE_PATH_COLUMNS)}.")
    rows: dict[str | None, list[dict]] = {}
    missing = []
    for line, record in records:
        file = record.get(path_column)
        if not isinstance(file, str) or not file.strip():
            raise InvalidInputError(f"{manifest}:{line}: the {path_column!r} value is empty.")
        row = {"image": str(manifest.parent / file.strip())}
        if label_column in record:
            if str(record[label_column]).strip() == "":
                raise InvalidInputError(f"{manifest}:{line}: the {label_column!r} value is empty.")
            row["label"] = str(record[label_column]).strip()
        row.update({k: v for k, v in record.items() if k not in (path_column, label_column, "split")})
        if not os.path.isfile(row["image"]):
            missing.append(f"line {line}: {row['image']}")
        rows.setdefault(record.get("split") or None, []).append(row)
    if missing:
        raise DatasetNotFoundError(f"Manifest {str(manifest)!r} lists {len(missing)} image(s) that do not exist, e.g. "
                                   f"{'; '.join(missing[:5])}. Paths are relative to the manifest's folder.")
    if None in rows and len(rows) > 1:
        raise InvalidInputError(f"Manifest {str(manifest)!r}: some rows have a 'split' value and some do not.")
    return rows


def shapes_path() -> Path:
    """Folder of the bundled shapes set (``scripts/make_shapes.py`` regenerates it)."""
    return Path(__file__).resolve().parent / "data" / "shapes"


def load_shapes(split: str | None = None):
    """The bundled image-classification set: 48x48 coloured shapes (circle, cross, square,
    triangle) on gradient backgrounds, 120 training and 30 test images per class."""
    return load_image_folder(shapes_path(), split=split)
