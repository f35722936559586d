"""Tiny CLIP/AltCLIP configs and inputs shared by the vision-language tests."""

from __future__ import annotations

import torch

BOS, EOS, PAD = 97, 98, 1
TEXT = dict(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=20, bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD, projection_dim=16)
VISION = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4, image_size=30,
              patch_size=15, projection_dim=16)


def clip_text_batch(lengths=(7, 4, 5), seed: int = 0, eos: int = EOS, pad: int = EOS):
    """ids = bos, words…, eos, then padding; the mask marks the real tokens."""
    gen = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.full((len(lengths), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, 0] = BOS
        ids[row, 1:n - 1] = torch.randint(3, 90, (n - 2,), generator=gen)
        ids[row, n - 1] = eos
        mask[row, :n] = 1
    return ids, mask


def pixels(batch: int = 2, size: int = 30, seed: int = 0):
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


def assert_outputs_close(ours, theirs, atol=1e-5):
    """Compare every tensor (and tuple of tensors, and nested output) both outputs have."""
    for key, value in theirs.items():
        if value is None or key not in ours:
            assert value is None or key in ours, f"missing output '{key}'"
            continue
        mine = ours[key]
        if hasattr(value, "items"):
            assert_outputs_close(mine, value, atol)
        elif isinstance(value, (tuple, list)):
            assert len(mine) == len(value), key
            for a, b in zip(mine, value):
                torch.testing.assert_close(a, b, atol=atol, rtol=1e-5, msg=key)
        else:
            torch.testing.assert_close(mine, value, atol=atol, rtol=1e-5, msg=key)
