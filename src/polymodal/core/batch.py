"""``BatchFeature`` and the tensor conversion that audio, vision and text preprocessing share.

An extractor, image processor or processor returns a ``BatchFeature``: a dict with attribute
access whose array values become torch tensors (``return_tensors="pt"``) or numpy arrays
(``"np"``) in one place, with one error message for ragged batches.
"""

from __future__ import annotations

from collections import UserDict
from enum import Enum
from typing import Any, Sequence

import numpy as np

from .errors import InvalidInputError


class TensorType(str, Enum):
    PYTORCH = "pt"
    NUMPY = "np"


def _is_torch(value) -> bool:
    # Avoid importing torch just to answer "no".
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def _tensor_type(tensor_type) -> TensorType | None:
    if tensor_type is None:
        return None
    value = getattr(tensor_type, "value", tensor_type)
    try:
        return TensorType(value)
    except ValueError:
        raise InvalidInputError(
            f"return_tensors={tensor_type!r} is not supported; use 'pt' (torch), 'np' (numpy) or None."
        ) from None


class BatchFeature(UserDict):
    """The dict an extractor returns: key access (``bf["input_values"]``) and attribute access
    (``bf.input_values``); ``convert_to_tensors`` and ``to`` act on every value."""

    def __init__(self, data: dict[str, Any] | None = None, tensor_type=None,
                 skip_tensor_conversion: Sequence[str] | None = None):
        super().__init__(data)
        self.skip_tensor_conversion = skip_tensor_conversion
        self.convert_to_tensors(tensor_type)

    def __getitem__(self, item):
        if isinstance(item, str):
            return self.data[item]
        raise KeyError(f"BatchFeature is indexed by name (e.g. 'input_values'), not by {type(item).__name__}.")

    def __getattr__(self, item: str):
        if item.startswith("__") or item in ("data", "skip_tensor_conversion"):
            raise AttributeError(item)
        try:
            return self.data[item]
        except KeyError:
            raise AttributeError(f"BatchFeature has no '{item}'; it holds {list(self.data)}.") from None

    def __getstate__(self):
        return {"data": self.data, "skip_tensor_conversion": self.skip_tensor_conversion}

    def __setstate__(self, state):
        self.data = state.get("data", {})
        self.skip_tensor_conversion = state.get("skip_tensor_conversion")

    def convert_to_tensors(self, tensor_type=None, skip_tensor_conversion=None) -> "BatchFeature":
        """Turn every array-like value into ``tensor_type`` ('pt' or 'np'); None leaves them as they are."""
        kind = _tensor_type(tensor_type)
        if kind is None:
            return self
        skip = set(skip_tensor_conversion or self.skip_tensor_conversion or ())
        for key, value in self.data.items():
            if key in skip or not _is_array_like(value):
                continue
            try:
                self.data[key] = _to_torch(value) if kind is TensorType.PYTORCH else _to_numpy(value)
            except (ValueError, TypeError, RuntimeError) as exc:
                raise InvalidInputError(
                    f"Could not turn '{key}' into a {kind.value} tensor ({exc}). The examples probably have "
                    "different lengths: pass padding=True, or return_tensors=None to get a list."
                ) from None
        return self

    def to(self, *args, **kwargs) -> "BatchFeature":
        """Move tensors to a device and/or cast them to a dtype (torch values only).

        Like Transformers, only floating-point tensors are cast, so integer ids and masks keep
        their dtype; every tensor is moved when a device is given.
        """
        import torch

        device = kwargs.get("device")
        if device is None and args:
            first = args[0]
            if isinstance(first, torch.dtype):
                pass
            elif isinstance(first, (str, int, torch.device)):
                device = first
            else:
                raise InvalidInputError(
                    f"BatchFeature.to() takes a device ('cpu', 'cuda:0', torch.device) or a torch dtype, "
                    f"not {first!r}."
                )
        non_blocking = kwargs.get("non_blocking", False)

        def move(value):
            if isinstance(value, torch.Tensor):
                if torch.is_floating_point(value):
                    return value.to(*args, **kwargs)
                return value.to(device=device, non_blocking=non_blocking) if device is not None else value
            if isinstance(value, (list, tuple)):
                return type(value)(move(v) for v in value)
            return value

        self.data = {key: move(value) for key, value in self.data.items()}
        return self


def _is_array_like(value) -> bool:
    if isinstance(value, (np.ndarray, int, float, bool, np.number)) or _is_torch(value):
        return True
    if isinstance(value, (list, tuple)):
        return len(value) == 0 or _is_array_like(value[0])
    return False


def _to_numpy(value):
    if isinstance(value, np.ndarray):
        return value
    if _is_torch(value):
        return _torch_to_numpy(value)
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple, np.ndarray)):
        if len({len(v) for v in value}) > 1:
            # Ragged: an object array of arrays, as Transformers returns.
            out = np.empty(len(value), dtype=object)
            out[:] = [np.asarray(v) for v in value]
            return out
    if isinstance(value, (list, tuple)) and value and _is_torch(value[0]):
        return np.stack([_torch_to_numpy(v) for v in value])
    return np.asarray(value)


def _to_torch(value):
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
        return torch.stack(list(value))
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray):
        value = np.stack(value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise ValueError("the examples have different shapes")
        return torch.from_numpy(np.ascontiguousarray(value))
    return torch.tensor(value)


def _torch_to_numpy(tensor) -> np.ndarray:
    tensor = tensor.detach().cpu()
    if tensor.is_floating_point() and tensor.dtype.itemsize < 4:
        tensor = tensor.float()  # numpy has no bfloat16
    return tensor.numpy()
