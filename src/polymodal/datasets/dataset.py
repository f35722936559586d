"""``AudioDataset``: a small column table whose ``audio`` column is decoded on access.

It looks enough like a Hugging Face ``datasets.Dataset`` for the audio guides and the Trainer:
``ds[i]`` gives a row dict, ``ds["col"]`` a column, ``features["label"].names`` the class
names, and ``map`` / ``remove_columns`` / ``rename_column`` / ``cast_column`` / ``select``
return new datasets. The audio column holds file paths; a row decodes its clip with
polymodal's own ``load_audio`` (resampled to ``features["audio"].sampling_rate`` when set), so
nothing is decoded until it is used. ``lengths`` (samples at the target rate, for the
Trainer's ``group_by_length``) comes from file headers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import InvalidInputError
from .mapping import guess_value

# ----------------------------------------------------------------------------- features


@dataclass
class ClassLabel:
    """Integer class ids with names, like ``datasets.ClassLabel``."""

    names: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def int2str(self, value: int) -> str:
        return self.names[int(value)]

    def str2int(self, value: str) -> int:
        try:
            return self.names.index(value)
        except ValueError:
            raise InvalidInputError(f"Unknown label {value!r}; the labels are {self.names}.") from None


@dataclass
class Audio:
    """An audio column; ``sampling_rate=None`` keeps each file's own rate."""

    sampling_rate: int | None = None
    mono: bool = True
    # datasets' Audio(num_channels=…), kept so a from_hf/to_hf round trip gives the same feature back
    num_channels: int | None = None


@dataclass
class Value:
    dtype: str = "string"


# ----------------------------------------------------------------------------- the dataset


class AudioDataset:
    """Rows of columns; ``audio_column`` (if any) holds paths decoded lazily.

    Build it with :func:`polymodal.datasets.load_audio_folder` rather than directly.
    """

    def __init__(self, columns: Mapping[str, Sequence], features: Mapping[str, Any] | None = None,
                 audio_column: str | None = None, lengths: Sequence[int] | None = None,
                 transform: Callable | None = None):
        self._columns = {name: list(values) for name, values in columns.items()}
        sizes = {len(values) for values in self._columns.values()}
        if len(sizes) > 1:
            counts = {name: len(values) for name, values in self._columns.items()}
            raise InvalidInputError(f"Columns have different lengths {counts}; every column needs one value per row.")
        self._num_rows = sizes.pop() if sizes else 0
        # A column without a declared feature gets one from its values (int64, float32, bool, string…),
        # so to_hf() keeps an int column an int column.
        self.features = {name: (features or {}).get(name) or guess_value(values)
                         for name, values in self._columns.items()}
        self._audio_column = audio_column if audio_column in self._columns else None
        self._lengths = None if lengths is None else list(lengths)
        self._transform = transform

    # -- datasets-like introspection
    @property
    def column_names(self) -> list[str]:
        return list(self._columns)

    @property
    def num_rows(self) -> int:
        return self._num_rows

    @property
    def shape(self) -> tuple[int, int]:
        return (self._num_rows, len(self._columns))

    @property
    def label_names(self) -> list[str]:
        label = self._label_feature()
        return list(label.names) if label else []

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.label_names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.label_names)}

    @property
    def sampling_rate(self) -> int | None:
        feature = self.features.get(self._audio_column) if self._audio_column else None
        return getattr(feature, "sampling_rate", None)

    @property
    def lengths(self) -> list[int]:
        """Samples per example at the target rate, from the files' headers (no decoding).

        Raises AttributeError when unknown (e.g. after a ``map`` that changed the row count),
        so ``hasattr(ds, "lengths")`` tells the Trainer whether it can use them.
        """
        if self._lengths is None and self._audio_column is not None:
            self._lengths = header_lengths(self._columns[self._audio_column], self.sampling_rate)
        if self._lengths is None:
            raise AttributeError("lengths: this dataset has no audio column and no known lengths")
        return self._lengths

    def _label_feature(self) -> ClassLabel | None:
        feature = self.features.get("label")
        if feature is None:  # a renamed label column keeps its ClassLabel
            feature = next((f for f in self.features.values() if isinstance(f, ClassLabel)), None)
        return feature if isinstance(feature, ClassLabel) else None

    def __len__(self) -> int:
        return self._num_rows

    def __repr__(self) -> str:
        return f"AudioDataset({{features: {self.column_names}, num_rows: {self._num_rows}}})"

    # -- access
    def __getitem__(self, key):
        if self._transform is not None:
            return self._transformed(key)
        if isinstance(key, str):
            return self._column(key)
        if isinstance(key, (slice, list)):  # a batch: a dict of column lists, as datasets returns
            return self._batch(key)
        return {name: self._value(name, self._index(key)) for name in self._columns}

    def _batch(self, key) -> dict[str, list]:
        indices = range(self._num_rows)[key] if isinstance(key, slice) else [self._index(i) for i in key]
        return {name: [self._value(name, i) for i in indices] for name in self._columns}

    def _transformed(self, key):
        """``with_transform``/``set_transform``: the transform sees a batch (dict of column lists),
        also for one row, as in ``datasets``."""
        if isinstance(key, str):
            if key not in self._columns:
                return self._column(key)  # raises the usual KeyError
            batch = self._transform(self._batch(slice(None)))
            return batch[key]
        single = not isinstance(key, (slice, list))
        batch = self._transform(self._batch([key] if single else key))
        if not isinstance(batch, Mapping):
            raise InvalidInputError(
                f"The dataset transform returned {type(batch).__name__}; it must return a dict of column lists."
            )
        return {name: values[0] for name, values in batch.items()} if single else dict(batch)

    def _index(self, key) -> int:
        if isinstance(key, bool) or not hasattr(key, "__index__"):
            raise InvalidInputError(
                f"Index a dataset with an int, a slice or a column name, got {type(key).__name__}."
            )
        index = int(key)
        if not -self._num_rows <= index < self._num_rows:
            raise IndexError(f"Index {index} is out of range for a dataset of {self._num_rows} rows.")
        return index % self._num_rows

    def __iter__(self):
        for i in range(self._num_rows):
            yield self[i]

    def _column(self, name: str) -> list:
        if name not in self._columns:
            raise KeyError(f"Column {name!r} not in the dataset; its columns are {self.column_names}.")
        return [self._value(name, i) for i in range(self._num_rows)]

    def _value(self, name: str, index: int):
        value = self._columns[name][index]
        if name == self._audio_column:
            return decode(value, self.features[name])
        return value

    # -- transforms (each returns a new dataset; the source is never changed)
    def _derive(self, columns: Mapping[str, Sequence], features: Mapping[str, Any], lengths="same",
                audio_column="same") -> AudioDataset:
        audio = self._audio_column if audio_column == "same" else audio_column
        if lengths == "same":
            lengths = self._lengths if audio in columns or self._audio_column is None else self._safe_lengths()
        return AudioDataset(columns, features, audio_column=audio, lengths=lengths, transform=self._transform)

    def _safe_lengths(self) -> list[int] | None:
        try:
            return self.lengths
        except AttributeError:
            return None

    def remove_columns(self, column_names: str | Iterable[str]) -> AudioDataset:
        names = self._check_columns(column_names, "remove_columns")
        kept = {k: v for k, v in self._columns.items() if k not in names}
        return self._derive(kept, self.features)

    def select_columns(self, column_names: str | Iterable[str]) -> AudioDataset:
        names = self._check_columns(column_names, "select_columns")
        return self._derive({k: self._columns[k] for k in names}, self.features)

    def rename_column(self, original_column_name: str, new_column_name: str) -> AudioDataset:
        self._check_columns(original_column_name, "rename_column")
        if new_column_name in self._columns:
            raise InvalidInputError(f"rename_column: column {new_column_name!r} already exists.")
        rename = lambda name: new_column_name if name == original_column_name else name  # noqa: E731
        columns = {rename(k): v for k, v in self._columns.items()}
        features = {rename(k): v for k, v in self.features.items()}
        audio = rename(self._audio_column) if self._audio_column else None
        return self._derive(columns, features, audio_column=audio)

    def cast_column(self, column: str, feature: Any) -> AudioDataset:
        """Change how a column is decoded; for audio, ``Audio(sampling_rate=16000)`` (ours or
        ``datasets.Audio``) makes every clip come back resampled to that rate."""
        self._check_columns(column, "cast_column")
        if column != self._audio_column or not hasattr(feature, "sampling_rate"):
            raise InvalidInputError(
                f"cast_column({column!r}, …): only the audio column ({self._audio_column!r}) can be cast, "
                "to Audio(sampling_rate=…)."
            )
        audio = Audio(sampling_rate=feature.sampling_rate, mono=getattr(feature, "mono", True))
        return AudioDataset(self._columns, {**self.features, column: audio}, audio_column=column,
                            transform=self._transform)

    def select(self, indices: Iterable[int]) -> AudioDataset:
        indices = [int(i) for i in indices]
        bad = [i for i in indices if not 0 <= i < self._num_rows]
        if bad:
            raise IndexError(f"select: indices {bad[:5]} are out of range for {self._num_rows} rows.")
        columns = {k: [v[i] for i in indices] for k, v in self._columns.items()}
        lengths = self._safe_lengths()
        return self._derive(columns, self.features, lengths=None if lengths is None else [lengths[i] for i in indices])

    def shuffle(self, seed: int | None = None) -> AudioDataset:
        import numpy as np

        return self.select(np.random.default_rng(seed).permutation(self._num_rows))

    def map(self, function: Callable | None = None, with_indices: bool = False, input_columns=None,
            batched: bool = False, batch_size: int | None = 1000, drop_last_batch: bool = False,
            remove_columns: str | Iterable[str] | None = None, fn_kwargs: dict | None = None,
            desc: str | None = None, **options) -> AudioDataset:
        """Apply ``function`` to every row (or to batches: a dict of column lists) and keep its
        outputs in memory, like ``datasets.Dataset.map``.

        Columns the function returns are added or replaced; ``remove_columns`` are dropped. An
        audio column that survives stays lazy (still decoded on access). ``datasets``' caching and
        multiprocessing options are errors (``num_proc`` > 1, ``cache_file_name`` …), except those
        that change nothing here (``keep_in_memory``, ``load_from_cache_file``, ``num_proc=1``).
        """
        from .mapping import apply_map, check_options

        check_options("map", options)
        removed = self._check_columns(remove_columns, "map(remove_columns=…)") if remove_columns else []
        function = _with_input_columns(function, self._check_columns(input_columns, "map(input_columns=…)")
                                       if input_columns else None, batched)
        source = self
        if drop_last_batch and batched and batch_size:
            source = self.select(range(len(self) - len(self) % batch_size))
        return apply_map(source, function, batched, batch_size, removed, with_indices, fn_kwargs or {}, desc)

    def filter(self, function: Callable | None = None, with_indices: bool = False, input_columns=None,
               batched: bool = False, batch_size: int | None = 1000, fn_kwargs: dict | None = None,
               desc: str | None = None, **options) -> AudioDataset:
        """Keep the rows for which ``function(row)`` is true (batched: returns one bool per row)."""
        from .mapping import check_options, kept_rows

        check_options("filter", options)
        columns = self._check_columns(input_columns, "filter(input_columns=…)") if input_columns else None
        keep = kept_rows(self, _with_input_columns(function, columns, batched), with_indices, batched,
                         batch_size, fn_kwargs or {})
        return self.select(keep)

    def train_test_split(self, test_size: float | int | None = None, train_size: float | int | None = None,
                         shuffle: bool = True, seed: int | None = None,
                         stratify_by_column: str | None = None) -> AudioDatasetDict:
        """``{"train", "test"}`` splits with ``datasets``' sizes and, for a seed, its very rows."""
        import numpy as np

        from .image_folder import _split_sizes, _stratified_order

        n_test, n_train = _split_sizes(self._num_rows, test_size, train_size)
        if not shuffle:
            return AudioDatasetDict(train=self.select(range(n_train)),
                                    test=self.select(range(n_train, n_train + n_test)))
        rng = np.random.default_rng(seed)
        if stratify_by_column is not None:
            order = _stratified_order(self._columns[self._check_columns(stratify_by_column, "stratify")[0]],
                                      n_test, rng)
        else:
            order = rng.permutation(self._num_rows)
        return AudioDatasetDict(train=self.select(order[n_test:n_test + n_train]), test=self.select(order[:n_test]))

    # -- formatting
    def with_transform(self, transform: Callable | None, columns=None, output_all_columns: bool = False):
        """A copy whose rows go through ``transform(batch) -> batch`` when read (``datasets``' name)."""
        if columns is not None or output_all_columns:
            raise InvalidInputError("with_transform: columns= and output_all_columns= are not supported; "
                                    "select the columns inside the transform.")
        return AudioDataset(self._columns, self.features, audio_column=self._audio_column, lengths=self._lengths,
                            transform=transform)

    def set_transform(self, transform: Callable | None, columns=None, output_all_columns: bool = False) -> None:
        """Like :meth:`with_transform`, in place."""
        self._transform = self.with_transform(transform, columns, output_all_columns)._transform

    def reset_format(self) -> None:
        self._transform = None

    # -- Hugging Face datasets
    @classmethod
    def from_hf(cls, dataset) -> AudioDataset:
        """A ``datasets.Dataset`` → :class:`AudioDataset` (``Audio``/``ClassLabel`` kept); see ``polymodal.datasets.hf``."""
        from .hf import from_hf

        return from_hf(dataset)

    def to_hf(self):
        """This dataset as a ``datasets.Dataset`` with ``Audio``/``ClassLabel``/``Value`` features."""
        from .hf import to_hf

        return to_hf(self)

    def _check_columns(self, names: str | Iterable[str], where: str) -> list[str]:
        names = [names] if isinstance(names, str) else list(names)
        missing = [n for n in names if n not in self._columns]
        if missing:
            raise InvalidInputError(
                f"{where}: columns {missing} not in the dataset; its columns are {self.column_names}."
            )
        return names

    def to_list(self) -> list[dict]:
        return list(self)


def _with_input_columns(function: Callable | None, columns: list[str] | None, batched: bool):
    """``input_columns``: call ``function`` with those columns as positional arguments."""
    if function is None or columns is None:
        return function

    def call(example, *args, **kwargs):
        return function(*(example[c] for c in columns), *args, **kwargs)

    return call


class AudioDatasetDict(dict):
    """Splits by name (``"train"``, ``"test"``…), like ``datasets.DatasetDict``: the transforms
    apply to every split."""

    def _each(self, method: str, *args, **kwargs) -> AudioDatasetDict:
        return AudioDatasetDict({name: getattr(ds, method)(*args, **kwargs) for name, ds in self.items()})

    def map(self, *args, **kwargs):
        return self._each("map", *args, **kwargs)

    def remove_columns(self, *args, **kwargs):
        return self._each("remove_columns", *args, **kwargs)

    def select_columns(self, *args, **kwargs):
        return self._each("select_columns", *args, **kwargs)

    def rename_column(self, *args, **kwargs):
        return self._each("rename_column", *args, **kwargs)

    def cast_column(self, *args, **kwargs):
        return self._each("cast_column", *args, **kwargs)

    def shuffle(self, seed: int | None = None):
        return self._each("shuffle", seed=seed)

    def filter(self, *args, **kwargs):
        return self._each("filter", *args, **kwargs)

    def with_transform(self, *args, **kwargs):
        return self._each("with_transform", *args, **kwargs)

    def set_transform(self, *args, **kwargs) -> None:
        for ds in self.values():
            ds.set_transform(*args, **kwargs)

    def to_hf(self):
        """A ``datasets.DatasetDict`` of the splits."""
        import datasets

        return datasets.DatasetDict({name: ds.to_hf() for name, ds in self.items()})

    @property
    def column_names(self) -> dict[str, list[str]]:
        return {name: ds.column_names for name, ds in self.items()}

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}: {ds!r}" for name, ds in self.items())
        return f"AudioDatasetDict({{{inner}}})"


# ----------------------------------------------------------------------------- audio


def decode(value: Any, feature: Any) -> dict[str, Any]:
    """One audio cell → ``{"path", "array", "sampling_rate"}``; a cell is a path, or what a
    ``datasets`` audio column stores: ``{"path", "bytes"}`` (encoded file) or ``{"array", "sampling_rate"}``."""
    from ..audio.io import load_audio_with_rate, resample

    rate = getattr(feature, "sampling_rate", None)
    path, source = _source(value)
    if isinstance(source, dict):  # already decoded samples
        array, own = source["array"], int(source["sampling_rate"])
        if rate is not None and rate != own:
            array, own = resample(array, own, rate), rate
        return {"path": path, "array": array, "sampling_rate": own}
    array, rate = load_audio_with_rate(source, sampling_rate=rate, mono=getattr(feature, "mono", True))
    return {"path": path, "array": array, "sampling_rate": rate}


def _source(value: Any) -> tuple[str | None, Any]:
    """``(path, what to decode)`` of an audio cell."""
    if isinstance(value, Mapping):
        if value.get("array") is not None:
            return value.get("path"), value
        if value.get("bytes") is not None:
            return value.get("path"), value["bytes"]
        if value.get("path") is not None:
            return value["path"], value["path"]
        raise InvalidInputError(f"An audio cell has neither 'path', 'bytes' nor 'array': keys {sorted(value)}.")
    return value, value


def header_lengths(paths: Sequence[str], sampling_rate: int | None) -> list[int]:
    """Samples per file at ``sampling_rate`` (or the file's own rate) from headers alone; the
    rounding is the resampler's (``ceil``), so it equals the decoded length."""
    from ..audio.io import audio_info

    lengths = []
    for value in paths:
        _, source = _source(value)
        if isinstance(source, dict):  # decoded samples: their length at the target rate
            own = int(source["sampling_rate"])
            frames = len(source["array"])
            lengths.append(frames if sampling_rate in (None, own) else math.ceil(frames * sampling_rate / own))
            continue
        info = audio_info(source)
        if sampling_rate is None or sampling_rate == info.sampling_rate:
            lengths.append(info.frames)
        else:
            lengths.append(math.ceil(info.frames * sampling_rate / info.sampling_rate))
    return lengths
