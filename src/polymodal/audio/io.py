"""Audio decoding and resampling: file / bytes / file object → float32 numpy array.

Return convention:

* ``load_audio(source, sampling_rate=None, mono=True)`` returns only the array. With
  ``sampling_rate=None`` the array is at the file's own rate; with a rate it is resampled to it.
* ``load_audio_with_rate(...)`` takes the same arguments and returns ``(array, rate)``.
* ``mono=True`` gives shape ``(samples,)`` (channels averaged); ``mono=False`` always gives
  ``(channels, samples)``, even for a one-channel file.

Decoding is libsndfile's (through ``soundfile``): WAV, FLAC, OGG (Vorbis and Opus), MP3 and
the other formats it knows. Resampling is soxr's "HQ" preset with the output length fixed to
``ceil(samples * target / orig)`` — the same steps as ``librosa.load`` and Transformers'
soundfile backend, so the arrays match theirs exactly.

``soundfile`` and ``soxr`` are imported inside the functions so ``import polymodal`` stays light.
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import AudioDecodeError, InvalidInputError

SUPPORTED_FORMATS = "WAV, FLAC, OGG (Vorbis/Opus) and MP3"
_CONVERT_HINT = "convert it first, e.g. `ffmpeg -i input.m4a output.wav`"


class AudioFileNotFoundError(AudioDecodeError, FileNotFoundError):
    """A path given as audio does not exist (catchable as FileNotFoundError or ValueError)."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, without decoding the samples."""

    sampling_rate: int
    channels: int
    frames: int
    duration: float  # seconds
    format: str  # e.g. "WAV", "FLAC", "OGG", "MP3"
    subtype: str  # e.g. "PCM_16", "VORBIS", "OPUS", "MPEG_LAYER_III"


# ----------------------------------------------------------------------------- sources


def _describe(source: Any) -> str:
    """A short name for error messages: the path, the byte count, or the file object's name."""
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes of audio>"
    name = getattr(source, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(source).__name__} object>"


def _open_source(source: Any):
    """Check ``source`` and turn it into something ``soundfile`` can open (a path or a seekable file)."""
    if isinstance(source, (str, os.PathLike)):
        return _check_path(os.fspath(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise AudioDecodeError(
                "Audio input is an empty byte string (0 bytes); pass the bytes of an audio file."
            )
        return io.BytesIO(bytes(source))
    if isinstance(source, io.TextIOBase):
        raise InvalidInputError(
            f"Audio file object {_describe(source)} is open in text mode; open it with mode 'rb'."
        )
    if hasattr(source, "read"):
        # libsndfile seeks around the header; a pipe or socket cannot, so buffer it whole.
        if not (getattr(source, "seekable", lambda: False)()):
            return _open_source(source.read())
        if _bytes_left(source) == 0:
            raise AudioDecodeError(
                f"Audio file object {_describe(source)} has no bytes left to read (empty, or already read "
                "to its end: seek(0) first)."
            )
        return source
    raise InvalidInputError(
        f"Audio input must be a file path, bytes or a binary file object, got {type(source).__name__}. "
        "For an array that is already decoded, pass it to the feature extractor directly."
    )


def _bytes_left(stream: Any) -> int:
    start = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(start)
    return end - start


def _check_path(path: str) -> str:
    if path.startswith(("http://", "https://")):
        raise InvalidInputError(f"Audio path {path!r} is a URL; polymodal does not fetch URLs. Download it first.")
    if not os.path.exists(path):
        raise AudioFileNotFoundError(f"Audio file {path!r} does not exist; check the path (cwd is {os.getcwd()!r}).")
    if os.path.isdir(path):
        raise AudioDecodeError(f"Audio path {path!r} is a directory; pass the path of one audio file.")
    if os.path.getsize(path) == 0:
        raise AudioDecodeError(f"Audio file {path!r} is empty (0 bytes); re-create or re-download it.")
    return path


def _decode_error(source: Any, err: Exception) -> AudioDecodeError:
    # LibsndfileError carries libsndfile's own sentence; other errors only their message.
    reason = (getattr(err, "error_string", None) or str(err)).strip().rstrip(".")
    return AudioDecodeError(
        f"Could not decode audio {_describe(source)}: {reason}. The file may be corrupt or in a format "
        f"libsndfile cannot read (it reads {SUPPORTED_FORMATS}); {_CONVERT_HINT}."
    )


# ----------------------------------------------------------------------------- decoding


def _read(source: Any) -> tuple[np.ndarray, int]:
    """Decode to float32 ``(channels, samples)`` in [-1, 1] plus the file's rate."""
    import soundfile as sf

    opened = _open_source(source)
    try:
        # dtype="float32" makes libsndfile scale int PCM to [-1, 1) for every subtype.
        with sf.SoundFile(opened) as f:
            rate = f.samplerate
            data = f.read(dtype="float32", always_2d=True)  # (samples, channels)
            declared, present = _truncated_data_chunk(f.extra_info)
    except (sf.LibsndfileError, RuntimeError, TypeError, EOFError) as err:
        raise _decode_error(source, err) from None
    if declared is not None:
        raise AudioDecodeError(
            f"Audio {_describe(source)} is truncated: its header declares {declared} bytes of audio but only "
            f"{present} are in the file (an interrupted copy or download?), so it holds only part of the recording. "
            "Copy or download it again; to use the part that is there, re-save it, e.g. "
            "soundfile.write(out, *soundfile.read(path))."
        )
    if data.shape[0] == 0:
        raise AudioDecodeError(
            f"Audio {_describe(source)} decoded to zero samples; the file holds a header but no audio."
        )
    if not np.isfinite(data).all():
        raise AudioDecodeError(
            f"Audio {_describe(source)} contains NaN or infinite samples; the file is damaged or was "
            "written from a broken signal. Re-export it from a clean source."
        )
    return np.ascontiguousarray(data.T), rate  # (channels, samples)


_SHOULD_BE = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
# Streamed WAVs are written before their length is known: 0 or all-ones sizes are placeholders.
_PLACEHOLDER_SIZES = (0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFFFFFFFFFF)


def _truncated_data_chunk(extra_info: str) -> tuple[int | None, int | None]:
    """``(declared, present)`` bytes when libsndfile's header log shows a WAV data chunk cut short."""
    match = _SHOULD_BE.search(extra_info or "")
    if not match:
        return None, None
    declared, present = int(match.group(1)), int(match.group(2))
    if declared in _PLACEHOLDER_SIZES or declared <= present:
        return None, None
    return declared, present


def load_audio_with_rate(
    source: Any, sampling_rate: int | None = None, mono: bool = True
) -> tuple[np.ndarray, int]:
    """Decode ``source`` and return ``(array, rate)``; see the module docstring for shapes.

    Args:
        source: a path (``str`` / ``os.PathLike``), the bytes of an audio file, or a binary file object.
        sampling_rate: resample to this rate; ``None`` keeps the file's rate.
        mono: average the channels into one (``(samples,)``); ``False`` keeps ``(channels, samples)``.
    """
    if sampling_rate is not None:
        _check_rate(sampling_rate, "sampling_rate")
    data, rate = _read(source)
    if mono:
        data = data[0] if data.shape[0] == 1 else data.mean(axis=0, dtype=np.float32)
    if sampling_rate is not None and sampling_rate != rate:
        data, rate = resample(data, rate, sampling_rate), sampling_rate
    return data, rate


def load_audio(source: Any, sampling_rate: int | None = None, mono: bool = True) -> np.ndarray:
    """Decode ``source`` to a float32 array (at ``sampling_rate`` if given, else the file's rate).

    A numpy array is accepted too and returned as float32 (int PCM scaled to [-1, 1]), as
    Transformers' ``load_audio`` passes arrays through; it cannot be resampled without its rate.
    """
    if isinstance(source, np.ndarray):
        return pcm_to_float(source)
    return load_audio_with_rate(source, sampling_rate=sampling_rate, mono=mono)[0]


def audio_info(source: Any) -> AudioInfo:
    """Rate, channels, frames and duration from the header alone (cheap: no samples decoded)."""
    import soundfile as sf

    opened = _open_source(source)
    try:
        info = sf.info(opened)
    except (sf.LibsndfileError, RuntimeError, TypeError, EOFError) as err:
        raise _decode_error(source, err) from None
    return AudioInfo(
        sampling_rate=info.samplerate,
        channels=info.channels,
        frames=info.frames,
        duration=info.frames / info.samplerate,
        format=info.format,
        subtype=info.subtype,
    )


def pcm_to_float(array: np.ndarray) -> np.ndarray:
    """Integer PCM → float32 in [-1, 1] (unsigned 8-bit is centred at 128); floats are cast only."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        return array.astype(np.float32, copy=False)
    if array.dtype.kind == "i":
        return (array.astype(np.float32) / float(2 ** (8 * array.dtype.itemsize - 1))).astype(np.float32)
    if array.dtype.kind == "u":
        half = float(2 ** (8 * array.dtype.itemsize - 1))
        return ((array.astype(np.float64) - half) / half).astype(np.float32)
    if array.dtype.kind == "b":
        return array.astype(np.float32)
    raise InvalidInputError(f"Audio array has dtype {array.dtype}; expected a float or integer PCM array.")


# ----------------------------------------------------------------------------- resampling


def _check_rate(rate: Any, name: str) -> None:
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise InvalidInputError(f"{name} must be a positive integer number of Hz (e.g. 16000), got {rate!r}.")


def _to_numpy(array: Any) -> tuple[np.ndarray, Any]:
    """numpy view of ``array`` and what is needed to turn the result back into its type."""
    if type(array).__module__.startswith("torch"):
        import torch

        # numpy has no bfloat16/float16 path in soxr; compute those (and ints) in float32.
        data = array.detach().cpu()
        if data.dtype not in (torch.float32, torch.float64):
            data = data.float()
        return data.numpy(), (array.dtype, array.device)
    return np.asarray(array), None


def _from_numpy(result: np.ndarray, torch_meta: Any):
    if torch_meta is None:
        return result
    import torch

    dtype, device = torch_meta
    return torch.from_numpy(result).to(device=device, dtype=dtype if dtype.is_floating_point else torch.float32)


def resample(array: Any, orig_sr: int, target_sr: int):
    """Resample ``(samples,)`` or ``(batch, samples)`` audio from ``orig_sr`` to ``target_sr`` Hz.

    numpy in → numpy out, torch in → torch out (same device; float dtype kept, ints become
    float32). soxr "HQ" runs all rows of a batch in one call (as channels). The output has
    exactly ``ceil(samples * target_sr / orig_sr)`` samples, as in librosa and Transformers.
    """
    _check_rate(orig_sr, "orig_sr")
    _check_rate(target_sr, "target_sr")
    data, torch_meta = _to_numpy(array)
    data = _check_signal(data)
    if orig_sr != target_sr:
        data = _soxr(data, int(orig_sr), int(target_sr))
    return _from_numpy(data, torch_meta)


def _check_signal(data: np.ndarray) -> np.ndarray:
    if data.ndim not in (1, 2):
        raise InvalidInputError(
            f"resample expects audio of shape (samples,) or (batch, samples), got shape {data.shape}."
        )
    if data.shape[-1] == 0:
        raise InvalidInputError(f"resample got audio with zero samples (shape {data.shape}); pass non-empty audio.")
    if data.dtype.kind != "f":
        data = data.astype(np.float32)  # values kept; use pcm_to_float first to scale int PCM
    elif data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float32)
    if not np.isfinite(data).all():
        raise InvalidInputError("resample got audio containing NaN or infinite values; clean the signal first.")
    return data


def _soxr(data: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    import soxr

    num_samples = math.ceil(data.shape[-1] * target_sr / orig_sr)
    # soxr wants (samples, channels); batch rows become channels so one call does them all.
    out = soxr.resample(np.ascontiguousarray(data.T), orig_sr, target_sr, quality="soxr_hq").T  # (B?, S')
    # soxr's own length can be off by one from librosa's ceil rule; pad/trim to it.
    if out.shape[-1] < num_samples:
        pad = [(0, 0)] * (out.ndim - 1) + [(0, num_samples - out.shape[-1])]
        out = np.pad(out, pad)
    return np.ascontiguousarray(out[..., :num_samples], dtype=data.dtype)
