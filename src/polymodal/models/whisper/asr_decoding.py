"""Turning Whisper's generated tokens (per audio chunk) into the pipeline's text and chunks.

Used by ``pipeline("automatic-speech-recognition")``: tokens of overlapping chunks are merged on
their longest common run (the overlap is decoded twice), timestamps are shifted by each chunk's
start, and timestamp pairs become ``{"text", "timestamp": (start, end)}`` chunks. The rules and
their tie-breaking are Transformers', so results are identical.
"""

from __future__ import annotations

import numpy as np

from .languages import LANGUAGES


def longest_common_sequence(sequences: list[list[int]]) -> list[int]:
    """Join token runs that overlap: cut each pair in the middle of its best-matching alignment."""
    left = sequences[0]
    total: list[int] = []
    for right in sequences[1:]:
        best, best_bounds = 0.0, (len(left), len(left), 0, 0)
        for i in range(1, len(left) + len(right)):
            eps = i / 10000.0  # prefer longer alignments on ties
            left_start, left_stop = max(0, len(left) - i), min(len(left), len(left) + len(right) - i)
            right_start, right_stop = max(0, i - len(left)), min(len(right), i)
            matches = int(np.sum(np.array(left[left_start:left_stop]) == np.array(right[right_start:right_stop])))
            score = matches / i + eps
            if matches > 1 and score > best:
                best, best_bounds = score, (left_start, left_stop, right_start, right_stop)
        left_start, left_stop, right_start, right_stop = best_bounds
        total.extend(left[: (left_stop + left_start) // 2])
        left = right[(right_stop + right_start) // 2:]
    total.extend(left)
    return total


class _Decoder:
    """State of one pass over the chunk outputs (text pieces, current chunk, time bookkeeping)."""

    def __init__(self, tokenizer, return_timestamps, time_precision, segment_size):
        self.tokenizer = tokenizer
        self.return_timestamps = return_timestamps
        self.time_precision = time_precision
        self.segment_size = segment_size
        self.timestamp_begin = tokenizer.convert_tokens_to_ids("<|notimestamps|>") + 1
        self.special = set(tokenizer.all_special_ids)
        self.chunks: list[dict] = []
        self.language = None
        self.chunk = self._new_chunk()
        self.previous: list[list[int]] = []
        self.time_offset = 0.0
        self.skip = False

    def _new_chunk(self) -> dict:
        return {"language": self.language, "timestamp": [None, None], "text": ""}

    def _close_chunk(self, current) -> None:
        self.previous.append(current)
        self.chunk["text"] = self.tokenizer.decode(longest_common_sequence(self.previous))
        self.chunks.append(self.chunk)
        self.previous = []
        self.chunk = self._new_chunk()

    def read(self, tokens: list[int], stride) -> None:
        begin = self.timestamp_begin
        last_timestamp, first_timestamp = None, begin
        if stride is not None:
            chunk_len, stride_left, stride_right = stride
            self.time_offset -= stride_left
            right_stride_start = chunk_len - stride_right
            if stride_left:
                first_timestamp = stride_left / self.time_precision + begin
            if stride_right:  # the last timestamp before the right context: later ones are skipped
                for token in reversed(tokens):
                    if token >= begin:
                        if last_timestamp is not None and (token - begin) * self.time_precision < right_stride_start:
                            break
                        last_timestamp = token
        current: list[int] = []
        current_max = penultimate = shift = 0.0
        for i, token in enumerate(tokens):
            if token in self.special:
                language = LANGUAGES.get(self.tokenizer.decode([token])[2:-2])
                if language is not None:
                    if self.language and language != self.language and not self.return_timestamps:
                        self._close_chunk(current)
                        current = []
                    self.chunk["language"] = language
                    self.language = language
            elif token >= begin:
                time_value = float((token - begin) * self.time_precision)
                if time_value < current_max:  # a new 30 s window of long-form output
                    single_ending = i >= 2 and not (tokens[i - 1] >= begin and tokens[i - 2] >= begin)
                    if single_ending:
                        shift += self.time_precision * self.segment_size
                    else:
                        current_max = penultimate
                        shift += penultimate
                penultimate, current_max = current_max, time_value
                time = round((token - begin) * self.time_precision + self.time_offset + shift, 2)
                if last_timestamp and token >= last_timestamp:
                    self.skip = True
                elif self.skip or (self.previous and token < first_timestamp):
                    self.skip = False
                elif self.chunk["timestamp"][0] is None:
                    self.chunk["timestamp"][0] = time
                elif time != self.chunk["timestamp"][0]:
                    self.chunk["timestamp"][1] = time
                    self._close_chunk(current)
                    current = []
            else:
                current.append(token)
        if stride is not None:
            self.time_offset += stride[0] - stride[2]
        if current:
            self.previous.append(current)
        elif not any(p for p in self.previous):
            self.chunk = self._new_chunk()
            self.previous = []


def decode_asr(tokenizer, model_outputs, *, return_timestamps, return_language, time_precision,
               segment_size=1500) -> tuple[str, dict]:
    """``model_outputs``: ``[{"tokens": (1, T) ids, "stride": (chunk_s, left_s, right_s)?}]`` in order."""
    state = _Decoder(tokenizer, return_timestamps, time_precision, segment_size)
    start = tokenizer.convert_tokens_to_ids("<|startoftranscript|>")
    previous_start = tokenizer.convert_tokens_to_ids("<|startofprev|>")
    for output in model_outputs:
        tokens = [int(t) for t in output["tokens"][0]]
        if tokens and tokens[0] == previous_start:  # drop a text prompt
            tokens = tokens[tokens.index(start):] if start in tokens else []
        state.read(tokens, output.get("stride"))
    if state.previous:
        state.chunk["text"] = tokenizer.decode(longest_common_sequence(state.previous))
        state.chunks.append(state.chunk)
    text = "".join(chunk["text"] for chunk in state.chunks)
    if not (return_timestamps or return_language):
        return text, {}
    for chunk in state.chunks:
        if return_timestamps:
            chunk["timestamp"] = tuple(chunk["timestamp"])
        else:
            chunk.pop("timestamp")
        if not return_language:
            chunk.pop("language")
    return text, {"chunks": state.chunks}
