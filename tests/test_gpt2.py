"""GPT-2 parity with Transformers: logits, loss, classification head, both save/load directions,
token-exact greedy generation on a left-padded batch."""

import pytest
import torch
import transformers
from generation_helpers import assert_logits_match, assert_same_generation, padded_batch, save_tiny

from polymodal import AutoModelForCausalLM
from polymodal.models.gpt2 import GPT2ForSequenceClassification, GPT2LMHeadModel, GPT2Model


def tiny_config(**overrides):
    values = dict(vocab_size=99, n_positions=64, n_embd=32, n_layer=2, n_head=4,
                  bos_token_id=98, eos_token_id=98, pad_token_id=0)
    values.update(overrides)
    return transformers.GPT2Config(**values)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(tiny_config()).eval()
    path = save_tiny(hf, tmp_path_factory.mktemp("gpt2"))
    return hf, GPT2LMHeadModel.from_pretrained(path), path


def test_logits_and_loss_match_on_padded_batch(pair):
    hf, pm, _ = pair
    ids, mask = padded_batch(99)
    assert_logits_match(hf, pm, ids, mask)


def test_tied_head_loads_from_checkpoint_without_lm_head(pair):
    _, pm, _ = pair
    assert pm.lm_head.weight is pm.transformer.wte.weight


def test_base_model_and_hidden_states(pair):
    hf, _, path = pair
    base = GPT2Model.from_pretrained(path)
    ids, mask = padded_batch(99, lengths=(6, 6))
    with torch.no_grad():
        a = hf.transformer(ids, attention_mask=mask, output_hidden_states=True)
        b = base(ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)
    torch.testing.assert_close(b.last_hidden_state, a.last_hidden_state, atol=1e-5, rtol=1e-4)
    assert len(b.hidden_states) == len(a.hidden_states) == 3
    assert b.attentions[0].shape == (2, 4, 6, 6)


def test_training_mode_gradients_match(pair):
    hf, pm, _ = pair
    ids, _ = padded_batch(99, lengths=(6, 6))
    hf.train(), pm.train()
    for model in (hf, pm):
        model.config.attn_pdrop = model.config.resid_pdrop = model.config.embd_pdrop = 0.0
    try:
        for m in list(hf.modules()) + list(pm.modules()):
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
        hf.zero_grad(), pm.zero_grad()
        hf(ids, labels=ids).loss.backward()
        pm(ids, labels=ids).loss.backward()
        torch.testing.assert_close(pm.transformer.h[0].attn.c_attn.weight.grad,
                                   hf.transformer.h[0].attn.c_attn.weight.grad, atol=1e-5, rtol=1e-4)
    finally:
        hf.eval(), pm.eval()


def test_polymodal_checkpoint_loads_in_transformers(pair, tmp_path):
    hf, pm, _ = pair
    pm.save_pretrained(tmp_path / "pm")
    back = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "pm").eval()
    ids, mask = padded_batch(99)
    assert_logits_match(back, pm, ids, mask)
    assert (tmp_path / "pm" / "generation_config.json").exists()


def test_greedy_generation_left_padded_is_token_exact(pair):
    hf, pm, _ = pair
    ids, mask = padded_batch(99)
    assert_same_generation(hf, pm, ids, mask, max_new_tokens=12)


def test_auto_model_for_causal_lm(pair):
    _, _, path = pair
    assert isinstance(AutoModelForCausalLM.from_pretrained(path), GPT2LMHeadModel)


def test_sequence_classification_matches(tmp_path):
    torch.manual_seed(0)
    hf = transformers.GPT2ForSequenceClassification(tiny_config(num_labels=3)).eval()
    pm = GPT2ForSequenceClassification.from_pretrained(save_tiny(hf, tmp_path))
    ids, mask = padded_batch(99)
    labels = torch.tensor([0, 2, 1])
    with torch.no_grad():
        a = hf(ids, attention_mask=mask, labels=labels)
        b = pm(ids, attention_mask=mask, labels=labels)
    torch.testing.assert_close(b.logits, a.logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(b.loss, a.loss, atol=1e-5, rtol=1e-4)


def test_positions_past_context_are_a_clear_error(pair):
    _, pm, _ = pair
    with pytest.raises(ValueError, match="n_positions"):
        pm(torch.ones(1, 65, dtype=torch.long))
    with pytest.raises(ValueError, match="max_position_embeddings"):
        pm.generate(torch.ones(1, 60, dtype=torch.long), max_new_tokens=10)
