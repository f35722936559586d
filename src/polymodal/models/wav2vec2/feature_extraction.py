"""Wav2Vec2's feature extractor: raw waveform in, padded ``input_values`` out.

Optionally each clip is normalised to zero mean and unit variance over its real samples
(``do_normalize``). The statistics for the whole padded batch are computed at once with
masked reductions instead of a Python loop per clip.
"""

from __future__ import annotations

import numpy as np

from ...audio.features import (
    BatchFeature,
    PaddingStrategy,
    SequenceFeatureExtractor,
    as_mono_batch,
    check_finite_sums,
    pad_arrays,
    padding_strategy,
    zero_mean_unit_var_norm,
)


class Wav2Vec2FeatureExtractor(SequenceFeatureExtractor):
    """Pads (and optionally normalises) mono audio for Wav2Vec2-style models.

    Models with ``feat_extract_norm == "group"`` (e.g. wav2vec2-base) were trained without an
    attention mask: pad with zeros and pass no mask. Models with ``"layer"`` (e.g. lv60) want
    the mask for batched input.
    """

    model_input_names = ["input_values", "attention_mask"]

    def __init__(self, feature_size=1, sampling_rate=16000, padding_value=0.0,
                 return_attention_mask=False, do_normalize=True, **kwargs):
        super().__init__(feature_size=feature_size, sampling_rate=sampling_rate,
                         padding_value=padding_value, **kwargs)
        self.return_attention_mask = return_attention_mask
        self.do_normalize = do_normalize

    def __call__(self, raw_speech, padding=False, max_length=None, truncation=False,
                 pad_to_multiple_of=None, return_attention_mask=None, return_tensors=None,
                 sampling_rate=None, **kwargs) -> BatchFeature:
        self.check_sampling_rate(sampling_rate)
        # When normalising, the row sums it computes anyway serve as the NaN/inf check.
        arrays, _ = as_mono_batch(raw_speech, check_finite=not self.do_normalize)
        if return_attention_mask is None:
            return_attention_mask = self.return_attention_mask
        # Transformers normalises over the real samples when it has a mask (or did not pad);
        # padded without a mask, the padding takes part in the statistics.
        masked = return_attention_mask or padding_strategy(padding) is PaddingStrategy.DO_NOT_PAD
        # Masked normalisation wants zeros in the padding (they drop out of the sums); the
        # real padding value is written afterwards.
        fill = 0.0 if self.do_normalize and masked else self.padding_value
        padded = pad_arrays(arrays, padding, max_length, truncation, pad_to_multiple_of,
                            padding_value=fill, padding_side=self.padding_side, dtype=np.float32)
        if self.do_normalize:
            self._normalize(padded, masked)
        data = {"input_values": padded.output()}
        if return_attention_mask:
            data["attention_mask"] = padded.output(padded.attention_mask())
        return BatchFeature(data, tensor_type=return_tensors)

    def _normalize(self, padded, masked: bool) -> None:
        values = padded.values  # (B, L) float32
        lengths = padded.lengths if masked else np.full_like(padded.lengths, values.shape[1])
        # With a mask the statistics cover the real samples wherever they sit, so left padding
        # works too (Transformers slices [:length] there, i.e. assumes right padding).
        with np.errstate(invalid="ignore"):  # NaN/inf input is reported just below
            row_sums = zero_mean_unit_var_norm(values, lengths, padded.side,
                                               self.padding_value if masked else None)
        check_finite_sums(row_sums, values)

    @staticmethod
    def zero_mean_unit_var_norm(input_values, attention_mask=None, padding_value=0.0):
        """Transformers-compatible helper: normalise a list of 1-D arrays (padding set to ``padding_value``)."""
        arrays = [np.asarray(x, dtype=np.float32) for x in input_values]
        lengths = None if attention_mask is None else [int(np.sum(m)) for m in attention_mask]
        padded = pad_arrays(arrays, padding=True, dtype=np.float32)
        if lengths is not None:
            padded.lengths = np.asarray(lengths, dtype=np.int64)
            padded.values[padded.attention_mask() == 0] = 0.0
        zero_mean_unit_var_norm(padded.values, padded.lengths, "right", padding_value)
        return [padded.values[i, :len(a)] for i, a in enumerate(arrays)]
