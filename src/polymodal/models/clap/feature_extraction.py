"""CLAP's feature extractor: 48 kHz audio → log-mel spectrograms ``(batch, 1 or 4, frames, 64)``.

Every clip becomes ``max_length_s`` seconds (``max_length`` samples) of power-spectrum log-mels in
dB (a 1024-point Hann STFT every 480 samples, so 1001 frames for 10 s):

* shorter clips are padded: ``padding="repeatpad"`` tiles the clip as many whole times as fit
  and pads the rest with zeros, ``"repeat"`` tiles and cuts, ``"pad"`` only pads;
* longer clips are cut: ``truncation="rand_trunc"`` takes a random ``max_length`` window of the
  waveform (one channel, ``is_longer=True``); ``truncation="fusion"`` computes the mel of the whole
  clip and stacks four channels: the whole mel shrunk to ``frames`` (bilinear), then random
  crops from its first, middle and last thirds.

With ``"fusion"`` short clips get their mel four times over, and if no clip of the batch is
long, one of them at random is marked ``is_longer`` (as the original training code does). The
mel bank is HTK-style without normalisation for ``"fusion"`` (torchaudio's default) and
Slaney-style and -normalised otherwise (librosa's default), as in Transformers.

Randomness: the crops and that random ``is_longer`` use numpy's global RNG with the very same
calls, in the same order, as Transformers — ``np.random.seed(n)`` before each makes the two give
equal features. Clips of at most ``max_length`` samples need no randomness except that one
``is_longer`` pick under ``"fusion"``.

Unlike Transformers' frame-by-frame STFT, all fixed-length clips go through one batched
transform (a long clip under ``"fusion"`` gets its own, as its length is its own), with
Transformers' numerics: the features are equal to its own.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view

from ...audio.dsp import mel_filter_bank, window_function
from ...audio.features import BatchFeature, FeatureExtractionMixin, SequenceFeatureExtractor, as_mono_batch
from ...core.errors import InvalidInputError

TRUNCATIONS = ("fusion", "rand_trunc")
PADDINGS = ("repeatpad", "repeat", "pad")
_MEL_FLOOR = 1e-10  # power floor before the dB conversion (Transformers' spectrogram default)


class ClapFeatureExtractor(SequenceFeatureExtractor):
    """Log-mel features for CLAP; see the module docstring for the padding and truncation modes.

    Example::

        extractor = ClapFeatureExtractor()
        features = extractor([clip_48k], sampling_rate=48000, return_tensors="pt")
        features.input_features.shape  # (1, 4, 1001, 64) with truncation="fusion"
    """

    model_input_names = ["input_features", "is_longer"]
    _derived_keys = FeatureExtractionMixin._derived_keys + ("mel_filters_slaney",)

    def __init__(self, feature_size=64, sampling_rate=48_000, hop_length=480, max_length_s=10, fft_window_size=1024,
                 padding_value=0.0, return_attention_mask=False, frequency_min: float = 0,
                 frequency_max: float = 14_000, top_db: int | None = None, truncation: str = "fusion",
                 padding: str = "repeatpad", **kwargs):
        super().__init__(feature_size=feature_size, sampling_rate=sampling_rate, padding_value=padding_value,
                         return_attention_mask=return_attention_mask, **kwargs)
        self.top_db = top_db  # kept for the config; CLAP's log-mel is not range-limited
        self.truncation = truncation
        self.padding = padding
        self.fft_window_size = fft_window_size
        self.nb_frequency_bins = (fft_window_size >> 1) + 1
        self.hop_length = hop_length
        self.max_length_s = max_length_s
        self.nb_max_samples = max_length_s * sampling_rate
        self.sampling_rate = sampling_rate
        self.frequency_min = frequency_min
        self.frequency_max = frequency_max
        bank = dict(num_frequency_bins=self.nb_frequency_bins, num_mel_filters=feature_size,
                    min_frequency=frequency_min, max_frequency=frequency_max, sampling_rate=sampling_rate)
        self.mel_filters = mel_filter_bank(**bank, norm=None, mel_scale="htk")
        self.mel_filters_slaney = mel_filter_bank(**bank, norm="slaney", mel_scale="slaney")
        self._window = window_function(fft_window_size, "hann")
        # keyed by "is the HTK bank": (bin index, weight) of every non-zero, each filter's first entry
        self._sparse_banks = {True: _sparse_bank(self.mel_filters), False: _sparse_bank(self.mel_filters_slaney)}

    # ------------------------------------------------------------------ call
    def __call__(self, raw_speech, truncation: str | None = None, padding: bool | str | None = None,
                 max_length: int | None = None, sampling_rate: int | None = None, return_tensors=None,
                 **kwargs) -> BatchFeature:
        """Features of one clip or a batch: ``input_features`` (B, 1 or 4, frames, feature_size)
        and ``is_longer`` (B, 1). ``max_length`` is in samples (default ``max_length_s`` seconds)."""
        truncation = _choose(truncation, self.truncation, TRUNCATIONS, "truncation")
        padding = _choose(padding, self.padding, PADDINGS, "padding")
        self.check_sampling_rate(sampling_rate)
        arrays, _ = as_mono_batch(raw_speech)
        for index, array in enumerate(arrays):
            if array.size == 0:
                raise InvalidInputError(f"Audio example {index} is empty (0 samples); CLAP needs at least one sample.")
        max_length = int(max_length or self.nb_max_samples)
        # Every random draw happens here, in Transformers' order, before any DSP.
        plans = [self._plan(len(array), max_length, truncation) for array in arrays]
        longer = [plan["longer"] for plan in plans]
        if truncation == "fusion" and not any(longer):
            longer[np.random.randint(0, len(arrays))] = True
        features = self._features(arrays, plans, max_length, truncation, padding)  # (B, C, T, M)
        data = {"input_features": features, "is_longer": np.array(longer)[:, None]}
        if return_tensors is None:  # Transformers' types: a list of arrays, a list of [bool]
            data = {"input_features": list(features), "is_longer": [[flag] for flag in longer]}
        return BatchFeature(data, tensor_type=return_tensors)

    def _plan(self, length: int, max_length: int, truncation: str) -> dict:
        """What to do with one clip: ``kind`` "fixed" (pad/crop to max_length) or "fusion" (long clip)."""
        if length <= max_length:
            return {"kind": "fixed", "start": 0, "longer": False}
        if truncation == "rand_trunc":
            return {"kind": "fixed", "start": np.random.randint(0, length - max_length + 1), "longer": True}
        chunk_frames = max_length // self.hop_length + 1
        total_frames = length // self.hop_length + 1  # a centred STFT has 1 + length // hop frames
        if total_frames == chunk_frames:  # just over max_length: the whole clip's mel fits as is
            return {"kind": "whole", "start": 0, "longer": False}
        ranges = np.array_split(list(range(0, total_frames - chunk_frames + 1)), 3)
        # Too short for three thirds: the empty ones crop from the start.
        ranges = [r if len(r) else [0] for r in ranges]
        starts = [np.random.choice(r) for r in ranges]
        return {"kind": "fusion", "starts": starts, "chunk_frames": chunk_frames, "longer": True}

    def _features(self, arrays, plans, max_length: int, truncation: str, padding: str) -> np.ndarray:
        fusion = truncation == "fusion"
        filters = self.mel_filters if fusion else self.mel_filters_slaney
        frames = max_length // self.hop_length + 1
        out = np.empty((len(arrays), 4 if fusion else 1, frames, self.feature_size), dtype=np.float32)
        fixed = [i for i, plan in enumerate(plans) if plan["kind"] == "fixed"]
        if fixed:
            batch = np.stack([_fit(arrays[i], plans[i]["start"], max_length, padding) for i in fixed])
            mels = self._log_mel(batch, filters)  # (b, T, M)
            out[fixed] = mels[:, None]  # the same mel in every channel
        for i in (i for i, plan in enumerate(plans) if plan["kind"] != "fixed"):
            mel = self._log_mel(arrays[i][None], filters)[0]  # (T_total, M)
            out[i] = mel[None] if plans[i]["kind"] == "whole" else _fusion_stack(mel, plans[i])
        return out

    def _log_mel(self, waveforms: np.ndarray, filters: np.ndarray) -> np.ndarray:
        """(B, N) waveforms → (B, 1 + N // hop, M) float32 power log-mels in dB.

        Transformers' numpy spectrogram, batched: reflect-padded float64 frames, one ``rfft``
        over all of them, the spectrum rounded to complex64, power and mel projection in
        float64, 10 * log10 of the power floored at 1e-10. numpy's FFT runs on one thread, which
        on a busy machine beats torch's thread pool for a transform this size.
        """
        # Not dsp.spectrogram_batch: same maths, but CLAP's 64-band bank is sparse enough that
        # summing only the bins each filter uses beats dsp's dense mel matmul.
        half = self.fft_window_size // 2
        bins, weights, starts, empty = self._sparse_banks[filters is self.mel_filters]
        padded = _reflect_pad(waveforms, half)
        frames = sliding_window_view(padded, self.fft_window_size, axis=1)[:, :: self.hop_length]  # (B, T, n_fft)
        spectrum = np.fft.rfft(frames * self._window, axis=-1)[..., : bins.max() + 1]  # bins the bank uses
        power = np.abs(spectrum.astype(np.complex64), dtype=np.float64) ** 2  # (B, T, bins)
        # The mel bank is ~2% non-zero (narrow triangles): sum each filter's weighted bins.
        mel = np.add.reduceat(power[..., bins] * weights, starts, axis=-1)  # (B, T, M)
        mel[..., empty] = 0.0
        return (10.0 * np.log10(np.maximum(mel, _MEL_FLOOR))).astype(np.float32)


def _reflect_pad(waveforms: np.ndarray, half: int) -> np.ndarray:
    """(B, N) → (B, N + 2 * half) float64, mirrored at both ends (np.pad's "reflect") in one pass."""
    batch, length = waveforms.shape
    if length <= half:  # shorter than the mirror: np.pad reflects repeatedly
        return np.pad(np.asarray(waveforms, dtype=np.float64), ((0, 0), (half, half)), mode="reflect")
    out = np.empty((batch, length + 2 * half))
    out[:, half:half + length] = waveforms
    out[:, :half] = waveforms[:, half:0:-1]
    out[:, half + length:] = waveforms[:, -2:-half - 2:-1]
    return out


def _sparse_bank(filters: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bins, M) filter bank → its non-zeros filter by filter: ``(bin, weight, start of each
    filter, filters with no weight)`` for ``np.add.reduceat``."""
    owners, bins = np.nonzero(filters.T)  # sorted by filter
    if len(bins) == 0:  # an all-zero bank (absurd settings): project to zeros
        owners, bins = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    count = filters.shape[1]
    starts = np.minimum(np.searchsorted(owners, np.arange(count)), len(bins) - 1)
    empty = np.bincount(owners, minlength=count) == 0
    return bins, filters[bins, owners], starts, empty


def _choose(value, default: str, allowed: tuple[str, ...], name: str) -> str:
    """A call's padding/truncation mode: None or True means the extractor's own setting."""
    if value is None or value is True:
        value = default
    elif value is False and name == "padding":
        value = "pad"
    if value not in allowed:
        raise InvalidInputError(f"{name}={value!r} is not a CLAP mode; use one of {', '.join(map(repr, allowed))}.")
    return value


def _fit(waveform: np.ndarray, start: int, max_length: int, padding: str) -> np.ndarray:
    """One clip → exactly ``max_length`` samples: a window of a long clip, or a padded short one."""
    if len(waveform) >= max_length:
        return waveform[start:start + max_length]
    if padding == "repeat":
        waveform = np.tile(waveform, max_length // len(waveform) + 1)[:max_length]
    elif padding == "repeatpad":
        waveform = np.tile(waveform, max_length // len(waveform))
    return np.pad(waveform, (0, max_length - len(waveform)))


def _fusion_stack(mel: np.ndarray, plan: dict) -> np.ndarray:
    """(T_total, M) mel of a long clip → (4, chunk, M): the whole mel shrunk, then three crops."""
    chunk = plan["chunk_frames"]
    crops = [mel[start:start + chunk] for start in plan["starts"]]
    shrunk = F.interpolate(torch.from_numpy(mel)[None, None], size=[chunk, mel.shape[1]], mode="bilinear",
                           align_corners=False)[0, 0].numpy()
    return np.stack([shrunk, *crops])
