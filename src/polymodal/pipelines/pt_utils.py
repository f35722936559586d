"""``KeyDataset`` / ``KeyPairDataset``: feed one column (or a pair of columns) of a dataset to a
pipeline, as in Transformers' ``transformers.pipelines.pt_utils``::

    from polymodal.pipelines.pt_utils import KeyDataset
    for out in pipe(KeyDataset(dataset, "audio"), batch_size=8):
        print(out)

Works over any indexable dataset of row dicts: polymodal's ``AudioDataset``, a Hugging Face
``datasets.Dataset`` or a list of dicts.
"""

from __future__ import annotations

from torch.utils.data import Dataset

from ..core.errors import InvalidInputError


def _value(dataset, index: int, key: str):
    row = dataset[index]
    try:
        return row[key]
    except (KeyError, TypeError, IndexError):
        columns = sorted(row) if hasattr(row, "keys") else type(row).__name__
        raise InvalidInputError(f"Row {index} of the dataset has no column {key!r}; its columns are {columns}.") from None


class KeyDataset(Dataset):
    """Row ``i`` → ``dataset[i][key]``."""

    def __init__(self, dataset, key: str):
        self.dataset = dataset
        self.key = key

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        return _value(self.dataset, i, self.key)


class KeyPairDataset(Dataset):
    """Row ``i`` → ``{"text": dataset[i][key1], "text_pair": dataset[i][key2]}`` (sentence pairs)."""

    def __init__(self, dataset, key1: str, key2: str):
        self.dataset = dataset
        self.key1 = key1
        self.key2 = key2

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        return {"text": _value(self.dataset, i, self.key1), "text_pair": _value(self.dataset, i, self.key2)}
