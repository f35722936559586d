"""``pipeline("automatic-speech-recognition")`` for CTC models.

Long audio is cut into overlapping chunks (``chunk_length_s`` with ``stride_length_s`` of
context on each side, aligned to the model's samples-per-frame). Each chunk's frame
predictions are trimmed of their context frames and the pieces are joined before the CTC
collapse, so a word at a boundary is neither lost nor doubled. The arithmetic is the same as
Transformers' so chunked results are identical. The chunks of every clip in a call share the
model's batches (as Transformers' chunk pipeline batches them), so a short clip's chunks fill
the batch a long clip leaves part-empty; the server relies on it to batch several requests.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.errors import InvalidInputError
from .base import Pipeline, audio_input, check_batch_size


def chunk_bounds(length: int, chunk_len: int, stride_left: int, stride_right: int) -> list[tuple[int, int, int, int]]:
    """``(start, end, left, right)`` of each chunk, in samples; left/right are the context to drop."""
    step = chunk_len - stride_left - stride_right
    bounds = []
    for start in range(0, length, step):
        end = min(start + chunk_len, length)
        is_last = start + chunk_len >= length
        left = 0 if start == 0 else stride_left
        right = 0 if is_last else stride_right
        if end - start > left:
            bounds.append((start, end, left, right))
        if is_last:
            break
    return bounds


def _frames(samples: int, left: int, right: int, ratio: float) -> tuple[int, int, int]:
    """Samples → logit frames for a chunk and its two strides (Transformers' rounding)."""
    total = round(samples * ratio)
    return total, round(left / samples * total), round(right / samples * total)


class AutomaticSpeechRecognitionPipeline(Pipeline):
    task = "automatic-speech-recognition"
    call_parameters = ("chunk_length_s", "stride_length_s", "return_timestamps")

    def padding_is_exact(self) -> bool:
        # _argmax always asks the extractor for an attention mask, so only the model decides.
        model_masks = getattr(self.model, "padding_is_masked", None)
        return callable(model_masks) and bool(model_masks())

    @property
    def align_to(self) -> int:
        return int(getattr(self.model.config, "inputs_to_logits_ratio", 1))

    def __call__(self, inputs, chunk_length_s: float | None = None, stride_length_s=None,
                 return_timestamps: str | bool | None = None, batch_size: int | None = None, **kwargs):
        """Transcribe one input (→ ``{"text"}``), a list (→ a list) or a generator/dataset (→ an iterator).

        Clips (or, with ``chunk_length_s``, the chunks of all the clips) go through the model
        ``batch_size`` at a time; a transcript never depends on which inputs share a batch.
        """
        if kwargs:
            raise InvalidInputError(
                f"Unknown argument(s) {sorted(kwargs)} for the speech-recognition pipeline; it takes "
                "chunk_length_s, stride_length_s, return_timestamps and batch_size."
            )
        chunk_length_s = chunk_length_s if chunk_length_s is not None else self._defaults.get("chunk_length_s", 0)
        stride_length_s = stride_length_s if stride_length_s is not None else self._defaults.get("stride_length_s")
        if return_timestamps is None:
            return_timestamps = self._defaults.get("return_timestamps")
        if return_timestamps not in (None, False, "char", "word"):
            raise InvalidInputError(f"return_timestamps={return_timestamps!r}; CTC models support 'char' or 'word'.")
        rate = self.feature_extractor.sampling_rate
        size = check_batch_size(batch_size) or self.batch_size

        def process(items: list, first: int | None) -> list:
            audios = [audio_input(item, rate, index=None if first is None else first + i, mono_mix=True)
                      for i, item in enumerate(items)]
            if chunk_length_s:
                ids = self._chunked_frame_ids(audios, chunk_length_s, stride_length_s, size)
            else:
                ids = self.run_batched(audios, size, self._argmax)
            return [self.postprocess(i, len(audio), return_timestamps) for i, audio in zip(ids, audios)]

        return self.run(inputs, process, batch_size)

    def _strides(self, chunk_length_s: float, stride_length_s) -> tuple[int, int, int]:
        rate, align = self.feature_extractor.sampling_rate, self.align_to
        if stride_length_s is None:
            stride_length_s = chunk_length_s / 6
        if isinstance(stride_length_s, (int, float)):
            stride_length_s = [stride_length_s, stride_length_s]
        chunk_len = int(round(chunk_length_s * rate / align) * align)
        left = int(round(stride_length_s[0] * rate / align) * align)
        right = int(round(stride_length_s[1] * rate / align) * align)
        if chunk_len < left + right or chunk_len <= 0:
            raise InvalidInputError(
                f"chunk_length_s={chunk_length_s} must be longer than the two strides together ({stride_length_s})."
            )
        if chunk_len == left + right:
            raise InvalidInputError("chunk_length_s equals the two strides together; chunks would never advance.")
        return chunk_len, left, right

    def _chunked_frame_ids(self, audios: list[np.ndarray], chunk_length_s, stride_length_s,
                           batch_size: int) -> list[np.ndarray]:
        """Argmax token id per output frame of each whole clip, from its overlapping chunks.

        The chunks of all ``audios`` go through the model together, ``batch_size`` at a time
        (``run_batched`` keeps each chunk's ids independent of its batch-mates)."""
        chunk_len, left, right = self._strides(chunk_length_s, stride_length_s)
        bounds = [chunk_bounds(len(audio), chunk_len, left, right) for audio in audios]
        chunks = [audio[start:end] for audio, clip in zip(audios, bounds) for start, end, _, _ in clip]
        frame_ids = iter(self.run_batched(chunks, batch_size, self._argmax))
        return [self._join_chunks([next(frame_ids) for _ in clip], clip) for clip in bounds]

    def _join_chunks(self, frame_ids: list[np.ndarray], bounds) -> np.ndarray:
        """One clip's chunk predictions, each trimmed of its context frames, end to end."""
        pieces = []
        for ids, (start, end, l_samples, r_samples) in zip(frame_ids, bounds):
            total, l_frames, r_frames = _frames(end - start, l_samples, r_samples, 1 / self.align_to)
            pieces.append(ids[:total][l_frames: total - r_frames])
        return np.concatenate(pieces)

    @torch.inference_mode()
    def _argmax(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        features = self.extract_features(arrays, return_attention_mask=True)
        inputs = self._model_inputs(features)
        logits = self.model(**inputs).logits
        self.check_finite(logits, "logits")
        ids = logits.argmax(dim=-1).cpu().numpy()
        if len(arrays) == 1:
            return [ids[0]]
        # Padded examples: keep only the frames that belong to real audio.
        lengths = self.model._get_feat_extract_output_lengths(torch.tensor([len(a) for a in arrays])).tolist()
        return [row[:n] for row, n in zip(ids, lengths)]

    def postprocess(self, ids: np.ndarray, num_samples: int, return_timestamps) -> dict:
        tokenizer = self.tokenizer
        if not return_timestamps:
            return {"text": tokenizer.decode(ids, skip_special_tokens=False)}
        decoded = tokenizer.decode(ids, skip_special_tokens=False, output_char_offsets=True,
                                   output_word_offsets=return_timestamps == "word")
        offsets = decoded["char_offsets"] if return_timestamps == "char" else decoded["word_offsets"]
        key = "char" if return_timestamps == "char" else "word"
        rate, align = self.feature_extractor.sampling_rate, self.align_to
        duration = num_samples / rate
        chunks_out = [
            {"text": item[key],
             "timestamp": (min(item["start_offset"] * align / rate, duration),
                           min(item["end_offset"] * align / rate, duration))}
            for item in offsets
        ]
        return {"text": decoded["text"], "chunks": chunks_out}
