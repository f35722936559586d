"""Pipeline base: load the pieces, normalise inputs, batch, and hand back plain Python results.

Every task follows the same three steps — ``preprocess`` (input → model tensors),
``_forward`` (model call under ``torch.inference_mode``) and ``postprocess`` (tensors →
``[{"score", "label"}]`` or ``{"text"}``). Broken inputs fail in ``preprocess`` with an error
that names the input, never deep inside a kernel.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from ..core.errors import InvalidInputError


def describe(value: Any) -> str:
    """A short description of an input for error messages."""
    if isinstance(value, (str, os.PathLike)):
        return repr(str(value))
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    shape = getattr(value, "shape", None)
    return f"<{type(value).__name__}{' shape ' + str(tuple(shape)) if shape is not None else ''}>"


def audio_input(value: Any, sampling_rate: int, *, index: int | None = None, mono_mix: bool = False) -> np.ndarray:
    """One pipeline audio input → 1-D float32 array at ``sampling_rate``.

    Accepts a file path, the bytes of an audio file, a 1-D numpy array or torch tensor (taken to
    be at the model's rate), or ``{"raw" | "array": …, "sampling_rate": …}`` (resampled).
    """
    from ..audio.io import load_audio, pcm_to_float, resample

    where = f"input {index} " if index is not None else "input "
    if isinstance(value, (str, os.PathLike)):
        text = str(value)
        if text.startswith(("http://", "https://")):
            raise InvalidInputError(
                f"{where}{text!r} is a URL; polymodal does not download at run time. Download the file and pass its path."
            )
        return load_audio(text, sampling_rate=sampling_rate)
    if isinstance(value, (bytes, bytearray)):
        return load_audio(bytes(value), sampling_rate=sampling_rate)
    rate = sampling_rate
    if isinstance(value, dict):
        array = value.get("raw", value.get("array"))
        if array is None or "sampling_rate" not in value:
            raise InvalidInputError(
                f"{where}is a dict with keys {sorted(value)}; it needs 'raw' (or 'array') with the samples and "
                "'sampling_rate' with their rate."
            )
        value, rate = array, int(value["sampling_rate"])
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
    if rate != sampling_rate:
        array = resample(array, rate, sampling_rate)
    return np.ascontiguousarray(array, dtype=np.float32)


def as_batch(inputs: Any) -> tuple[list, bool]:
    """``(list of inputs, was_single)``; a list/tuple of inputs is a batch, anything else one input."""
    if isinstance(inputs, (list, tuple)):
        if len(inputs) == 0:
            raise InvalidInputError("The pipeline got an empty list of inputs.")
        # A list of numbers is one waveform, not a batch of scalars.
        if isinstance(inputs[0], (int, float, np.number)):
            return [np.asarray(inputs, dtype=np.float32)], True
        return list(inputs), False
    if isinstance(inputs, Iterable) and not isinstance(inputs, (str, bytes, bytearray, dict, np.ndarray, torch.Tensor)):
        return list(inputs), False
    return [inputs], True


def chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Pipeline:
    task = ""

    def __init__(self, model, feature_extractor=None, tokenizer=None, image_processor=None, processor=None,
                 device=None, batch_size: int | None = None, torch_dtype=None, **kwargs):
        self.model = model
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.processor = processor
        self.device = torch.device(_device(device))
        self.batch_size = batch_size or 1
        self.torch_dtype = torch_dtype
        if torch_dtype is not None:
            self.model.to(torch_dtype)
        self.model.to(self.device).eval()
        self._defaults = kwargs

    @property
    def dtype(self):
        return self.model.dtype

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

    def __call__(self, inputs, **kwargs):
        raise NotImplementedError


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
