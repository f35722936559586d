"""Key/value caches for incremental decoding.

The interface follows Transformers 5 (``cache.update(keys, values, layer_idx) -> (keys, values)``,
``get_seq_length()``, ``reorder_cache(beam_idx)``), so a model written against it reads the same
as its Transformers counterpart. The storage differs: each layer keeps one preallocated buffer
of shape ``(B, H_kv, capacity, D)`` and writes new steps into it; the capacity doubles when it
runs out instead of concatenating (and copying the whole history) at every step. ``generate()``
passes the final length up front, so a generation normally allocates once per layer.
"""

from __future__ import annotations

import torch


class Cache:
    """Base class: what a model may call on any cache."""

    def update(self, key_states, value_states, layer_idx: int, cache_kwargs=None):  # pragma: no cover
        raise NotImplementedError

    def get_seq_length(self, layer_idx: int = 0) -> int:  # pragma: no cover
        raise NotImplementedError


class DynamicCache(Cache):
    """A growing per-layer cache for ``(B, H_kv, T, D)`` keys and values.

    ``max_cache_len`` is only a capacity hint: the first write reserves that many positions,
    and the buffer still grows (doubling) if the sequence goes past it.
    """

    def __init__(self, max_cache_len: int | None = None, **_ignored):
        self.max_cache_len = max_cache_len
        self._keys: list[torch.Tensor | None] = []
        self._values: list[torch.Tensor | None] = []
        self._lengths: list[int] = []

    # ------------------------------------------------------------------ writing
    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int, cache_kwargs=None):
        """Append ``T`` new positions to layer ``layer_idx``; return all keys and values so far."""
        while len(self._keys) <= layer_idx:
            self._keys.append(None)
            self._values.append(None)
            self._lengths.append(0)
        new = key_states.shape[-2]
        length = self._lengths[layer_idx]
        if self._keys[layer_idx] is None:
            self._first_write(key_states, value_states, layer_idx)
        else:
            if length + new > self._keys[layer_idx].shape[-2]:
                self._grow(layer_idx, length + new)
            self._keys[layer_idx][:, :, length:length + new] = key_states
            self._values[layer_idx][:, :, length:length + new] = value_states
        self._lengths[layer_idx] = length + new
        end = length + new
        return self._keys[layer_idx][:, :, :end], self._values[layer_idx][:, :, :end]

    def _first_write(self, key_states, value_states, layer_idx):
        new = key_states.shape[-2]
        capacity = self.max_cache_len or 0
        if capacity <= new:
            # No hint (or a prompt as long as it): keep the tensors as they are, no copy.
            self._keys[layer_idx], self._values[layer_idx] = key_states, value_states
            return
        self._keys[layer_idx] = _buffer_like(key_states, capacity)
        self._values[layer_idx] = _buffer_like(value_states, capacity)
        self._keys[layer_idx][:, :, :new] = key_states
        self._values[layer_idx][:, :, :new] = value_states

    def _grow(self, layer_idx: int, needed: int) -> None:
        length = self._lengths[layer_idx]
        capacity = max(needed, 2 * self._keys[layer_idx].shape[-2])
        for store in (self._keys, self._values):
            old = store[layer_idx]
            buffer = _buffer_like(old, capacity)
            buffer[:, :, :length] = old[:, :, :length]
            store[layer_idx] = buffer

    # ------------------------------------------------------------------ reading
    def get_seq_length(self, layer_idx: int = 0) -> int:
        """Number of cached positions (0 before the first forward)."""
        return self._lengths[layer_idx] if layer_idx < len(self._lengths) else 0

    def get_max_cache_shape(self, layer_idx: int = 0):
        return None  # grows without a fixed maximum, as Transformers' DynamicCache

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, layer_idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        end = self._lengths[layer_idx]
        return self._keys[layer_idx][:, :, :end], self._values[layer_idx][:, :, :end]

    def __iter__(self):
        for layer_idx in range(len(self)):
            yield self[layer_idx]

    def to_legacy_cache(self) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        return tuple(self)

    @classmethod
    def from_legacy_cache(cls, past) -> "DynamicCache":
        cache = cls()
        for layer_idx, (keys, values) in enumerate(past or ()):
            cache.update(keys, values, layer_idx)
        return cache

    # ------------------------------------------------------------------ beam search / batching
    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        """Keep, for each row, the history of row ``beam_idx[row]`` (beam search)."""
        for store in (self._keys, self._values):
            for layer_idx, buffer in enumerate(store):
                if buffer is None:
                    continue
                # Only the filled part moves; the buffer (and its spare capacity) stays.
                end = self._lengths[layer_idx]
                buffer[:, :, :end] = buffer[:, :, :end].index_select(0, beam_idx.to(buffer.device))

    def batch_repeat_interleave(self, repeats: int) -> None:
        for store in (self._keys, self._values):
            for layer_idx, tensor in enumerate(store):
                if tensor is not None:
                    store[layer_idx] = tensor.repeat_interleave(repeats, dim=0)

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self.reorder_cache(indices)

    def crop(self, max_length: int) -> None:
        """Forget everything after ``max_length`` positions (negative: drop that many)."""
        for layer_idx, length in enumerate(self._lengths):
            self._lengths[layer_idx] = max(0, length + max_length if max_length < 0 else min(length, max_length))


def _buffer_like(tensor: torch.Tensor, capacity: int) -> torch.Tensor:
    batch, heads, _, dim = tensor.shape
    return tensor.new_empty((batch, heads, capacity, dim))  # (B, H_kv, capacity, D)


class EncoderDecoderCache(Cache):
    """Self-attention cache plus cross-attention cache for encoder-decoder models.

    The cross-attention keys/values depend only on the encoder output, so a decoder layer
    computes them at the first step and reuses them afterwards: ``is_updated[layer_idx]`` says
    whether that layer's cross cache is already filled.
    """

    def __init__(self, self_attention_cache: DynamicCache | None = None, cross_attention_cache: DynamicCache | None = None):
        self.self_attention_cache = self_attention_cache if self_attention_cache is not None else DynamicCache()
        self.cross_attention_cache = cross_attention_cache if cross_attention_cache is not None else DynamicCache()
        # > 1 when generate() repeated each input's encoder output this many times (beams, samples):
        # the cross-attention keys/values are then computed from one row per input and shared.
        self.cross_group = 1
        self.is_updated: dict[int, bool] = {
            layer_idx: self.cross_attention_cache.get_seq_length(layer_idx) > 0
            for layer_idx in range(len(self.cross_attention_cache))
        }

    def update(self, key_states, value_states, layer_idx: int, cache_kwargs=None):
        """Write to the self-attention cache (what a decoder's self-attention calls)."""
        return self.self_attention_cache.update(key_states, value_states, layer_idx)

    def update_cross(self, key_states, value_states, layer_idx: int):
        """Fill layer ``layer_idx``'s cross-attention cache once and mark it filled."""
        keys, values = self.cross_attention_cache.update(key_states, value_states, layer_idx)
        self.is_updated[layer_idx] = True
        return keys, values

    def cross(self, layer_idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The cached cross-attention keys/values of one layer."""
        return self.cross_attention_cache[layer_idx]

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.self_attention_cache.get_seq_length(layer_idx)

    def __len__(self) -> int:
        return len(self.self_attention_cache)

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        self.self_attention_cache.reorder_cache(beam_idx)
        self.cross_attention_cache.reorder_cache(beam_idx)

    def batch_repeat_interleave(self, repeats: int) -> None:
        self.self_attention_cache.batch_repeat_interleave(repeats)
        self.cross_attention_cache.batch_repeat_interleave(repeats)

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self.reorder_cache(indices)

    def crop(self, max_length: int) -> None:
        self.self_attention_cache.crop(max_length)


def ensure_cache(past_key_values, use_cache: bool):
    """The cache a decoder forward should use: the caller's (4.x tuples converted), a new one, or None."""
    if past_key_values is None:
        return DynamicCache() if use_cache else None
    if isinstance(past_key_values, (tuple, list)):  # Transformers 4.x tuple of (keys, values) per layer
        return DynamicCache.from_legacy_cache(past_key_values)
    return past_key_values
