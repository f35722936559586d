"""Turning Whisper's generated tokens (per audio chunk) into the pipeline's text and chunks.

Used by ``pipeline("automatic-speech-recognition")``: tokens of overlapping chunks are merged on
their longest common run (the overlap is decoded twice), timestamps are shifted by each chunk's
start, and timestamp pairs become ``{"text", "timestamp": (start, end)}`` chunks. With
``return_timestamps="word"`` every text token also carries ``(start, end)`` times (from
``generate(return_token_timestamps=True)``), which follow the tokens through the merge and are
grouped into words (``word_grouping.py``): the chunks are then words. The rules and their
tie-breaking are Transformers', so results are identical.
"""

from __future__ import annotations

import numpy as np

from .languages import LANGUAGES
from .word_grouping import collate_word_timestamps


def _in_order(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a <= b`` row by row for ``(start, end)`` rows compared as tuples (start first, then end)."""
    return (a[:, 0] < b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] <= b[:, 1]))


def _pairs(times) -> np.ndarray:
    return np.asarray(times, dtype=float).reshape(-1, 2)


def longest_common_sequence(sequences: list[list[int]], times: list[list[tuple]] | None = None):
    """Join token runs that overlap: cut each pair in the middle of its best-matching alignment.

    With ``times`` (per-token ``(start, end)`` of each run) a pair only matches when the left time
    is not later than the right one, and the times are cut at the same places: returns
    ``(tokens, times)``.
    """
    left = sequences[0]
    left_times = times[0] if times else None
    total: list[int] = []
    total_times: list[tuple] = []
    for index, right in enumerate(sequences[1:], start=1):
        best, best_bounds = 0.0, (len(left), len(left), 0, 0)
        if times:
            left_pairs, right_pairs = _pairs(left_times), _pairs(times[index])
        for i in range(1, len(left) + len(right)):
            eps = i / 10000.0  # prefer longer alignments on ties
            left_start, left_stop = max(0, len(left) - i), min(len(left), len(left) + len(right) - i)
            right_start, right_stop = max(0, i - len(left)), min(len(right), i)
            same = np.array(left[left_start:left_stop]) == np.array(right[right_start:right_stop])
            if times:
                same &= _in_order(left_pairs[left_start:left_stop], right_pairs[right_start:right_stop])
            matches = int(np.sum(same))
            score = matches / i + eps
            if matches > 1 and score > best:
                best, best_bounds = score, (left_start, left_stop, right_start, right_stop)
        left_start, left_stop, right_start, right_stop = best_bounds
        left_mid, right_mid = (left_stop + left_start) // 2, (right_stop + right_start) // 2
        total.extend(left[:left_mid])
        left = right[right_mid:]
        if times:
            total_times.extend(left_times[:left_mid])
            left_times = times[index][right_mid:]
    total.extend(left)
    if times is None:
        return total
    if times:
        total_times.extend(left_times)
    return total, total_times


class _Decoder:
    """State of one pass over the chunk outputs (text pieces, current chunk, time bookkeeping)."""

    def __init__(self, tokenizer, return_timestamps, time_precision, segment_size, return_language=False):
        self.tokenizer = tokenizer
        self.return_timestamps = return_timestamps
        self.words = return_timestamps == "word"
        self.return_language = return_language
        self.time_precision = time_precision
        self.segment_size = segment_size
        self.timestamp_begin = tokenizer.convert_tokens_to_ids("<|notimestamps|>") + 1
        self.special = set(tokenizer.all_special_ids)
        self.chunks: list[dict] = []
        self.language = None
        self.chunk = self._new_chunk()
        self.previous: list[list[int]] = []
        self.previous_times: list[list[tuple]] = []  # per-token (start, end) of each run (words only)
        self.time_offset = 0.0
        self.skip = False

    def _new_chunk(self) -> dict:
        return {"language": self.language, "timestamp": [None, None], "text": ""}

    def _close_chunk(self, current, current_times) -> None:
        self.previous.append(current)
        if self.words:
            self.previous_times.append(current_times)
        self.finish_chunk()
        self.previous, self.previous_times = [], []
        self.chunk = self._new_chunk()

    def finish_chunk(self) -> None:
        """Merge the pending runs into the current chunk's text (and words) and keep the chunk."""
        if self.words:
            tokens, times = longest_common_sequence(self.previous, self.previous_times)
        else:
            tokens, times = longest_common_sequence(self.previous), None
        self.chunk["text"] = self.tokenizer.decode(tokens)
        if self.words:
            self.chunk["words"] = collate_word_timestamps(self.tokenizer, tokens, times, self.language,
                                                          self.return_language)
        self.chunks.append(self.chunk)

    def _token_times(self, times, i) -> tuple[float, float]:
        """``(start, end)`` of the text token at ``i``: from the end of the token before it to its own."""
        last = len(times) - 1  # (a prepended language token shifts the list by one; stay inside it)
        start = round((times[min(i - 1, last)] if i else 0.0) + self.time_offset, 2)
        return start, round(times[min(i, last)] + self.time_offset, 2)

    def read(self, tokens: list[int], stride, times=None) -> None:
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
        current_times: list[tuple] = []
        current_max = penultimate = shift = 0.0
        for i, token in enumerate(tokens):
            if token in self.special:
                language = LANGUAGES.get(self.tokenizer.decode([token])[2:-2])
                if language is not None:
                    if self.language and language != self.language and not self.return_timestamps:
                        self._close_chunk(current, current_times)
                        current, current_times = [], []
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
                    self._close_chunk(current, current_times)
                    current, current_times = [], []
            else:
                current.append(token)
                if self.words:
                    current_times.append(self._token_times(times, i))
        if stride is not None:
            self.time_offset += stride[0] - stride[2]
        if current:
            self.previous.append(current)
            if self.words:
                self.previous_times.append(current_times)
        elif not any(p for p in self.previous):
            self.chunk = self._new_chunk()
            self.previous, self.previous_times = [], []


def decode_asr(tokenizer, model_outputs, *, return_timestamps, return_language, time_precision,
               segment_size=1500) -> tuple[str, dict]:
    """``model_outputs``: ``[{"tokens": (1, T) ids, "stride": (chunk_s, left_s, right_s)?}]`` in order;
    with ``return_timestamps="word"`` each also has ``"token_timestamps"``: ``[(T,) start times]``."""
    state = _Decoder(tokenizer, return_timestamps, time_precision, segment_size, return_language)
    start = tokenizer.convert_tokens_to_ids("<|startoftranscript|>")
    previous_start = tokenizer.convert_tokens_to_ids("<|startofprev|>")
    for output in model_outputs:
        tokens = [int(t) for t in output["tokens"][0]]
        if tokens and tokens[0] == previous_start:  # drop a text prompt
            tokens = tokens[tokens.index(start):] if start in tokens else []
        times = None
        if state.words:  # (indexed like the tokens after the prompt is dropped, as Transformers does)
            times = [float(t) for t in output["token_timestamps"][0]]
        state.read(tokens, output.get("stride"), times)
    if state.previous:
        state.finish_chunk()
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
    if state.words:
        return text, {"chunks": [word for chunk in state.chunks for word in chunk["words"]]}
    return text, {"chunks": state.chunks}
