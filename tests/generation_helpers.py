"""Shared helpers for decoder-LM parity tests: build a tiny Transformers model, load it with
polymodal, compare logits, loss and generate() token ids."""

from __future__ import annotations

import torch

PAD = 0


def save_tiny(hf_model, tmp_path, name="hf"):
    path = tmp_path / name
    hf_model.save_pretrained(path)
    return path


def padded_batch(vocab_size: int, lengths=(7, 5, 3), seed: int = 0):
    """Left-padded random prompts (pad id 0) and their mask."""
    g = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.randint(1, vocab_size - 1, (len(lengths), width), generator=g)
    mask = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        mask[row, width - n:] = 1
    return ids.masked_fill(mask == 0, PAD), mask


def assert_logits_match(hf_model, pm_model, ids, mask, atol=1e-5):
    """Logits at real (non-padding) positions; the loss on the unpadded rows.

    Padding positions are excluded: their query attends to nothing, and Transformers' own
    SDPA and eager paths disagree there.
    """
    with torch.no_grad():
        a = hf_model(input_ids=ids, attention_mask=mask)
        b = pm_model(input_ids=ids, attention_mask=mask)
    keep = mask.bool()
    torch.testing.assert_close(b.logits[keep], a.logits[keep], atol=atol, rtol=1e-4)
    full = mask.all(dim=1)
    if full.any():
        labels = ids[full].clone()
        labels[:, -1] = -100
        with torch.no_grad():
            a = hf_model(input_ids=ids[full], labels=labels)
            b = pm_model(input_ids=ids[full], labels=labels)
        torch.testing.assert_close(b.loss, a.loss, atol=atol, rtol=1e-4)


def assert_same_generation(hf_model, pm_model, ids, mask, seed=1, **kwargs):
    torch.manual_seed(seed)
    expected = hf_model.generate(input_ids=ids, attention_mask=mask, **kwargs)
    torch.manual_seed(seed)
    got = pm_model.generate(input_ids=ids, attention_mask=mask, **kwargs)
    if isinstance(expected, torch.Tensor):
        assert torch.equal(got, expected), f"{kwargs}\nexpected {expected}\ngot      {got}"
    else:
        assert torch.equal(got.sequences, expected.sequences), kwargs
    return expected, got
