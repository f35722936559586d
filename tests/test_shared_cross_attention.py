"""Beam search shares each input's cross-attention keys/values across its beams (nn.attention)."""

from __future__ import annotations

import pytest
import torch

from polymodal.nn.attention import attention, padding_mask

transformers = pytest.importorskip("transformers")


@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
def test_shared_keys_equal_repeated_keys(weights, with_mask):
    torch.manual_seed(0)
    group, inputs, heads, queries, keys, dim = 3, 2, 4, 2, 7, 8
    query = torch.randn(inputs * group, heads, queries, dim)
    key, value = torch.randn(inputs, heads, keys, dim), torch.randn(inputs, heads, keys, dim)
    mask = None
    if with_mask:
        keep = torch.ones(inputs, keys, dtype=torch.long)
        keep[1, 5:] = 0
        mask = padding_mask(keep.repeat_interleave(group, 0), query.dtype)  # as generate() repeats it
    shared = attention(query, key, value, mask, output_attentions=weights)
    repeated = attention(query, key.repeat_interleave(group, 0), value.repeat_interleave(group, 0), mask,
                         output_attentions=weights)
    torch.testing.assert_close(shared[0], repeated[0], atol=1e-6, rtol=1e-5)
    if weights:
        torch.testing.assert_close(shared[1], repeated[1], atol=1e-6, rtol=1e-5)


def test_beam_search_stores_one_cross_row_per_input(tmp_path):
    from polymodal import T5ForConditionalGeneration

    config = transformers.T5Config(vocab_size=99, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                   decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    torch.manual_seed(0)
    theirs = transformers.T5ForConditionalGeneration(config).eval()
    theirs.save_pretrained(tmp_path)
    ours = T5ForConditionalGeneration.from_pretrained(tmp_path)
    ids = torch.randint(2, 99, (2, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    out = ours.generate(ids, attention_mask=mask, num_beams=3, max_new_tokens=6, min_new_tokens=6,
                        return_dict_in_generate=True)
    keys = out.past_key_values.cross_attention_cache[0][0]
    assert keys.shape[0] == 2  # one row per input, not per beam
    assert torch.equal(out.sequences, theirs.generate(ids, attention_mask=mask, num_beams=3, max_new_tokens=6,
                                                      min_new_tokens=6))
