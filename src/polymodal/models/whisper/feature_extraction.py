"""Whisper's feature extractor: 16 kHz audio → 30 s log-mel spectrograms ``(batch, n_mels, 3000)``.

The log-mel is Whisper's own recipe (openai/whisper ``audio.py``): a 400-point Hann STFT every
160 samples, power, Slaney mel bank, ``log10`` floored at 1e-10, clipped to 8 below each
example's peak, then ``(x + 4) / 4``. It is computed like Transformers' torch path, batched in
one FFT call, with one shortcut: a 10 s clip padded to 30 s has ~2000 frames of pure silence,
whose power is exactly zero, so only the frames that touch real samples are transformed and the
rest are filled with the value silence maps to — the same numbers, a third of the work.
"""

from __future__ import annotations

import numpy as np
import torch

from ...audio.dsp import frame_signal_torch, mel_filter_bank, power_spectrum_torch
from ...audio.features import BatchFeature, SequenceFeatureExtractor, as_mono_batch, pad_arrays, zero_mean_unit_var_norm
from ...core.errors import InvalidInputError

# log10 floor of the mel power and the dynamic range kept below each example's peak (in log10 units).
_LOG_FLOOR = 1e-10
_DYNAMIC_RANGE = 8.0


class WhisperFeatureExtractor(SequenceFeatureExtractor):
    """Log-mel features for Whisper (``feature_size`` 80, or 128 for large-v3)."""

    model_input_names = ["input_features"]
    # Every clip is padded/truncated to max_length on its own: batching never changes a result.
    pads_to_fixed_length = True

    def __init__(self, feature_size=80, sampling_rate=16000, hop_length=160, chunk_length=30, n_fft=400,
                 padding_value=0.0, dither=0.0, return_attention_mask=False, **kwargs):
        super().__init__(feature_size=feature_size, sampling_rate=sampling_rate, padding_value=padding_value,
                         return_attention_mask=return_attention_mask, **kwargs)
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.chunk_length = chunk_length
        self.n_samples = chunk_length * sampling_rate  # samples in one chunk (480000)
        self.nb_max_frames = self.n_samples // hop_length  # frames in one chunk (3000)
        self.dither = dither
        self.mel_filters = mel_filter_bank(
            num_frequency_bins=1 + n_fft // 2, num_mel_filters=feature_size, min_frequency=0.0,
            max_frequency=8000.0, sampling_rate=sampling_rate, norm="slaney", mel_scale="slaney",
        )

    def __call__(self, raw_speech, truncation=True, pad_to_multiple_of=None, return_tensors=None,
                 return_attention_mask=None, padding="max_length", max_length=None, sampling_rate=None,
                 do_normalize=None, device="cpu", **kwargs) -> BatchFeature:
        """Pad/truncate to 30 s (``max_length`` samples) and compute ``input_features``.

        ``attention_mask`` (with ``return_attention_mask``, or the config's default) is per frame:
        ``(batch, frames)``. Transformers only rescales the mask when the argument is passed, and
        otherwise (config default, or ``do_normalize`` alone) returns a per-sample mask; the model
        wants frames, so we always return frames, and no mask unless one was asked for.
        ``device`` runs the STFT there (e.g. "cuda"); the result comes back as numpy/torch CPU.
        """
        self.check_sampling_rate(sampling_rate)
        arrays, _ = as_mono_batch(raw_speech)
        want_mask = self.return_attention_mask if return_attention_mask is None else return_attention_mask
        padded = pad_arrays(arrays, padding, max_length or self.n_samples, truncation, pad_to_multiple_of,
                            padding_value=self.padding_value, padding_side=self.padding_side, dtype=np.float32)
        if padded.ragged and len(set(padded.lengths.tolist())) > 1:
            raise InvalidInputError(
                "WhisperFeatureExtractor needs one length for the batch, but padding=False was given with clips "
                f"of {sorted(set(padded.lengths.tolist()))} samples; use padding='max_length' (the default) "
                "or padding='longest'."
            )
        if do_normalize:
            _normalize(padded, self.padding_value)
        content = int(padded.lengths.max()) if self._tail_is_silent(padded) else None
        features = self._torch_extract_fbank_features(padded.values, device, content_length=content)
        data = {"input_features": features}
        if want_mask:
            data["attention_mask"] = self._frame_mask(padded.attention_mask())
        return BatchFeature(data, tensor_type=return_tensors)

    def _tail_is_silent(self, padded) -> bool:
        # The skip is exact only when everything after the longest clip is zeros.
        return padded.side == "right" and self.padding_value == 0 and self.dither == 0.0

    def _frame_mask(self, sample_mask: np.ndarray) -> np.ndarray:
        """Sample mask (B, N) → frame mask (B, N // hop): frame t starts at sample t * hop."""
        num_frames = sample_mask.shape[1] // self.hop_length
        return np.ascontiguousarray(sample_mask[:, :: self.hop_length][:, :num_frames])

    def _torch_extract_fbank_features(self, waveform: np.ndarray, device: str = "cpu",
                                      content_length: int | None = None) -> np.ndarray:
        """Log-mel of a (B, N) float32 batch → (B, n_mels, N // hop) float32.

        ``content_length``: every sample at or after it is known to be zero (the right padding);
        frames that only see zeros are then filled in instead of transformed.
        """
        x = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32)).to(device)
        if x.shape[1] <= self.n_fft // 2:
            raise InvalidInputError(
                f"The padded batch has {x.shape[1]} samples, too short for the centred {self.n_fft}-point STFT "
                f"(it needs more than {self.n_fft // 2}); use padding='max_length' (the default)."
            )
        num_frames = x.shape[1] // self.hop_length  # the STFT's last frame is dropped, as Whisper does
        if self.dither != 0.0:
            # The same draw as Transformers (one randn over the batch), so a seeded run matches.
            x = x + self.dither * torch.randn(x.shape, dtype=x.dtype, device=x.device)
        x = x[:, : self._samples_to_transform(x.shape[1], content_length)]
        # dsp's framing and power spectrum, not dsp.spectrogram_torch whole: Whisper drops the last
        # frame, scales per clip (_whisper_scale) and skips frames that only see the zero padding.
        window = torch.hann_window(self.n_fft, device=x.device)
        frames = frame_signal_torch(x, self.n_fft, self.hop_length, center=True)[:, :num_frames]  # (B, T', n_fft)
        power = power_spectrum_torch(frames * window, self.n_fft)  # (B, T', bins)
        mel = power @ torch.as_tensor(self.mel_filters, dtype=torch.float32, device=x.device)  # (B, T', n_mels)
        log_spec = mel.clamp_(min=_LOG_FLOOR).log10_().transpose(1, 2)  # (B, n_mels, T')
        return _whisper_scale(log_spec, num_frames).cpu().numpy()

    def _samples_to_transform(self, num_samples: int, content_length: int | None) -> int:
        """How much of the batch the STFT must see so that every frame touching real audio is exact.

        With centring, frame t reads samples [t*hop - n_fft/2, t*hop + n_fft/2), and past the end
        the signal is mirrored. Cutting the batch at content + n_fft/2 + 1 keeps every frame that
        touches real samples, and the mirror of the cut reads only zeros, like the silence it replaces.
        """
        half = self.n_fft // 2
        if content_length is None or content_length + 2 * half + 1 >= num_samples:
            return num_samples
        return content_length + half + 1


def _whisper_scale(log_spec: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Whisper's clipping and scaling of (B, n_mels, T') log-mels, completed with silent frames to num_frames."""
    batch, n_mels, computed = log_spec.shape
    silent = torch.tensor(_LOG_FLOOR, dtype=log_spec.dtype).log10().item()  # log10(1e-10) in float32
    peak = log_spec.amax(dim=(1, 2))  # (B,)
    if computed < num_frames:
        peak = peak.clamp(min=silent)
    floor = (peak - _DYNAMIC_RANGE)[:, None, None]  # (B, 1, 1)
    out = log_spec.new_empty(batch, n_mels, num_frames)
    torch.maximum(log_spec, floor, out=out[:, :, :computed]).add_(4.0).div_(4.0)
    if computed < num_frames:
        out[:, :, computed:] = (torch.clamp(floor, min=silent) + 4.0) / 4.0
    return out


def _normalize(padded, padding_value: float) -> None:
    """Zero-mean unit-variance over each clip's real samples, padding set to ``padding_value``.

    Done in float64: over 480000 samples float32 sums drift by ~1e-5, visible in the log-mel.
    """
    values = padded.values.astype(np.float64)
    if padding_value != 0:
        values[padded.attention_mask() == 0] = 0.0  # the masked statistics expect zeros in the padding
    zero_mean_unit_var_norm(values, padded.lengths, padded.side, padding_value)
    padded.values[...] = values
