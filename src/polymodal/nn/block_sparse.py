"""BigBird's block-sparse attention (Zaheer et al., 2020), shared by BigBird and BigBird-Pegasus.

The sequence is cut into blocks of ``block_size`` tokens. The first and last query blocks are
global: they attend to every key. Every other query block ``b`` attends to a fixed set of key
blocks: the first and last (global) blocks, its sliding window ``b-1, b, b+1`` and
``num_random_blocks`` random blocks. Cost is linear in the length instead of quadratic.

Compatibility choices, all made so the numbers equal Transformers':

* The random blocks are drawn with numpy from a generator seeded with the layer index, and only
  in training mode; in eval mode Transformers uses *no* randomness: every "random" block is
  block 0, so block 0 is counted ``1 + num_random_blocks`` times in each windowed row's softmax.
  We reproduce both, drawing from a local ``RandomState`` (the same stream as the global seeding
  Transformers does, without touching numpy's global state) and caching the plan, which is a
  pure function of its arguments.
* Masked keys get a penalty of ``-10000`` (not ``-inf``), and the penalty on the sliding-window
  and random keys of the middle rows also counts the *query* mask, as in the reference.
* Padded query rows come out as zeros.

Instead of Transformers' five hand-written parts, the windowed rows are one batched product
over a ``(rows, slots)`` table of key-block indices: ``[0, b-1, b, b+1, random…, last]``. For
the second and second-to-last rows one slot repeats a global block; it is masked out with
``-inf`` (``dummy``) so each key is seen exactly as often as in the reference.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

PENALTY = -10000.0  # the reference's additive mask value


@dataclass
class BlockSparseMask:
    """Tells an attention layer to run block-sparse: the ``(B, T)`` 1/0 padding mask, ``T`` a
    multiple of the block size. (Full attention gets an additive ``(B, 1, 1, T)`` tensor instead.)"""

    attention_mask: torch.Tensor


def max_full_attention_length(block_size: int, num_random_blocks: int) -> int:
    """Sequences up to this length are too short for block-sparse attention (2 global + 3 sliding
    blocks + twice the random blocks as a buffer); models fall back to full attention."""
    return (5 + 2 * num_random_blocks) * block_size


def block_padding(length: int, block_size: int) -> int:
    """How many tokens to append so ``length`` is a multiple of ``block_size``."""
    return (-length) % block_size


# ----------------------------------------------------------------------------- random blocks
def random_blocks(seq_len: int, block_size: int, num_heads: int, num_rand_blocks: int, seed: int | None,
                  training: bool, max_seqlen: int) -> torch.Tensor:
    """``(H, num_blocks - 2, num_rand_blocks)`` key-block ids for the windowed query rows."""
    if not training or seed is None:
        # seed None: Transformers would draw from an unseeded generator; nothing to reproduce, so
        # it is drawn here too, uncached.
        if not training:
            return torch.zeros(num_heads, seq_len // block_size - 2, num_rand_blocks, dtype=torch.long)
        return torch.from_numpy(_draw(seq_len, block_size, num_heads, num_rand_blocks, None, max_seqlen))
    return _cached_draw(seq_len, block_size, num_heads, num_rand_blocks, seed, max_seqlen)


@functools.lru_cache(maxsize=128)
def _cached_draw(seq_len, block_size, num_heads, num_rand_blocks, seed, max_seqlen) -> torch.Tensor:
    return torch.from_numpy(_draw(seq_len, block_size, num_heads, num_rand_blocks, seed, max_seqlen))


def _draw(seq_len, block_size, num_heads, num_rand_blocks, seed, max_seqlen) -> np.ndarray:
    rng = np.random.RandomState(seed)
    num_blocks = seq_len // block_size
    if seq_len in (1024, 3072, 4096):  # the paper's fixed plans, drawn over max_seqlen and cut
        heads = [_legacy_rows(rng, max_seqlen, block_size, num_rand_blocks, last_idx=1024)[: num_blocks - 2]
                 for _ in range(num_heads)]
    else:
        heads = _planned_rows(rng, seq_len, block_size, num_heads, num_rand_blocks)
    return np.stack(heads).astype(np.int64)


def _legacy_rows(rng, seq_len, block_size, num_rand_blocks, last_idx):
    """The original plan: per row, a permutation of the allowed blocks (the reference's gaps kept)."""
    num_blocks = seq_len // block_size
    rows = np.zeros((num_blocks - 2, num_rand_blocks), dtype=np.int32)
    middle = np.arange(1, num_blocks - 1, dtype=np.int32)
    last = last_idx // block_size - 1 if last_idx > 2 * block_size else num_blocks - 1
    for i in range(1, num_blocks - 1):
        if i == 1:
            pool = middle[2:last]
        elif i == 2:
            pool = middle[3:last]
        elif i in (num_blocks - 3, num_blocks - 2):
            pool = middle[:last]  # the reference does not exclude the window here
        elif i - 2 > last:
            pool = middle[:last]
        elif i + 1 == last:
            pool = middle[: i - 2]
        else:
            pool = np.concatenate((middle[: i - 2], middle[i + 1: last]))
        rows[i - 1, :] = rng.permutation(pool)[:num_rand_blocks]
    return rows


def _plan(seq_len, block_size, num_rand_blocks):
    """Where random blocks come from: up to two spans of the sequence, with their block counts."""
    num_blocks = seq_len // block_size
    if 2 * num_rand_blocks + 5 < num_blocks:
        return [(2 * num_rand_blocks + 5) * block_size, seq_len], [num_rand_blocks, 0]
    if num_rand_blocks + 5 < num_blocks:
        half = num_rand_blocks // 2
        return [(num_rand_blocks + 5) * block_size, seq_len], [half, num_rand_blocks - half]
    return [seq_len], [num_rand_blocks]


def _planned_rows(rng, seq_len, block_size, num_heads, num_rand_blocks):
    """Per head, per row, random blocks drawn span by span (the reference's draw order kept)."""
    ends, counts = _plan(seq_len, block_size, num_rand_blocks)
    num_blocks = seq_len // block_size
    span_end = [end // block_size for end in ends]
    last_plan = ends.index(seq_len)
    rows = [np.zeros((num_blocks, sum(counts[: last_plan + 1])), dtype=np.int32) for _ in range(num_heads)]

    def fill(row, col_start, col_end, to_start, to_end, count):
        for head in range(num_heads):
            rows[head][row, col_start:col_end] = _row_blocks(rng, row, to_start, to_end, count)

    for plan in range(last_plan + 1):
        if plan > 0:
            if counts[plan] > 0:
                for row in range(1, span_end[plan - 1]):
                    fill(row, sum(counts[:plan]), sum(counts[: plan + 1]), span_end[plan - 1], span_end[plan],
                         counts[plan])
            for earlier in range(plan):
                if counts[earlier] == 0:
                    continue
                to_start = span_end[earlier - 1] if earlier > 0 else 0
                for row in range(span_end[plan - 1], span_end[plan]):
                    fill(row, sum(counts[:earlier]), sum(counts[: earlier + 1]), to_start, span_end[earlier],
                         counts[earlier])
        if counts[plan] == 0:
            continue
        start = span_end[plan - 1] if plan > 0 else 1
        for row in range(start, span_end[plan]):
            fill(row, sum(counts[:plan]), sum(counts[: plan + 1]), span_end[plan - 1] if plan > 0 else 0,
                 span_end[plan], counts[plan])
    return [head_rows[1: num_blocks - 1] for head_rows in rows]


def _row_blocks(rng, row, to_start, to_end, count):
    """``count`` blocks of ``[to_start, to_end)`` in random order, skipping the row's window, the
    span's first and last block, and the block the neighbouring global row already covers."""
    illegal = {row - 1, row, row + 1, 0, to_end - 1}
    if row == 1:
        illegal.add(to_end - 2)
    if row == to_end - 2:
        illegal.add(1)
    chosen = [block for block in rng.permutation(np.arange(to_start, to_end, dtype=np.int32)) if block not in illegal]
    return np.array(chosen[:count], dtype=np.int32)


# ----------------------------------------------------------------------------- the kernel
@functools.lru_cache(maxsize=64)
def _slot_layout(num_blocks: int, num_rand_blocks: int):
    """For the windowed rows ``b = 1 … num_blocks-2``: the fixed key blocks ``[0, b-1, b, b+1]``
    and the last block, which slots repeat a global block (``dummy``), and which slots also
    count the query mask (``needs_query``: the middle rows' window, every row's random blocks)."""
    rows = torch.arange(1, num_blocks - 1)
    fixed = torch.stack([torch.zeros_like(rows), rows - 1, rows, rows + 1], dim=-1)  # (R, 4)
    width = 5 + num_rand_blocks
    dummy = torch.zeros(num_blocks - 2, width, dtype=torch.bool)
    dummy[0, 1] = True  # row 1's window starts at block 0, the global block already in slot 0
    dummy[-1, -1] = True  # the last row's window ends at the last block, already in slot -1
    needs_query = torch.zeros(num_blocks - 2, width, dtype=torch.bool)
    needs_query[1:-1, 1:4] = True
    needs_query[:, 4: 4 + num_rand_blocks] = True
    return fixed, dummy, needs_query


def block_sparse_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                           attention_mask: torch.Tensor, rand_blocks: torch.Tensor, block_size: int,
                           output_attentions: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Block-sparse attention over ``(B, H, T, D)`` tensors, ``T`` a multiple of ``block_size``.

    ``attention_mask``: ``(B, T)`` 1/0; ``rand_blocks``: ``(H, T // block_size - 2, r)`` (see
    :func:`random_blocks`). Returns ``(context (B, H, T, D), weights (B, H, T, T) or None)``;
    the weights are the dense matrix Transformers returns (zeros where nothing is attended).
    """
    batch, heads, length, dim = query.shape
    num_blocks, num_rand = length // block_size, rand_blocks.shape[-1]
    scale = dim ** -0.5
    mask = attention_mask.to(query.dtype)

    # The first and last query blocks attend to every key.
    global_query = torch.cat([query[:, :, :block_size], query[:, :, -block_size:]], dim=2)  # (B, H, 2b, D)
    global_scores = torch.matmul(global_query, key.transpose(-1, -2)) * scale + (1.0 - mask)[:, None, None] * PENALTY
    global_probs = global_scores.softmax(dim=-1)
    global_context = torch.matmul(global_probs, value)  # (B, H, 2b, D)

    # The other rows: one product over their key-block slots.
    fixed, dummy, needs_query = (t.to(query.device) for t in _slot_layout(num_blocks, num_rand))
    rand_blocks = rand_blocks.to(query.device)
    last = torch.full_like(fixed[:, :1], num_blocks - 1)
    slots = torch.cat([fixed.expand(heads, -1, -1), rand_blocks, last.expand(heads, -1, -1)], dim=-1)  # (H, R, W)
    head_ids = torch.arange(heads, device=query.device)[:, None, None]
    blocked_keys = key.view(batch, heads, num_blocks, block_size, dim)
    blocked_values = value.view(batch, heads, num_blocks, block_size, dim)
    keys = blocked_keys[:, head_ids, slots].flatten(3, 4)  # (B, H, R, W*b, D)
    values = blocked_values[:, head_ids, slots].flatten(3, 4)
    rows = query[:, :, block_size:-block_size].reshape(batch, heads, num_blocks - 2, block_size, dim)
    scores = torch.matmul(rows, keys.transpose(-1, -2)).mul_(scale)  # (B, H, R, b, W*b)
    if not bool(attention_mask.all()):  # without padding every penalty is 0: skip building them
        scores.add_(_window_penalty(mask, slots, needs_query, block_size, scores.dtype))
    dummy_keys = dummy[:, None, :, None].expand(-1, 1, -1, block_size).flatten(-2)  # (R, 1, W*b)
    probs = scores.masked_fill_(dummy_keys, float("-inf")).softmax(dim=-1)
    middle = torch.matmul(probs, values).view(batch, heads, (num_blocks - 2) * block_size, dim)

    context = torch.cat([global_context[:, :, :block_size], middle, global_context[:, :, block_size:]], dim=2)
    context = context * mask[:, None, :, None]  # padded queries give zeros, as in the reference
    weights = None
    if output_attentions:
        weights = _dense_weights(global_probs, probs, slots, block_size, num_rand)
    return context, weights


def _window_penalty(mask, slots, needs_query, block_size, dtype):
    """``(B, H, R, b, W*b)``: ``PENALTY`` where the key (or, in ``needs_query`` slots, the query) is
    padding, else 0 — added, not filled in, so even fully masked rows come out as the reference's."""
    batch = mask.shape[0]
    kept = mask.view(batch, -1, block_size) > 0.5  # (B, N, b)
    key_ok = kept[:, slots]  # (B, H, R, W, b)
    query_ok = kept[:, 1:-1, :, None] | ~needs_query[:, None, :]  # (B, R, b, W)
    both = key_ok[:, :, :, None] & query_ok[:, None, :, :, :, None]  # (B, H, R, b, W, b)
    zero = torch.zeros((), dtype=dtype, device=mask.device)
    return torch.where(both, zero, torch.full((), PENALTY, dtype=dtype, device=mask.device)).flatten(-2)


def _dense_weights(global_probs, probs, slots, block_size, num_rand):
    """The ``(B, H, T, T)`` matrix of attention weights, written in the reference's order so
    repeated key blocks (block 0 in eval mode) hold the value the reference leaves there."""
    batch, heads, rows, _, _ = probs.shape
    num_blocks = rows + 2
    length = num_blocks * block_size
    dense = probs.new_zeros(batch, heads, length, length)
    dense[:, :, :block_size] = global_probs[:, :, :block_size]
    dense[:, :, -block_size:] = global_probs[:, :, block_size:]
    grid = dense.view(batch, heads, num_blocks, block_size, num_blocks, block_size)[:, :, 1:-1]  # (B, H, R, b, N, b)
    per_slot = probs.view(batch, heads, rows, block_size, -1, block_size)  # (B, H, R, b, W, b)

    def put(slot_range, row_range=slice(None)):
        values = per_slot[:, :, row_range, :, slot_range]
        index = slots[:, row_range, slot_range][None, :, :, None, :, None].expand_as(values)
        grid[:, :, row_range].scatter_(4, index, values)

    put(slice(1, 4))  # sliding windows (row 1's dummy slot is overwritten next)
    put(slice(0, 1))  # first global block
    put(slice(-1, None), slice(0, rows - 1))  # last global block (the last row's slot is a dummy)
    put(slice(4, 4 + num_rand))  # random blocks last, as the reference writes them
    return dense
