"""Pipeline base: load the pieces, normalise inputs, batch, and hand back plain Python results.

Every task follows the same three steps — ``preprocess`` (input → model tensors),
``_forward`` (model call under ``torch.inference_mode``) and ``postprocess`` (tensors →
``[{"score", "label"}]`` or ``{"text"}``). Broken inputs fail in ``preprocess`` with an error
that names the input, never deep inside a kernel.

What the base gives every task (see docs/pipelines.md, "Writing a pipeline"):

* :meth:`Pipeline.run` — one input → one result, a list → a list, a generator or dataset →
  an iterator that streams results (``batch_size`` inputs at a time);
* :meth:`Pipeline.run_batched` — batches that never change a result: inputs of different
  lengths share a batch only when :meth:`Pipeline.padding_is_exact` says padding is masked
  exactly; otherwise batches hold inputs of equal length only;
* :func:`audio_input` and :func:`check_top_k` — the shared input checks.
"""

from __future__ import annotations

import math
import os
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch

from ..core.errors import ConfigError, InvalidInputError

# Float samples this far outside [-1, 1] are almost always integer PCM stored as floats
# (e.g. 32767.0): the model would see a signal ~30000x louder than in training.
_LOUD_FLOAT = 4.0


def describe(value: Any) -> str:
    """A short description of an input for error messages."""
    if isinstance(value, (str, os.PathLike)):
        return repr(str(value))
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    shape = getattr(value, "shape", None)
    return f"<{type(value).__name__}{' shape ' + str(tuple(shape)) if shape is not None else ''}>"


def _where(index: int | None) -> str:
    return f"input {index} " if index is not None else "input "


def audio_input(value: Any, sampling_rate: int, *, index: int | None = None, mono_mix: bool = False) -> np.ndarray:
    """One pipeline audio input → 1-D float32 array at ``sampling_rate``.

    Accepts a file path, the bytes of an audio file, a 1-D numpy array or torch tensor (taken to
    be at the model's rate), ``{"raw" | "array": …, "sampling_rate": …}`` (resampled), or what a
    ``datasets`` audio column holds: ``{"path": …, "bytes": …}`` (decoded with polymodal's own I/O).
    """
    from ..audio.io import load_audio, pcm_to_float, resample

    where = _where(index)
    if isinstance(value, (str, os.PathLike)):
        text = str(value)
        if text.startswith(("http://", "https://")):
            raise InvalidInputError(
                f"{where}{text!r} is a URL; polymodal does not download at run time. Download the file and pass its path."
            )
        return _checked_loudness(load_audio(text, sampling_rate=sampling_rate), where)
    if isinstance(value, (bytes, bytearray)):
        return _checked_loudness(load_audio(bytes(value), sampling_rate=sampling_rate), where)
    rate = sampling_rate
    if isinstance(value, dict):
        value, rate = _audio_dict(value, where, sampling_rate)
        if rate is None:  # an encoded file ({"path", "bytes"}): decoded at the model's rate
            return audio_input(value, sampling_rate, index=index, mono_mix=mono_mix)
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().float().numpy()
    if isinstance(value, list):
        value = np.asarray(value, dtype=np.float32)
    if not isinstance(value, np.ndarray):
        raise InvalidInputError(
            f"{where}{describe(value)} is not audio: pass a file path, bytes, a 1-D array or "
            "{'raw': array, 'sampling_rate': rate}."
        )
    if value.dtype.kind not in "fiu":
        raise InvalidInputError(f"{where}has dtype {value.dtype}; audio must be float or integer PCM samples.")
    array = pcm_to_float(value)
    if array.ndim == 2 and mono_mix:
        array = array.mean(axis=0 if array.shape[0] < array.shape[1] else 1)
    if array.ndim != 1:
        raise InvalidInputError(
            f"{where}has shape {array.shape}; expected one channel of audio (samples,). "
            "Mix stereo down first, e.g. array.mean(axis=0)."
        )
    if array.size == 0:
        raise InvalidInputError(f"{where}is empty (0 samples).")
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{where}contains NaN or infinite samples.")
    _warn_if_loud(array, value.dtype, where)
    if rate != sampling_rate:
        array = resample(array, rate, sampling_rate)
    return np.ascontiguousarray(array, dtype=np.float32)


def _audio_dict(value: dict, where: str, sampling_rate: int) -> tuple[Any, int | None]:
    """``(samples, rate)`` of a dict input; ``(path or bytes, None)`` for a ``datasets`` file entry."""
    array = value.get("raw", value.get("array"))
    if array is None and (value.get("bytes") is not None or value.get("path") is not None):
        return (value["bytes"] if value.get("bytes") is not None else value["path"]), None
    if array is None or "sampling_rate" not in value:
        raise InvalidInputError(
            f"{where}is a dict with keys {sorted(value)}; it needs 'raw' (or 'array') with the samples and "
            "'sampling_rate' with their rate (or 'path'/'bytes' of an audio file)."
        )
    rate = value["sampling_rate"]
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, float, np.integer, np.floating)) \
            or not math.isfinite(rate) or rate <= 0 or rate != int(rate):
        raise InvalidInputError(
            f"{where}has sampling_rate={rate!r}; it must be a positive whole number of samples per second, "
            "e.g. 16000."
        )
    return array, int(rate)


def _checked_loudness(array: np.ndarray, where: str) -> np.ndarray:
    _warn_if_loud(array, array.dtype, where)  # a float WAV may hold any values
    return array


def _warn_if_loud(array: np.ndarray, dtype: np.dtype, where: str) -> None:
    if dtype.kind != "f":
        return  # integer PCM was scaled into [-1, 1] above
    peak = float(np.abs(array).max())
    if peak > _LOUD_FLOAT:
        warnings.warn(
            f"{where}holds float samples up to {peak:.4g}, far outside [-1, 1]; the model was trained on "
            "audio in [-1, 1]. If these are integer PCM values stored as floats, pass the integer array "
            "(e.g. array.astype(np.int16)) or divide by 32768.",
            UserWarning, stacklevel=3,
        )


def max_input_samples(extractor) -> int | None:
    """Samples a fixed-window feature extractor reads from a clip (Whisper's ``n_samples``, AST's
    ``max_length`` frames); None when it reads everything."""
    limit = getattr(extractor, "max_input_samples", None) or getattr(extractor, "n_samples", None)
    return int(limit) if limit else None


def warn_if_truncated(arrays: list[np.ndarray], extractor, first: int | None) -> None:
    """Say so when a clip is longer than what the model will see (Transformers cuts it silently)."""
    limit = max_input_samples(extractor)
    if limit is None:
        return
    long = [(i, len(a)) for i, a in enumerate(arrays) if len(a) > limit]
    if not long:
        return
    rate = extractor.sampling_rate
    names = ", ".join(f"{'input ' + str(first + i) if first is not None else 'the input'} ({n / rate:.1f} s)"
                      for i, n in long[:5])
    warnings.warn(
        f"{names} {'is' if len(long) == 1 else 'are'} longer than the {limit / rate:.1f} s this model's feature "
        f"extractor reads; only the first {limit / rate:.1f} s {'is' if len(long) == 1 else 'are'} classified and "
        f"the rest is ignored. To classify a whole long recording, cut it into {limit / rate:.1f} s pieces and "
        "classify each (or average their scores).",
        UserWarning, stacklevel=5,
    )


def check_top_k(top_k: Any, available: int, default: int = 5) -> int:
    """A valid ``top_k`` (a positive int; None → ``default``), capped at ``available``."""
    if top_k is None:
        top_k = default
    if isinstance(top_k, (bool, np.bool_)) or not isinstance(top_k, (int, np.integer)):
        raise InvalidInputError(
            f"top_k={top_k!r} ({type(top_k).__name__}); it must be a positive int, e.g. top_k=3."
        )
    if top_k < 1:
        raise InvalidInputError(f"top_k={top_k}; it must be at least 1 (it caps at the {available} labels).")
    return min(int(top_k), available)


def as_batch(inputs: Any) -> tuple[list, bool]:
    """``(list of inputs, was_single)``; a list/tuple of inputs is a batch, anything else one input."""
    if isinstance(inputs, (list, tuple)):
        if len(inputs) == 0:
            raise InvalidInputError("The pipeline got an empty list of inputs.")
        # A list of numbers is one waveform, not a batch of scalars.
        if isinstance(inputs[0], (int, float, np.number)):
            return [np.asarray(inputs, dtype=np.float32)], True
        return list(inputs), False
    if is_stream(inputs):
        return list(inputs), False
    return [inputs], True


def is_stream(inputs: Any) -> bool:
    """A generator, iterator or dataset (ours, ``datasets``', a torch ``Dataset``, ``KeyDataset``)."""
    if isinstance(inputs, (str, bytes, bytearray, dict, list, tuple, np.ndarray, torch.Tensor, os.PathLike)):
        return False
    if isinstance(inputs, (types.GeneratorType, Iterator)):
        return True
    if isinstance(inputs, torch.utils.data.Dataset):
        return True
    return isinstance(inputs, Iterable) and hasattr(inputs, "__len__") and hasattr(inputs, "__getitem__")


def chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def equal_length_groups(order: list[int], lengths: list[int], size: int) -> list[list[int]]:
    """Indices of ``order`` in groups of at most ``size`` that share one length: batches that pad nothing."""
    buckets: dict[int, list[int]] = {}
    for i in order:
        buckets.setdefault(lengths[i], []).append(i)
    return [group for bucket in buckets.values() for group in chunks(bucket, size)]


class PipelineIterator:
    """The results of a pipeline fed a generator or dataset, one per input, computed ``batch_size``
    inputs at a time as they are read. ``len()`` works when the source has a length."""

    def __init__(self, results: Iterator, length: int | None):
        self._results = results
        self._length = length

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._results)

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("This pipeline iterator reads a generator, which has no length.")
        return self._length


def _iterate(source) -> Iterator:
    if hasattr(source, "__iter__"):
        return iter(source)
    return (source[i] for i in range(len(source)))  # a map-style torch Dataset


class Pipeline:
    task = ""
    # Keyword arguments of __call__ that may also be given once to pipeline(...) as defaults.
    call_parameters: tuple[str, ...] = ()

    def __init__(self, model, feature_extractor=None, tokenizer=None, image_processor=None, processor=None,
                 device=None, batch_size: int | None = None, torch_dtype=None, **kwargs):
        _check_init_kwargs(type(self), kwargs)
        self.model = model
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.processor = processor
        self.device = torch.device(_device(device))
        self.batch_size = check_batch_size(batch_size) or 1
        self.torch_dtype = torch_dtype
        if torch_dtype is not None:
            self.model.to(torch_dtype)
        self.model.to(self.device).eval()
        self._defaults = kwargs

    @property
    def dtype(self):
        return self.model.dtype

    # ------------------------------------------------------------------ batching
    def run(self, inputs: Any, process: Callable[[list, int | None], list], batch_size: int | None = None):
        """Apply ``process(items, first_index)`` → one result per item to any pipeline input.

        One input → its result; a list → a list; a generator or dataset → a
        :class:`PipelineIterator` that reads ``batch_size`` inputs at a time. ``first_index`` is
        the position of ``items[0]`` for error messages (None for a single input).
        """
        if is_stream(inputs):
            window = check_batch_size(batch_size) or self.batch_size
            length = len(inputs) if hasattr(inputs, "__len__") else None
            return PipelineIterator(self._stream(_iterate(inputs), process, window), length)
        items, single = as_batch(inputs)
        results = process(items, None if single else 0)
        return results[0] if single else results

    @staticmethod
    def _stream(source: Iterator, process, window: int):
        start = 0
        while True:
            items = [item for _, item in zip(range(window), source)]
            if not items:
                return
            yield from process(items, start)
            start += len(items)

    def padding_is_exact(self) -> bool:
        """Whether inputs of different lengths may share a batch without changing any result.

        True when the feature extractor gives every example a fixed size on its own
        (``pads_to_fixed_length``), or when it returns an attention mask and the model says it
        masks padding exactly (``model.padding_is_masked()``). Otherwise (e.g. a group-norm
        Wav2Vec2, whose first conv normalises over the padded clip) batches hold equal lengths only.
        """
        extractor = self.feature_extractor
        if extractor is not None and getattr(extractor, "pads_to_fixed_length", False):
            return True
        masked = extractor is None or bool(getattr(extractor, "return_attention_mask", False))
        model_masks = getattr(self.model, "padding_is_masked", None)
        return masked and callable(model_masks) and bool(model_masks())

    def run_batched(self, items: list, batch_size: int, forward: Callable[[list], list],
                    length: Callable[[Any], int] = len) -> list:
        """``forward`` over groups of at most ``batch_size`` items; one result per item, in order.

        When padding is not exact, a group only holds items of the same ``length``, so no item is
        ever padded and each result equals the one the item gets alone.
        """
        batch_size = max(1, int(batch_size))
        order = list(range(len(items)))
        if batch_size == 1 or len(items) == 1 or self.padding_is_exact():
            groups = list(chunks(order, batch_size))
        else:
            groups = equal_length_groups(order, [length(item) for item in items], batch_size)
        results: list = [None] * len(items)
        for group in groups:
            for i, result in zip(group, forward([items[i] for i in group])):
                results[i] = result
        return results

    # ------------------------------------------------------------------ features
    def _model_inputs(self, features) -> dict[str, torch.Tensor]:
        out = {}
        for key, value in dict(features).items():
            if isinstance(value, np.ndarray):
                value = torch.from_numpy(value)
            if isinstance(value, torch.Tensor):
                if value.is_floating_point():
                    value = value.to(self.model.dtype)
                value = value.to(self.device)
            out[key] = value
        return out

    def extract_features(self, arrays: list, **kwargs):
        """Run the feature extractor once over a batch of 1-D arrays.

        Extractors whose default pads to a fixed length (Whisper, AST) keep that default; the
        others pad to the longest example, with an attention mask when the extractor makes one.
        """
        extractor = self.feature_extractor
        if len(arrays) > 1 and "padding" not in kwargs and _default_padding(extractor) in (False, None, "do_not_pad"):
            kwargs["padding"] = True
        return extractor(arrays, sampling_rate=extractor.sampling_rate, return_tensors="pt", **kwargs)

    def check_finite(self, values: torch.Tensor, what: str = "scores") -> None:
        """NaN/inf model outputs would be ranked arbitrarily: stop with an error naming the model."""
        if not bool(torch.isfinite(values).all()):
            source = getattr(self.model.config, "name_or_path", "") or type(self.model).__name__
            raise InvalidInputError(
                f"The model {source!r} produced NaN or infinite {what}, so no ranking is meaningful. Its weights are "
                "probably broken (NaN/inf after a diverged training run, or a bad conversion): check them with "
                "any(not p.isfinite().all() for p in model.parameters()) and reload a good checkpoint."
            )

    def __call__(self, inputs, **kwargs):
        raise NotImplementedError


def check_batch_size(batch_size: Any) -> int | None:
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InvalidInputError(f"batch_size={batch_size!r}; it must be a positive int.")
    return int(batch_size)


_NOT_SUPPORTED = {
    "device_map": "polymodal runs a pipeline on one device: pass device='cuda:0' (or 'cpu', or a GPU index) "
                  "instead of device_map.",
    "trust_remote_code": "polymodal never runs code from a checkpoint folder; drop trust_remote_code.",
    "framework": "polymodal pipelines are PyTorch only; drop framework=.",
    "use_fast": "polymodal always uses its fast tokenizers; drop use_fast= (image pipelines take use_fast=False "
                "for the bit-exact image path).",
}


# Values of those arguments that ask for what polymodal does anyway: accepted and dropped.
_HARMLESS = {"device_map": (None,), "trust_remote_code": (None, False), "framework": (None, "pt"),
             "use_fast": (None, True)}


def _check_init_kwargs(cls, kwargs: dict) -> None:
    for name in [n for n in kwargs if n in _NOT_SUPPORTED]:
        if kwargs[name] in _HARMLESS.get(name, ()):
            kwargs.pop(name)
            continue
        raise ConfigError(f"pipeline(..., {name}={kwargs[name]!r}) is not supported: {_NOT_SUPPORTED[name]}")
    unknown = sorted(set(kwargs) - set(cls.call_parameters))
    if unknown:
        accepted = ", ".join(cls.call_parameters) or "none"
        raise ConfigError(
            f"pipeline({cls.task!r}) got unknown argument(s) {unknown}. Arguments it accepts as defaults for "
            f"every call: {accepted}; and model, feature_extractor, tokenizer, image_processor, processor, "
            "device, dtype/torch_dtype, batch_size, model_kwargs."
        )


def _default_padding(extractor):
    import inspect

    parameter = inspect.signature(extractor.__call__).parameters.get("padding")
    return None if parameter is None else parameter.default


def _device(device) -> str:
    if device is None:
        return "cpu"
    if isinstance(device, int):
        return "cpu" if device < 0 else f"cuda:{device}"
    return str(device)
