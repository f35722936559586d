"""The Audio Spectrogram Transformer's feature extractor: Kaldi fbank → ``(batch, frames, mel)``.

Each clip becomes 128 log mel filter-bank energies every 10 ms (Kaldi's recipe, as the AST
paper used via torchaudio), zero-padded or cut to ``max_length`` frames and normalised with the
AudioSet mean and std. Transformers computes one clip at a time (with numpy when torchaudio is
missing); here the whole batch goes through one torch FFT.
"""

from __future__ import annotations

import numpy as np
import torch

from ...audio.dsp import kaldi_fbank_torch
from ...audio.features import BatchFeature, SequenceFeatureExtractor, as_mono_batch, pad_arrays

# What Transformers' numpy fallback floors the mel energies at (float32's epsilon, mistyped);
# kept so the features match it. Kaldi's own floor is 1.1920928955078125e-07.
_MEL_FLOOR = 1.192092955078125e-07
_FRAME_LENGTH, _HOP_LENGTH = 400, 160  # 25 ms and 10 ms at 16 kHz


class ASTFeatureExtractor(SequenceFeatureExtractor):
    """Kaldi-compatible log-mel fbank features for AST, ``input_values`` of shape (batch, max_length, num_mel_bins)."""

    model_input_names = ["input_values", "attention_mask"]
    # Every clip is padded/truncated to max_length on its own: batching never changes a result.
    pads_to_fixed_length = True

    def __init__(self, feature_size=1, sampling_rate=16000, num_mel_bins=128, max_length=1024, padding_value=0.0,
                 do_normalize=True, mean=-4.2677393, std=4.5689974, return_attention_mask=False, **kwargs):
        super().__init__(feature_size=feature_size, sampling_rate=sampling_rate, padding_value=padding_value,
                         **kwargs)
        self.num_mel_bins = num_mel_bins
        self.max_length = max_length
        self.do_normalize = do_normalize
        self.mean = mean
        self.std = std
        self.return_attention_mask = return_attention_mask

    def __call__(self, raw_speech, sampling_rate=None, return_tensors=None, **kwargs) -> BatchFeature:
        """Features of one clip or a batch; clips may differ in length (each is padded in frames)."""
        self.check_sampling_rate(sampling_rate)
        arrays, _ = as_mono_batch(raw_speech)
        fbank, num_frames = self._extract_fbank_features_batch(arrays, self.max_length)
        values = self._pad_and_normalize(fbank, num_frames, self.max_length).numpy()
        # Transformers returns a list of (max_length, mels) arrays unless tensors are asked for.
        data = {"input_values": values if return_tensors is not None else list(values)}
        return BatchFeature(data, tensor_type=return_tensors)

    @property
    def max_input_samples(self) -> int:
        """Samples that feed the first ``max_length`` frames; the rest of a longer clip is dropped."""
        return (self.max_length - 1) * _HOP_LENGTH + _FRAME_LENGTH

    def _extract_fbank_features_batch(self, arrays: list[np.ndarray], max_length: int):
        """Fbank of the batch (B, T, mels) float32, T <= max_length, and each clip's own frame count (B,)."""
        # Only the samples that feed the first max_length frames are needed.
        most = (max_length - 1) * _HOP_LENGTH + _FRAME_LENGTH
        padded = pad_arrays(arrays, padding=True, max_length=most, truncation=True, dtype=np.float32)
        fbank = kaldi_fbank_torch(torch.from_numpy(padded.values), sample_frequency=self.sampling_rate,
                                  num_mel_bins=self.num_mel_bins, window_type="hanning", mel_floor=_MEL_FLOOR)
        num_frames = np.maximum(0, 1 + (padded.lengths - _FRAME_LENGTH) // _HOP_LENGTH)
        return fbank, num_frames.tolist()

    def _pad_and_normalize(self, fbank: torch.Tensor, num_frames: list[int], max_length: int) -> torch.Tensor:
        """(B, T, mels) → (B, max_length, mels): frames past each clip's end are zero padding, then normalised."""
        batch, computed, mels = fbank.shape
        out = fbank.new_empty(batch, max_length, mels)
        pad = torch.zeros((), dtype=fbank.dtype)
        if self.do_normalize:
            # self.normalize, written straight into the output
            torch.sub(fbank, self.mean, out=out[:, :computed]).div_(self.std * 2)
            pad = self.normalize(pad)  # what a zero padding frame becomes
        else:
            out[:, :computed] = fbank
        out[:, computed:] = pad
        for row, n in enumerate(num_frames):  # clips shorter than the longest: one slice each
            if n < computed:
                out[row, n:computed] = pad
        return out

    def normalize(self, input_values):
        """AudioSet normalisation, as in the AST paper: (x - mean) / (2 * std)."""
        return (input_values - self.mean) / (self.std * 2)
