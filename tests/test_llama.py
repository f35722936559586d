"""Llama parity with Transformers: GQA, RMSNorm, every RoPE scaling type, loss, both save/load
directions, token-exact greedy and beam search on a left-padded batch."""

import pytest
import torch
import transformers
from generation_helpers import assert_logits_match, assert_same_generation, padded_batch, save_tiny

from polymodal import AutoModelForCausalLM
from polymodal.models.llama import LlamaForCausalLM, LlamaForSequenceClassification, LlamaModel


def tiny_config(**overrides):
    values = dict(vocab_size=99, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=64, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    values.update(overrides)
    return transformers.LlamaConfig(**values)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    torch.manual_seed(0)
    hf = transformers.LlamaForCausalLM(tiny_config()).eval()
    path = save_tiny(hf, tmp_path_factory.mktemp("llama"))
    return hf, LlamaForCausalLM.from_pretrained(path), path


def test_logits_and_loss_match(pair):
    hf, pm, _ = pair
    ids, mask = padded_batch(99, lengths=(7, 7, 4))
    assert_logits_match(hf, pm, ids, mask)


@pytest.mark.parametrize("rope", [
    {"rope_type": "linear", "factor": 2.0},
    {"rope_type": "dynamic", "factor": 2.0},
    {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16},
    {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
     "original_max_position_embeddings": 16},
])
def test_rope_scaling_types(tmp_path, rope):
    torch.manual_seed(0)
    hf = transformers.LlamaForCausalLM(tiny_config(rope_scaling=rope, rope_theta=500.0, max_position_embeddings=8,
                                                   num_key_value_heads=1)).eval()
    pm = LlamaForCausalLM.from_pretrained(save_tiny(hf, tmp_path))
    ids, mask = padded_batch(99, lengths=(12, 12))  # longer than max_position_embeddings: dynamic NTK kicks in
    assert_logits_match(hf, pm, ids, mask)


def test_legacy_rope_scaling_config_and_round_trip(tmp_path):
    from polymodal.models.llama import LlamaConfig

    config = LlamaConfig(rope_scaling={"type": "linear", "factor": 2.0}, rope_theta=1e4, hidden_size=32,
                         num_attention_heads=4)
    assert config.rope_parameters == {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4}
    config.save_pretrained(tmp_path)
    theirs = transformers.LlamaConfig.from_pretrained(tmp_path)
    assert theirs.rope_parameters["rope_type"] == "linear" and theirs.rope_parameters["factor"] == 2.0


def test_polymodal_checkpoint_loads_in_transformers(pair, tmp_path):
    hf, pm, _ = pair
    pm.save_pretrained(tmp_path / "pm")
    back = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "pm").eval()
    ids, mask = padded_batch(99)
    assert_logits_match(back, pm, ids, mask)


@pytest.mark.parametrize("kwargs", [dict(max_new_tokens=10), dict(max_new_tokens=8, num_beams=3),
                                    dict(max_new_tokens=8, do_sample=True, top_p=0.9)])
def test_generation_left_padded_is_token_exact(pair, kwargs):
    hf, pm, _ = pair
    ids, mask = padded_batch(99)
    assert_same_generation(hf, pm, ids, mask, **kwargs)


def test_tied_embeddings_and_base_model(tmp_path):
    torch.manual_seed(0)
    hf = transformers.LlamaForCausalLM(tiny_config(tie_word_embeddings=True)).eval()
    path = save_tiny(hf, tmp_path)
    pm = AutoModelForCausalLM.from_pretrained(path)
    assert isinstance(pm, LlamaForCausalLM) and pm.lm_head.weight is pm.model.embed_tokens.weight
    ids, mask = padded_batch(99)
    assert_logits_match(hf, pm, ids, mask)
    base = LlamaModel.from_pretrained(path)
    with torch.no_grad():
        a = hf.model(ids, attention_mask=mask).last_hidden_state
        b = base(ids, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(b[mask.bool()], a[mask.bool()], atol=1e-5, rtol=1e-4)


def test_attention_weights_with_gqa(pair):
    hf, pm, _ = pair
    ids = torch.randint(3, 99, (2, 5))
    hf.config._attn_implementation = "eager"
    try:
        with torch.no_grad():
            a = hf(ids, output_attentions=True).attentions
            b = pm(ids, output_attentions=True).attentions
    finally:
        hf.config._attn_implementation = "sdpa"
    torch.testing.assert_close(b[1], a[1], atol=1e-5, rtol=1e-4)


def test_sequence_classification(tmp_path):
    torch.manual_seed(0)
    hf = transformers.LlamaForSequenceClassification(tiny_config(num_labels=3)).eval()
    pm = LlamaForSequenceClassification.from_pretrained(save_tiny(hf, tmp_path))
    ids, mask = padded_batch(99)
    with torch.no_grad():
        torch.testing.assert_close(pm(ids, attention_mask=mask).logits, hf(ids, attention_mask=mask).logits,
                                   atol=1e-5, rtol=1e-4)


def test_bf16_generation_runs(pair):
    _, pm, _ = pair
    model = LlamaForCausalLM(pm.config).to(torch.bfloat16).eval()
    out = model.generate(torch.tensor([[1, 5, 6]]), max_new_tokens=4)
    assert out.shape == (1, 7)
