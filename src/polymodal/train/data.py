"""Dataset plumbing for the Trainer: column filtering, samplers, length grouping."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


def forward_arguments(model) -> set[str]:
    """Names the model's forward accepts (plus label names), for remove_unused_columns."""
    forward = getattr(model, "forward", model)
    params = set(inspect.signature(forward).parameters)
    return params | {"label", "label_ids", "labels"}


class ColumnFilter(Dataset):
    """A view of a dataset keeping only the columns the model accepts."""

    def __init__(self, dataset, keep: set[str]):
        self.dataset, self.keep = dataset, keep

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.dataset[index]
        return {k: v for k, v in item.items() if k in self.keep}


def remove_unused_columns(dataset, model):
    keep = forward_arguments(model)
    column_names = getattr(dataset, "column_names", None)
    if column_names is not None and hasattr(dataset, "remove_columns"):  # datasets.Dataset: drop columns, no copy
        unused = [c for c in column_names if c not in keep]
        return dataset.remove_columns(unused) if unused else dataset
    return ColumnFilter(dataset, keep)


class SeededRandomSampler(Sampler[int]):
    """A random permutation per epoch from ``seed + epoch``: reproducible and resumable."""

    def __init__(self, length: int, seed: int, rank: int = 0, world_size: int = 1):
        self.length, self.seed, self.rank, self.world_size = length, seed, rank, world_size
        self.epoch = 0
        self.skip = 0  # examples to drop from the start of the next iteration (resuming mid-epoch)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _order(self) -> list[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return torch.randperm(self.length, generator=generator).tolist()

    def __iter__(self):
        order = shard(self._order(), self.rank, self.world_size)
        skip, self.skip = self.skip, 0
        return iter(order[skip:])

    def __len__(self) -> int:
        return -(-self.length // self.world_size)


class SequentialShardSampler(SeededRandomSampler):
    def _order(self) -> list[int]:
        return list(range(self.length))


class LengthGroupedSampler(SeededRandomSampler):
    """Random mega-batches, each sorted by length, so batches hold similar lengths (less padding)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        super().__init__(len(lengths), seed, rank, world_size)
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size

    def _order(self) -> list[int]:
        order = np.asarray(super()._order())
        mega = self.batch_size * 50
        groups = [order[i:i + mega] for i in range(0, len(order), mega)]
        groups = [g[np.argsort(-self.lengths[g], kind="stable")] for g in groups]
        return np.concatenate(groups).tolist() if groups else []


def shard(indices: list[int], rank: int, world_size: int) -> list[int]:
    """Split indices over processes; pad by repeating so every process sees the same count."""
    if world_size == 1:
        return indices
    total = -(-len(indices) // world_size) * world_size
    padded = indices + indices[: total - len(indices)]
    return padded[rank:total:world_size]


def example_lengths(dataset, length_column: str, input_name: str) -> list[int]:
    """Lengths for group_by_length without decoding audio: a length column, the dataset's own
    ``lengths`` (read from file headers), or the size of already-computed inputs."""
    if hasattr(dataset, "lengths"):
        return list(dataset.lengths)
    names = getattr(dataset, "column_names", None)
    if names is not None and length_column in names:
        return list(dataset[length_column])
    if names is not None and input_name in names:
        return [len(x) for x in dataset[input_name]]
    lengths = []
    for i in range(len(dataset)):
        item = dataset[i]
        if length_column in item:
            lengths.append(int(item[length_column]))
        elif input_name in item:
            lengths.append(len(item[input_name]))
        else:
            raise ValueError(
                f"group_by_length needs a '{length_column}' column or '{input_name}' in each example; "
                f"example {i} has only {sorted(item)}."
            )
    return lengths


def is_mapping_dataset(dataset) -> bool:
    return hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__") and (
        len(dataset) == 0 or isinstance(dataset[0], Mapping)
    )
