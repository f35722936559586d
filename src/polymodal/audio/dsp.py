"""Stateless DSP: mel scales, filter banks, windows, spectrograms and decibels.

The numpy functions carry the names, signatures and results of Transformers' ``audio_utils``
(so code written against it keeps working); they are vectorised over frames instead of looping.
The ``*_torch`` functions are the batched versions the feature extractors use: one FFT call over
a ``(batch, samples)`` tensor.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import torch

from ..core.errors import InvalidInputError

MEL_SCALES = ("htk", "kaldi", "slaney")
LOG_MEL_OPTIONS = (None, "log", "log10", "dB")

# Slaney's mel scale is linear below 1 kHz (200/3 Hz per mel) and logarithmic above it.
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_MIN_LOG_MEL = 15.0
_SLANEY_LOGSTEP = 27.0 / np.log(6.4)  # mels per natural-log unit of Hz above 1 kHz


def _check_mel_scale(mel_scale: str) -> None:
    if mel_scale not in MEL_SCALES:
        raise InvalidInputError(f"mel_scale should be one of {MEL_SCALES}, got {mel_scale!r}.")


def hertz_to_mel(freq: float | np.ndarray, mel_scale: str = "htk") -> float | np.ndarray:
    """Convert frequencies in Hz to mels on the ``"htk"``, ``"kaldi"`` or ``"slaney"`` scale."""
    _check_mel_scale(mel_scale)
    if mel_scale == "htk":
        return 2595.0 * np.log10(1.0 + (freq / 700.0))
    if mel_scale == "kaldi":
        return 1127.0 * np.log(1.0 + (freq / 700.0))
    linear = 3.0 * freq / 200.0
    # np.maximum keeps log() away from 0 Hz; those entries take the linear branch anyway.
    log = _SLANEY_MIN_LOG_MEL + np.log(np.maximum(freq, _SLANEY_MIN_LOG_HZ) / _SLANEY_MIN_LOG_HZ) * _SLANEY_LOGSTEP
    mels = np.where(np.asarray(freq) >= _SLANEY_MIN_LOG_HZ, log, linear)
    return mels if isinstance(freq, np.ndarray) else float(mels)


def mel_to_hertz(mels: float | np.ndarray, mel_scale: str = "htk") -> float | np.ndarray:
    """Convert mels on the ``"htk"``, ``"kaldi"`` or ``"slaney"`` scale back to Hz."""
    _check_mel_scale(mel_scale)
    if mel_scale == "htk":
        return 700.0 * (np.power(10, mels / 2595.0) - 1.0)
    if mel_scale == "kaldi":
        return 700.0 * (np.exp(mels / 1127.0) - 1.0)
    linear = 200.0 * mels / 3.0
    log = _SLANEY_MIN_LOG_HZ * np.exp((np.log(6.4) / 27.0) * (np.asarray(mels) - _SLANEY_MIN_LOG_MEL))
    freq = np.where(np.asarray(mels) >= _SLANEY_MIN_LOG_MEL, log, linear)
    return freq if isinstance(mels, np.ndarray) else float(freq)


def _triangular_filters(fft_freqs: np.ndarray, filter_freqs: np.ndarray) -> np.ndarray:
    """(num_bins, num_filters) triangles; filter i rises from edge i to i+1 and falls to i+2."""
    widths = np.diff(filter_freqs)
    slopes = filter_freqs[None, :] - fft_freqs[:, None]  # (bins, filters + 2)
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    return np.maximum(0.0, np.minimum(down, up))


def mel_filter_bank(
    num_frequency_bins: int,
    num_mel_filters: int,
    min_frequency: float,
    max_frequency: float,
    sampling_rate: int,
    norm: str | None = None,
    mel_scale: str = "htk",
    triangularize_in_mel_space: bool = False,
    dtype: str | np.dtype = np.float64,
) -> np.ndarray:
    """Mel filter bank of shape ``(num_frequency_bins, num_mel_filters)``.

    ``norm="slaney"`` divides each triangle by its width (constant energy per channel);
    ``triangularize_in_mel_space=True`` draws the triangles on the mel axis, as Kaldi and
    torchaudio do.
    """
    if norm is not None and norm != "slaney":
        raise InvalidInputError(f'norm must be None or "slaney", got {norm!r}.')
    if num_frequency_bins < 2:
        raise InvalidInputError(f"num_frequency_bins must be >= 2, got {num_frequency_bins}.")
    if min_frequency > max_frequency:
        raise InvalidInputError(
            f"min_frequency ({min_frequency}) must not exceed max_frequency ({max_frequency})."
        )
    mel_edges = np.linspace(
        hertz_to_mel(min_frequency, mel_scale), hertz_to_mel(max_frequency, mel_scale), num_mel_filters + 2
    )
    hz_edges = mel_to_hertz(mel_edges, mel_scale)
    if triangularize_in_mel_space:
        bin_width = sampling_rate / ((num_frequency_bins - 1) * 2)
        fft_freqs = hertz_to_mel(bin_width * np.arange(num_frequency_bins), mel_scale)
        # Transformers then also measures the slaney band widths in mels; kept for equal numbers.
        edges = mel_edges
    else:
        fft_freqs = np.linspace(0, sampling_rate // 2, num_frequency_bins)
        edges = hz_edges
    # Cast before normalising: that order is what makes float32 banks equal librosa's.
    filters = _triangular_filters(fft_freqs, edges).astype(dtype, copy=False)
    if norm == "slaney":
        filters *= (2.0 / (edges[2:] - edges[:-2]))[None, :]
    if (filters.max(axis=0) == 0.0).any():
        warnings.warn(
            f"At least one mel filter has all zero values: num_mel_filters ({num_mel_filters}) may be "
            f"too high or num_frequency_bins ({num_frequency_bins}) too low."
        )
    return filters


def optimal_fft_length(window_length: int) -> int:
    """The next power of two at or above ``window_length`` (the fastest FFT size)."""
    return 2 ** int(np.ceil(np.log2(window_length)))


def _base_window(name: str, length: int) -> np.ndarray:
    if name == "boxcar":
        return np.ones(length)
    if name in ("hamming", "hamming_window"):
        return np.hamming(length)
    if name in ("hann", "hann_window"):
        return np.hanning(length)
    if name == "povey":
        # Kaldi's default window: a Hann window raised to 0.85.
        return np.power(np.hanning(length), 0.85)
    raise InvalidInputError(
        f"Unknown window function {name!r}; expected one of 'boxcar', 'hamming', 'hann', 'povey'."
    )


def window_function(
    window_length: int,
    name: str = "hann",
    periodic: bool = True,
    frame_length: int | None = None,
    center: bool = True,
) -> np.ndarray:
    """A ``"boxcar"``, ``"hamming"``, ``"hann"`` or ``"povey"`` window, optionally zero-padded.

    A periodic window of length N is the first N points of a symmetric one of length N + 1.
    With ``frame_length`` the window is placed (centred unless ``center=False``) in a
    zero buffer of that length.
    """
    window = _base_window(name, window_length + 1 if periodic else window_length)
    if periodic:
        window = window[:-1]
    if frame_length is None:
        return window
    if window_length > frame_length:
        raise InvalidInputError(
            f"window_length ({window_length}) may not be larger than frame_length ({frame_length})."
        )
    padded = np.zeros(frame_length)
    offset = (frame_length - window_length) // 2 if center else 0
    padded[offset : offset + window_length] = window
    return padded


def _check_stft_args(window_length, frame_length, hop_length, fft_length, power, mel_filters) -> None:
    if frame_length > fft_length:
        raise InvalidInputError(f"frame_length ({frame_length}) may not be larger than fft_length ({fft_length}).")
    if window_length != frame_length:
        raise InvalidInputError(
            f"The window has length {window_length} but frame_length is {frame_length}; pad the window "
            "with window_function(..., frame_length=frame_length)."
        )
    if hop_length <= 0:
        raise InvalidInputError(f"hop_length must be greater than zero, got {hop_length}.")
    if power is None and mel_filters is not None:
        raise InvalidInputError(
            "mel_filters were given but power is None: a mel spectrogram needs a real spectrogram; set power."
        )


def _preprocess_frames(frames, dither, remove_dc_offset, preemphasis, randn):
    """Kaldi-style conditioning of each frame (numpy or torch): dither, then DC removal, then pre-emphasis."""
    if dither != 0.0:
        frames = frames + dither * randn(frames.shape)
    if remove_dc_offset:
        frames = frames - frames.mean(-1)[..., None]
    if preemphasis is not None:
        # y[0] = (1 - p) x[0]; y[n] = x[n] - p x[n-1]  (Kaldi's convention for the first sample)
        first = frames[..., :1] * (1 - preemphasis)
        rest = frames[..., 1:] - preemphasis * frames[..., :-1]
        frames = (np.concatenate if isinstance(frames, np.ndarray) else torch.cat)([first, rest], -1)
    return frames


def _log_scale(spec, log_mel, power, reference, min_value, db_range, to_db_power, to_db_amplitude):
    if log_mel == "log":
        return spec.log() if isinstance(spec, torch.Tensor) else np.log(spec)
    if log_mel == "log10":
        return spec.log10() if isinstance(spec, torch.Tensor) else np.log10(spec)
    if log_mel == "dB":
        if power == 1.0:
            return to_db_amplitude(spec, reference, min_value, db_range)
        if power == 2.0:
            return to_db_power(spec, reference, min_value, db_range)
        raise InvalidInputError(f"log_mel='dB' needs power 1.0 or 2.0, got power={power}.")
    raise InvalidInputError(f"Unknown log_mel option {log_mel!r}; expected one of {LOG_MEL_OPTIONS}.")


def spectrogram(
    waveform: np.ndarray,
    window: np.ndarray,
    frame_length: int,
    hop_length: int,
    fft_length: int | None = None,
    power: float | None = 1.0,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
    dither: float = 0.0,
    preemphasis: float | None = None,
    mel_filters: np.ndarray | None = None,
    mel_floor: float = 1e-10,
    log_mel: str | None = None,
    reference: float = 1.0,
    min_value: float = 1e-10,
    db_range: float | None = None,
    remove_dc_offset: bool = False,
    dtype: np.dtype = np.float32,
) -> np.ndarray:
    """STFT spectrogram of one mono waveform: ``(num_frequency_bins or num_mel_filters, num_frames)``.

    ``power`` 1.0 gives amplitudes, 2.0 power, None the complex STFT; ``mel_filters`` projects to
    mel bands (floored at ``mel_floor``); ``log_mel`` is None, "log", "log10" or "dB".
    """
    fft_length = frame_length if fft_length is None else fft_length
    _check_stft_args(len(window), frame_length, hop_length, fft_length, power, mel_filters)
    _check_waveform(waveform)
    if center:
        waveform = np.pad(waveform, (frame_length // 2, frame_length // 2), mode=pad_mode)
    rows = waveform[None].astype(np.float64)  # (1, N)
    return _spectrogram_rows(rows, window, frame_length, hop_length, fft_length, power, onesided, dither,
                             preemphasis, mel_filters, mel_floor, log_mel, reference, min_value, db_range,
                             remove_dc_offset, dtype)[0]


def spectrogram_batch(
    waveform_list: list[np.ndarray],
    window: np.ndarray,
    frame_length: int,
    hop_length: int,
    fft_length: int | None = None,
    power: float | None = 1.0,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
    dither: float = 0.0,
    preemphasis: float | None = None,
    mel_filters: np.ndarray | None = None,
    mel_floor: float = 1e-10,
    log_mel: str | None = None,
    reference: float = 1.0,
    min_value: float = 1e-10,
    db_range: float | None = None,
    remove_dc_offset: bool = False,
    dtype: np.dtype = np.float32,
) -> list[np.ndarray]:
    """:func:`spectrogram` of several waveforms at once → a list of ``(bins or mels, frames_i)``.

    As in Transformers, the (centred) waveforms are zero-padded to a common length and rounded
    to ``dtype`` first, ``db_range`` is per waveform, and dither is drawn frame by frame for the
    whole batch.
    """
    fft_length = frame_length if fft_length is None else fft_length
    _check_stft_args(len(window), frame_length, hop_length, fft_length, power, mel_filters)
    for waveform in waveform_list:
        _check_waveform(waveform)
    if center:
        half = frame_length // 2
        waveform_list = [np.pad(w, (half, half), mode=pad_mode) for w in waveform_list]
    lengths = [len(w) for w in waveform_list]
    rows = np.zeros((len(waveform_list), max(lengths)), dtype=dtype)  # (B, N)
    for row, waveform in zip(rows, waveform_list):
        row[: len(waveform)] = waveform
    spec = _spectrogram_rows(rows.astype(np.float64), window, frame_length, hop_length, fft_length, power,
                             onesided, dither, preemphasis, mel_filters, mel_floor, log_mel, reference,
                             min_value, db_range, remove_dc_offset, dtype)
    return [s[:, : max(0, 1 + (n - frame_length) // hop_length)] for s, n in zip(spec, lengths)]


def _check_waveform(waveform: np.ndarray) -> None:
    if waveform.ndim != 1:
        raise InvalidInputError(f"waveform must be one-dimensional (mono), got shape {waveform.shape}.")
    if np.iscomplexobj(waveform):
        raise InvalidInputError("Complex-valued waveforms are not supported; pass a real signal.")


def _spectrogram_rows(rows, window, frame_length, hop_length, fft_length, power, onesided, dither, preemphasis,
                      mel_filters, mel_floor, log_mel, reference, min_value, db_range, remove_dc_offset, dtype):
    """The numpy spectrogram of a float64 (B, N) batch (already centred) → (B, bins or mels, frames)."""
    num_frames = max(0, 1 + (rows.shape[1] - frame_length) // hop_length)
    frames = np.lib.stride_tricks.sliding_window_view(rows, frame_length, axis=-1)
    frames = frames[:, ::hop_length][:, :num_frames]  # (B, T, frame_length) view
    # Transformers draws the dither frame by frame for all rows at once: (T, B, L) order.
    randn = lambda shape: np.random.randn(shape[1], shape[0], shape[2]).transpose(1, 0, 2)  # noqa: E731
    frames = _preprocess_frames(frames, dither, remove_dc_offset, preemphasis, randn)
    frames = frames * window.astype(np.float64)
    fft = np.fft.rfft if onesided else np.fft.fft
    # Transformers stores the STFT as complex64 before taking magnitudes; do the same for equal numbers.
    spec = fft(frames, n=fft_length, axis=-1).astype(np.complex64)  # (B, T, bins)
    if power is not None:
        spec = np.abs(spec, dtype=np.float64) ** power
    if mel_filters is not None:
        spec = np.maximum(mel_floor, spec @ mel_filters)  # (B, T, mels)
    spec = spec.transpose(0, 2, 1)  # (B, bins or mels, T)
    if power is not None and log_mel is not None:
        spec = _log_scale(spec, log_mel, power, reference, min_value, db_range, power_to_db_batch,
                          amplitude_to_db_batch)
        spec = np.asarray(spec, dtype)
    return spec


def _check_db_args(reference: float, min_value: float, db_range: float | None) -> None:
    if reference <= 0.0:
        raise InvalidInputError(f"reference must be greater than zero, got {reference}.")
    if min_value <= 0.0:
        raise InvalidInputError(f"min_value must be greater than zero, got {min_value}.")
    if db_range is not None and db_range <= 0.0:
        raise InvalidInputError(f"db_range must be greater than zero, got {db_range}.")


def _to_db(spectrogram, multiplier, reference, min_value, db_range, per_example: bool = False):
    _check_db_args(reference, min_value, db_range)
    reference = max(min_value, reference)
    db = multiplier * (np.log10(np.clip(spectrogram, min_value, None)) - np.log10(reference))
    if db_range is not None:
        # One peak for the whole array, or one per example of a (batch, ...) array.
        axes = tuple(range(1, db.ndim)) if per_example else None
        db = np.clip(db, db.max(axis=axes, keepdims=per_example) - db_range, None)
    return db


def power_to_db(
    spectrogram: np.ndarray, reference: float = 1.0, min_value: float = 1e-10, db_range: float | None = None
) -> np.ndarray:
    """``10 * log10(spectrogram / reference)``, floored at ``min_value`` and ``max - db_range``."""
    return _to_db(spectrogram, 10.0, reference, min_value, db_range)


def amplitude_to_db(
    spectrogram: np.ndarray, reference: float = 1.0, min_value: float = 1e-5, db_range: float | None = None
) -> np.ndarray:
    """``20 * log10(spectrogram / reference)``, floored at ``min_value`` and ``max - db_range``."""
    return _to_db(spectrogram, 20.0, reference, min_value, db_range)


def power_to_db_batch(
    spectrogram: np.ndarray, reference: float = 1.0, min_value: float = 1e-10, db_range: float | None = None
) -> np.ndarray:
    """:func:`power_to_db` over a ``(batch, ...)`` array, with ``db_range`` per example."""
    return _to_db(spectrogram, 10.0, reference, min_value, db_range, per_example=True)


def amplitude_to_db_batch(
    spectrogram: np.ndarray, reference: float = 1.0, min_value: float = 1e-5, db_range: float | None = None
) -> np.ndarray:
    """:func:`amplitude_to_db` over a ``(batch, ...)`` array, with ``db_range`` per example."""
    return _to_db(spectrogram, 20.0, reference, min_value, db_range, per_example=True)


# --------------------------------------------------------------------------- batched torch versions


def _torch_db(spec, multiplier, reference, min_value, db_range):
    """dB over a batch ``(B, ...)``; ``db_range`` is applied per example, like Transformers' *_batch."""
    _check_db_args(reference, min_value, db_range)
    reference = max(min_value, reference)
    db = multiplier * (spec.clamp(min=min_value).log10() - math.log10(reference))
    if db_range is not None:
        peak = db.flatten(1).max(dim=1).values.view(-1, *([1] * (db.dim() - 1)))
        db = torch.maximum(db, peak - db_range)
    return db


def power_to_db_torch(spectrogram, reference=1.0, min_value=1e-10, db_range=None) -> torch.Tensor:
    """Batched :func:`power_to_db` over a ``(batch, ...)`` tensor."""
    return _torch_db(spectrogram, 10.0, reference, min_value, db_range)


def amplitude_to_db_torch(spectrogram, reference=1.0, min_value=1e-5, db_range=None) -> torch.Tensor:
    """Batched :func:`amplitude_to_db` over a ``(batch, ...)`` tensor."""
    return _torch_db(spectrogram, 20.0, reference, min_value, db_range)


_TORCH_PAD_MODES = {"reflect": "reflect", "constant": "constant", "edge": "replicate"}


def frame_signal_torch(waveform, frame_length, hop_length, center=True, pad_mode="reflect") -> torch.Tensor:
    """Overlapping frames ``(batch, num_frames, frame_length)`` of a ``(batch, samples)`` tensor (a view)."""
    if center:
        if pad_mode not in _TORCH_PAD_MODES:
            raise InvalidInputError(f"pad_mode must be one of {tuple(_TORCH_PAD_MODES)}, got {pad_mode!r}.")
        half = frame_length // 2
        # F.pad's reflect/replicate want a channel dimension: (B, 1, N)
        waveform = torch.nn.functional.pad(waveform[:, None], (half, half), mode=_TORCH_PAD_MODES[pad_mode])[:, 0]
    if waveform.shape[-1] < frame_length:
        return waveform.new_zeros(waveform.shape[0], 0, frame_length)
    return waveform.unfold(-1, frame_length, hop_length)


def power_spectrum_torch(frames: torch.Tensor, fft_length: int, onesided: bool = True) -> torch.Tensor:
    """|FFT|² of windowed frames ``(..., frame_length)`` → ``(..., bins)``; re² + im² avoids a sqrt."""
    spec = torch.fft.rfft(frames, n=fft_length) if onesided else torch.fft.fft(frames, n=fft_length)
    parts = torch.view_as_real(spec)  # (..., bins, 2); summing that last axis of 2 is slow, so add the halves
    return parts[..., 0].square().addcmul_(parts[..., 1], parts[..., 1])


def spectrogram_torch(
    waveform: torch.Tensor,
    window: torch.Tensor | np.ndarray,
    frame_length: int,
    hop_length: int,
    fft_length: int | None = None,
    power: float | None = 1.0,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
    dither: float = 0.0,
    preemphasis: float | None = None,
    mel_filters: torch.Tensor | np.ndarray | None = None,
    mel_floor: float = 1e-10,
    log_mel: str | None = None,
    reference: float = 1.0,
    min_value: float = 1e-10,
    db_range: float | None = None,
    remove_dc_offset: bool = False,
) -> torch.Tensor:
    """Batched :func:`spectrogram`: ``(batch, samples)`` → ``(batch, bins or mels, frames)``, one FFT call.

    Computes in the waveform's dtype (pass float64 for numbers closest to the numpy version).
    ``db_range`` is applied per example.
    """
    fft_length = frame_length if fft_length is None else fft_length
    _check_stft_args(len(window), frame_length, hop_length, fft_length, power, mel_filters)
    if waveform.dim() != 2:
        raise InvalidInputError(f"waveform must be (batch, samples), got shape {tuple(waveform.shape)}.")
    window = torch.as_tensor(window, dtype=waveform.dtype, device=waveform.device)
    frames = frame_signal_torch(waveform, frame_length, hop_length, center, pad_mode)  # (B, T, frame)
    randn = lambda shape: torch.randn(shape, dtype=waveform.dtype, device=waveform.device)  # noqa: E731
    frames = _preprocess_frames(frames, dither, remove_dc_offset, preemphasis, randn) * window
    if power is None:
        fft = torch.fft.rfft if onesided else torch.fft.fft
        return fft(frames, n=fft_length).transpose(1, 2)  # (B, bins, T), complex
    spec = power_spectrum_torch(frames, fft_length, onesided)
    if power != 2.0:
        spec = spec.sqrt() if power == 1.0 else spec ** (power / 2)
    spec = spec.transpose(1, 2)  # (B, bins, T)
    if mel_filters is not None:
        mel_filters = torch.as_tensor(mel_filters, dtype=spec.dtype, device=spec.device)
        spec = (mel_filters.T @ spec).clamp(min=mel_floor)  # (B, mels, T)
    if log_mel is not None:
        spec = _log_scale(spec, log_mel, power, reference, min_value, db_range, power_to_db_torch,
                          amplitude_to_db_torch)
    return spec


# --------------------------------------------------------------------------- Kaldi-compatible fbank

# float32 machine epsilon: Kaldi's floor before the log.
KALDI_EPSILON = float(np.finfo(np.float32).eps)


def kaldi_fbank_torch(
    waveform: torch.Tensor,
    sample_frequency: float = 16000.0,
    num_mel_bins: int = 23,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    window_type: str = "povey",
    preemphasis_coefficient: float = 0.97,
    remove_dc_offset: bool = True,
    low_freq: float = 20.0,
    high_freq: float = 0.0,
    mel_floor: float = KALDI_EPSILON,
    compute_dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Log mel filter-bank energies ``(batch, frames, num_mel_bins)`` of ``(batch, samples)`` audio.

    This is ``torchaudio.compliance.kaldi.fbank`` with dither 0, snip_edges, use_energy False,
    htk_compat, power spectrum, no raw-energy or VTLN options — written with torch only. Frames
    of 25 ms every 10 ms (no centring; the tail that does not fill a frame is dropped), each
    frame has its mean removed and is pre-emphasised, windowed, zero-padded to the next power of
    two and transformed; the power spectrum goes through Kaldi's mel bank (triangles on the
    1127·ln(1 + f/700) axis, zero weight at Nyquist) and is floored at ``mel_floor`` before the
    natural log. Kaldi's "hanning" window is the *symmetric* Hann window.

    Transformers' AST extractor, when torchaudio is missing (as here), computes the same thing
    with ``audio_utils.spectrogram`` in float64 with a floor of 1.192092955078125e-07 (a mistyped
    float32 epsilon); pass that as ``mel_floor`` to match it. We frame and transform in float64
    (``compute_dtype``) to match those numbers to ~1e-6; Kaldi/torchaudio work in float32, so
    they differ from both by float32 rounding, most in low-energy bands (~1e-3 in the log there).
    """
    win_len = int(sample_frequency * frame_length * 0.001)
    hop = int(sample_frequency * frame_shift * 0.001)
    # Kaldi's windows are symmetric; its "hamming" (0.54 - 0.46 cos) is numpy's.
    names = {"hanning": "hann", "hamming": "hamming", "povey": "povey", "rectangular": "boxcar"}
    if window_type not in names:
        raise InvalidInputError(f"window_type must be one of {tuple(names)}, got {window_type!r}.")
    fft_length = optimal_fft_length(win_len)
    window = torch.as_tensor(_kaldi_window(win_len, names[window_type]), dtype=compute_dtype,
                             device=waveform.device)
    mel = torch.as_tensor(_kaldi_mel_banks(num_mel_bins, fft_length, sample_frequency, low_freq, high_freq),
                          dtype=torch.float32, device=waveform.device)
    x = waveform.to(compute_dtype)
    frames = _kaldi_windowed_frames(x, win_len, hop, fft_length, window, preemphasis_coefficient, remove_dc_offset)
    if frames.shape[1] == 0:  # shorter than one frame: Kaldi returns no frames
        return torch.zeros(x.shape[0], 0, num_mel_bins, device=x.device)
    # Transformers keeps the STFT as complex64 before taking magnitudes; the float32 power keeps
    # each bin's relative precision, which is what the log needs.
    spec = torch.view_as_real(torch.fft.rfft(frames).to(torch.complex64))  # (B, T, bins, 2)
    power = spec[..., 0].square().addcmul_(spec[..., 1], spec[..., 1])  # re² + im²: (B, T, bins)
    # One dense matmul: a banded product does less arithmetic but takes one call per band, and on a
    # busy machine every extra parallel call costs more than the multiplications it saves.
    return (power @ mel).clamp_(min=mel_floor).log_()  # (B, T, mels)


def _kaldi_windowed_frames(x, win_len, hop, fft_length, window, preemph, remove_dc) -> torch.Tensor:
    """DC-removed, pre-emphasised, windowed frames zero-padded to ``fft_length``: (B, T, fft_length).

    Both steps are linear, so instead of rewriting every 400-sample frame twice we pre-emphasise
    the waveform once: inside a frame with mean m, y[k] = x[k] - p x[k-1] - (1 - p) m for k >= 1,
    and Kaldi's first sample is y[0] = (1 - p)(x[0] - m).
    """
    batch, num_samples = x.shape
    num_frames = max(0, 1 + (num_samples - win_len) // hop)
    out = x.new_empty(batch, num_frames, fft_length)
    out[..., win_len:] = 0.0
    if num_frames == 0:
        return out
    emph = torch.empty_like(x)
    emph[:, 0] = x[:, 0]
    torch.add(x[:, 1:], x[:, :-1], alpha=-preemph, out=emph[:, 1:])  # x[n] - p x[n-1], in one pass
    body = out[..., :win_len]  # (B, T, win) view into the FFT buffer
    torch.mul(emph.unfold(-1, win_len, hop)[:, :num_frames], window, out=body)
    raw = x.unfold(-1, win_len, hop)[:, :num_frames]  # (B, T, win) view
    mean = raw.mean(-1, keepdim=True) if remove_dc else x.new_zeros(batch, num_frames, 1)
    body.addcmul_(mean, window, value=-(1 - preemph))  # minus (1 - p) m, windowed
    body[..., 0] = window[0] * (1 - preemph) * (raw[..., 0] - mean[..., 0])
    return out


@functools.lru_cache(maxsize=16)
def _kaldi_window(win_len: int, name: str) -> np.ndarray:
    return window_function(win_len, name, periodic=False)


@functools.lru_cache(maxsize=16)
def _kaldi_mel_banks(num_mel_bins, fft_length, sample_frequency, low_freq, high_freq) -> np.ndarray:
    """Kaldi's mel bank (num_bins, num_mel_bins): triangles in Kaldi-mel space, high_freq <= 0 counts from Nyquist."""
    nyquist = 0.5 * sample_frequency
    high = high_freq if high_freq > 0.0 else nyquist + high_freq
    with warnings.catch_warnings():
        # 128 bands over 257 bins leave the lowest bands empty, as in Kaldi; not worth a warning.
        warnings.simplefilter("ignore")
        return mel_filter_bank(
            num_frequency_bins=fft_length // 2 + 1, num_mel_filters=num_mel_bins, min_frequency=low_freq,
            max_frequency=high, sampling_rate=int(sample_frequency), norm=None, mel_scale="kaldi",
            triangularize_in_mel_space=True,
        )
