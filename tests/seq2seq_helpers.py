"""Helpers for encoder-decoder parity tests (Whisper, BART family, T5)."""

from __future__ import annotations

import torch

from polymodal.generation.cache import EncoderDecoderCache

OUTPUT_KEYS = ("loss", "logits", "last_hidden_state", "encoder_last_hidden_state")
TUPLE_KEYS = ("hidden_states", "attentions", "decoder_hidden_states", "encoder_hidden_states", "decoder_attentions", "cross_attentions",
              "encoder_attentions")


def assert_outputs_close(ours, theirs, atol=1e-5, keep=None):
    """Every tensor field Transformers returned matches (``keep`` selects unpadded decoder rows)."""
    for key in OUTPUT_KEYS:
        if getattr(theirs, key, None) is not None:
            a, b = getattr(ours, key), getattr(theirs, key)
            if keep is not None and key in ("logits", "last_hidden_state"):
                a, b = a[keep], b[keep]
            torch.testing.assert_close(a, b, atol=atol, rtol=1e-4, msg=key)
    for key in TUPLE_KEYS:
        theirs_value = getattr(theirs, key, None)
        if theirs_value is None or all(v is None for v in theirs_value):
            continue
        ours_value = getattr(ours, key)
        assert len(ours_value) == len(theirs_value), key
        for a, b in zip(ours_value, theirs_value):
            if keep is not None and key.startswith("decoder_hidden"):
                a, b = a[keep], b[keep]
            if keep is None or not key.startswith(("decoder_att", "cross")):
                torch.testing.assert_close(a, b, atol=atol, rtol=1e-4, msg=key)


def incremental_logits(model, encoder_outputs, decoder_input_ids, split: int, **kwargs):
    """Logits from a prefix of ``split`` tokens, then one token at a time through the cache."""
    cache = EncoderDecoderCache()
    chunks = [model(encoder_outputs=encoder_outputs, decoder_input_ids=decoder_input_ids[:, :split],
                    past_key_values=cache, **kwargs).logits]
    for step in range(split, decoder_input_ids.shape[1]):
        out = model(encoder_outputs=encoder_outputs, decoder_input_ids=decoder_input_ids[:, step:step + 1],
                    past_key_values=cache, **kwargs)
        chunks.append(out.logits)
    return torch.cat(chunks, dim=1)
