"""Transformers-compatible import path: ``from polymodal.audio_utils import spectrogram, ...``.

Everything lives in :mod:`polymodal.audio.dsp`; this module only re-exports it.
"""

from .audio.dsp import (
    amplitude_to_db,
    amplitude_to_db_batch,
    amplitude_to_db_torch,
    hertz_to_mel,
    kaldi_fbank_torch,
    mel_filter_bank,
    mel_to_hertz,
    optimal_fft_length,
    power_to_db,
    power_to_db_batch,
    power_to_db_torch,
    spectrogram,
    spectrogram_batch,
    spectrogram_torch,
    window_function,
)

__all__ = [
    "amplitude_to_db",
    "amplitude_to_db_batch",
    "amplitude_to_db_torch",
    "hertz_to_mel",
    "kaldi_fbank_torch",
    "mel_filter_bank",
    "mel_to_hertz",
    "optimal_fft_length",
    "power_to_db",
    "power_to_db_batch",
    "power_to_db_torch",
    "spectrogram",
    "spectrogram_batch",
    "spectrogram_torch",
    "window_function",
]
