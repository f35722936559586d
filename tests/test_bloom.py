"""BLOOM parity with Transformers: ALiBi (power-of-two and other head counts) under left padding,
the post-norm residual variant, loss, both save/load directions, token-exact greedy, beam search
and seeded sampling on a left-padded batch, the sequence-classification head."""

import pytest
import torch
import transformers
from generation_helpers import assert_logits_match, assert_same_generation, padded_batch, save_tiny

from polymodal import AutoModelForCausalLM
from polymodal.models.bloom import BloomConfig, BloomForCausalLM, BloomForSequenceClassification
from polymodal.nn.alibi import alibi_slopes


def tiny_config(**overrides):
    values = dict(vocab_size=99, hidden_size=32, n_layer=2, n_head=4, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    values.update(overrides)
    return transformers.BloomConfig(**values)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    torch.manual_seed(0)
    hf = transformers.BloomForCausalLM(tiny_config()).eval()
    path = save_tiny(hf, tmp_path_factory.mktemp("bloom"))
    return hf, AutoModelForCausalLM.from_pretrained(path), path


def test_alibi_slopes_match_transformers():
    from transformers.models.bloom.modeling_bloom import _get_alibi_slopes

    for heads in (1, 4, 6, 12, 16):
        torch.testing.assert_close(alibi_slopes(heads), _get_alibi_slopes(heads, torch.device("cpu")))


def test_logits_and_loss_match(pair):
    hf, pm, _ = pair
    assert isinstance(pm, BloomForCausalLM) and pm.lm_head.weight is pm.transformer.word_embeddings.weight
    ids, mask = padded_batch(99, lengths=(7, 7, 4))
    assert_logits_match(hf, pm, ids, mask)


def test_six_heads_and_post_norm_residual(tmp_path):
    torch.manual_seed(0)
    hf = transformers.BloomForCausalLM(tiny_config(hidden_size=36, n_head=6,
                                                   apply_residual_connection_post_layernorm=True)).eval()
    pm = BloomForCausalLM.from_pretrained(save_tiny(hf, tmp_path))
    ids, mask = padded_batch(99)
    assert_logits_match(hf, pm, ids, mask)
    assert_same_generation(hf, pm, ids, mask, max_new_tokens=6)


def test_polymodal_checkpoint_loads_in_transformers(pair, tmp_path):
    _, pm, _ = pair
    pm.save_pretrained(tmp_path / "pm")
    back = transformers.BloomForCausalLM.from_pretrained(tmp_path / "pm").eval()
    ids, mask = padded_batch(99)
    assert_logits_match(back, pm, ids, mask)


@pytest.mark.parametrize("kwargs", [dict(max_new_tokens=10), dict(max_new_tokens=8, num_beams=3),
                                    dict(max_new_tokens=8, do_sample=True, top_k=20)])
def test_generation_left_padded_is_token_exact(pair, kwargs):
    hf, pm, _ = pair
    ids, mask = padded_batch(99)
    assert_same_generation(hf, pm, ids, mask, **kwargs)


def test_sequence_classification(tmp_path):
    torch.manual_seed(0)
    hf = transformers.BloomForSequenceClassification(tiny_config(num_labels=3)).eval()
    pm = BloomForSequenceClassification.from_pretrained(save_tiny(hf, tmp_path))
    ids, mask = padded_batch(99)
    with torch.no_grad():
        torch.testing.assert_close(pm(ids, attention_mask=mask).logits, hf(ids, attention_mask=mask).logits,
                                   atol=1e-5, rtol=1e-4)


def test_legacy_n_embed_name():
    assert BloomConfig(n_embed=48, n_head=4).hidden_size == 48
