"""Token-level timestamps from cross-attention: which audio frames each generated token looked at.

Some of Whisper's cross-attention heads (``generation_config.alignment_heads``, ``[[layer, head],
...]``) follow the speech closely. Their attention probabilities, standardised over the tokens and
smoothed with a median filter along time, form a token × frame similarity matrix; dynamic time
warping finds the monotonic path through it, and each token starts where the path first reaches
its row (OpenAI's ``timing.py``, as Transformers ports it, so the numbers are the same).

The probabilities are recorded with forward hooks on the alignment layers only, while the
tokens are generated: the normal decoding path (SDPA, no attention weights) stays untouched, and
nothing is recorded unless token timestamps are asked for.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from ...core.errors import InvalidInputError
from ...nn.attention import split_heads

TIME_PRECISION = 0.02  # seconds per encoder position (Transformers always uses 0.02 here)


def check_alignment_heads(alignment_heads, num_layers: int, num_heads: int) -> list[tuple[int, int]]:
    """``[[layer, head], ...]`` as int pairs, each inside the decoder; else a clear error."""
    try:
        pairs = [(int(layer), int(head)) for layer, head in alignment_heads]
    except (TypeError, ValueError):
        pairs = []
    bad = [p for p in pairs if not (0 <= p[0] < num_layers and 0 <= p[1] < num_heads)]
    if not pairs or bad:
        raise InvalidInputError(
            f"generation_config.alignment_heads={alignment_heads!r} must be a non-empty list of [layer, head] pairs "
            f"with layer < decoder_layers={num_layers} and head < decoder_attention_heads={num_heads}.")
    return pairs


class AlignmentRecorder:
    """Context manager: records the alignment heads' cross-attention probabilities of every decoder call.

    ``weights()`` then returns them as ``(batch rows, len(alignment_heads), decoder positions, frames)``
    in the order of ``alignment_heads`` (the order matters: the heads are averaged in it).
    """

    def __init__(self, decoder, alignment_heads):
        self.decoder = decoder
        self.pairs = check_alignment_heads(alignment_heads, len(decoder.layers),
                                           decoder.config.decoder_attention_heads)
        self.heads_of = {layer: sorted({h for l, h in self.pairs if l == layer}) for layer, _ in self.pairs}
        self.steps: dict[int, list[torch.Tensor]] = {layer: [] for layer in self.heads_of}
        self._latest: dict[tuple[str, int], torch.Tensor] = {}  # the projections the layer just made
        self._handles = []

    def __enter__(self) -> AlignmentRecorder:
        for layer in self.heads_of:
            attention = self.decoder.layers[layer].encoder_attn
            self._handles += [attention.q_proj.register_forward_hook(self._keep("query", layer, attention)),
                              attention.k_proj.register_forward_hook(self._keep("key", layer, attention)),
                              attention.register_forward_hook(self._record(layer), with_kwargs=True)]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles, self._latest = [], {}

    def _keep(self, kind: str, layer: int, attention):
        """Keeps the alignment heads of a projection the layer computes anyway (no second matmul).

        The keys are projected once per generate() call (then cached) and every row keeps its own
        input's keys through beam reordering, so the first projection serves every step.
        """
        heads = self.heads_of[layer]

        def keep(module, args, output):
            self._latest[kind, layer] = split_heads(output, attention.num_heads)[:, heads]  # (B, h, T, D)

        return keep

    def _record(self, layer: int):
        heads = self.heads_of[layer]

        def record(module, args, kwargs, output):
            key = self._latest.get(("key", layer))
            if key is None:  # keys cached before recording began: read them back
                key = kwargs["cache"].cross_attention_cache[module.layer_idx][0][:, heads]
                self._latest["key", layer] = key
            # Same rounding as the eager attention: the query is scaled before the product.
            query = self._latest.pop(("query", layer)) * module.scaling
            scores = torch.matmul(query, key.transpose(-1, -2))  # (B, h, T, S)
            self.steps[layer].append(scores.softmax(dim=-1, dtype=torch.float32))

        return record

    def weights(self) -> torch.Tensor:
        per_layer = {layer: torch.cat(steps, dim=2) for layer, steps in self.steps.items()}
        return torch.stack([per_layer[l][:, self.heads_of[l].index(h)] for l, h in self.pairs], dim=1)


def median_filter(inputs: torch.Tensor, width: int) -> torch.Tensor:
    """Median over a sliding window of ``width`` along the last axis, edges reflected."""
    if width <= 0 or width % 2 != 1:
        raise InvalidInputError(f"median_filter_width={width} must be a positive odd number (Whisper uses 7).")
    half = width // 2
    if inputs.shape[-1] <= half:  # too short to reflect: left as it is
        return inputs
    padded = F.pad(inputs, (half, half, 0, 0), mode="reflect")
    # sort + middle element rather than torch.median: NaNs (a constant row) are ordered the same way
    return padded.unfold(-1, width, 1).sort()[0][..., half]


def dynamic_time_warping(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest monotonic path through ``matrix`` (tokens × frames): ``(token indices, frame indices)``."""
    return warp_paths([matrix])[0]


def warp_paths(matrices: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`dynamic_time_warping` of several matrices with the same number of rows at once.

    Every cell of the cost table depends only on the two anti-diagonals before it, so the table is
    filled one anti-diagonal at a time, stored skewed (``table[b, i + j, i]``) so that each step
    reads its three neighbours as plain slices, for all matrices together (narrower ones padded:
    a cell never depends on a later column, so padding cannot change a path). Costs are float32
    and ties are broken as in the reference loop, so the paths are the same.
    """
    rows, widths = matrices[0].shape[0], [m.shape[1] for m in matrices]
    cols, count = max(widths), len(matrices)
    grid_i, grid_j = np.meshgrid(np.arange(1, rows + 1), np.arange(1, cols + 1), indexing="ij")
    values = np.zeros((count, rows + cols + 1, rows + 1))
    for b, matrix in enumerate(matrices):
        values[b, grid_i + grid_j, grid_i] = np.pad(matrix, ((0, 0), (0, cols - matrix.shape[1])))
    cost = np.full((count, rows + cols + 1, rows + 1), np.inf, dtype=np.float32)
    trace = np.zeros((count, rows + cols + 1, rows + 1), dtype=np.int8)
    cost[:, 0, 0] = 0
    for d in range(2, rows + cols + 1):
        lo, hi = max(1, d - cols), min(rows, d - 1)  # cells (i, d - i) with 1 <= i, j
        diag, up, left = cost[:, d - 2, lo - 1:hi], cost[:, d - 1, lo - 1:hi], cost[:, d - 1, lo:hi + 1]
        take_diag = (diag < up) & (diag < left)
        take_up = ~take_diag & (up < diag) & (up < left)
        cost[:, d, lo:hi + 1] = values[:, d, lo:hi + 1] + np.where(take_diag, diag, np.where(take_up, up, left))
        trace[:, d, lo:hi + 1] = np.where(take_diag, 0, np.where(take_up, 1, 2))
    return [_backtrace(trace[b], rows, widths[b]) for b in range(count)]


def _backtrace(trace: np.ndarray, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Walk back from the last cell; on the first row only time moves, on the first column only text."""
    text, time = [], []
    while i > 0 or j > 0:
        text.append(i - 1)
        time.append(j - 1)
        move = 2 if i == 0 else 1 if j == 0 else trace[i + j, i]
        if move == 0:
            i, j = i - 1, j - 1
        elif move == 1:
            i -= 1
        else:
            j -= 1
    return np.array(text[::-1]), np.array(time[::-1])


def _standardise(weights: torch.Tensor, filter_width: int) -> torch.Tensor:
    """z-score over the tokens, median filter along time, then the mean over the heads."""
    with warnings.catch_warnings():  # one token: std 0 and NaNs, as in Transformers; torch's warning says nothing
        warnings.simplefilter("ignore", UserWarning)
        std = torch.std(weights, dim=-2, keepdim=True, unbiased=False)
    mean = torch.mean(weights, dim=-2, keepdim=True)
    return median_filter((weights - mean) / std, filter_width).mean(dim=-3)


def _select_beams(weights, beam_indices, num_input_ids):
    """The rows each returned beam actually went through, step by step: ``(rows, heads, positions, frames)``."""
    length = int((beam_indices != -1).sum(-1).max())
    index = beam_indices[:, :length].long()
    if num_input_ids > 1:  # the first call saw the whole prompt, all from the beam of step one
        index = torch.cat([index[:, :1].expand(-1, num_input_ids - 1), index], dim=-1)
    index = index.masked_fill(index == -1, 0).to(weights.device)
    positions = torch.arange(index.shape[1], device=weights.device)
    return weights[index, :, positions[None, :], :].permute(0, 2, 1, 3)


def token_timestamps(weights, batch_size: int, num_input_ids: int, beam_indices=None, num_frames=None,
                     filter_width: int = 7, time_precision: float = TIME_PRECISION) -> torch.Tensor:
    """Start time (s) of every position of the generated sequences, ``(batch_size, positions)``.

    ``weights``: the recorded ``(rows, heads, positions - 1, frames)`` probabilities; ``num_frames``:
    the mel frames of real audio per row (None: all 30 s), so padding does not attract tokens. The
    prompt's positions get 0.0, and the last token (never fed back, so never attended from) repeats
    the time of the one before it.
    """
    if beam_indices is not None:
        weights = _select_beams(weights, beam_indices, num_input_ids)
    timestamps = torch.zeros((batch_size, weights.shape[2] + 1), dtype=torch.float32)
    per_row = num_frames is not None and not isinstance(num_frames, int)
    if isinstance(num_frames, int):
        weights = weights[..., : num_frames // 2]
    elif per_row:
        num_frames = torch.as_tensor(num_frames).cpu().reshape(-1)
        if len(num_frames.unique()) == 1:
            # Transformers crops all rows first, then each row again below. The same crop twice
            # changes nothing, except in a window that starts after the audio ends (negative
            # frames, a slice from the end): kept so such windows get the same times.
            weights = weights[..., : int(num_frames[0]) // 2]
        if len(num_frames) != batch_size:
            num_frames = num_frames.repeat_interleave(batch_size // len(num_frames))
    weights = weights[:, :, num_input_ids:]  # the prompt is not aligned (its tokens are at 0.0)
    if weights.shape[2] == 0:
        return timestamps
    if per_row:
        matrices = [_standardise(weights[row, ..., : int(num_frames[row]) // 2], filter_width)
                    for row in range(batch_size)]
    else:
        matrices = list(_standardise(weights, filter_width))
    paths = warp_paths([-matrix.cpu().double().numpy() for matrix in matrices])
    for row, (text_index, time_index) in enumerate(paths):
        starts = np.pad(np.diff(text_index), (1, 0), constant_values=1).astype(bool)
        times = torch.from_numpy(time_index[starts] * time_precision)
        timestamps[row] = torch.cat([torch.zeros(num_input_ids, dtype=torch.float64), times, times[-1:]])
    return timestamps
