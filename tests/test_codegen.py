"""CodeGen parity with Transformers: the sharded q/v/k layout, partial interleaved rotary, parallel
residual, loss, both save/load directions, token-exact greedy, beam search and seeded sampling on a
left-padded batch (positions from the mask)."""

import pytest
import torch
import transformers
from generation_helpers import assert_logits_match, assert_same_generation, padded_batch, save_tiny

from polymodal import AutoModelForCausalLM
from polymodal.models.codegen import CodeGenForCausalLM, CodeGenModel


def tiny_config(**overrides):
    values = dict(vocab_size=99, n_embd=32, n_layer=2, n_head=4, rotary_dim=4, n_positions=64, n_ctx=64,
                  bos_token_id=1, eos_token_id=2, pad_token_id=0)
    values.update(overrides)
    return transformers.CodeGenConfig(**values)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    torch.manual_seed(0)
    hf = transformers.CodeGenForCausalLM(tiny_config()).eval()
    path = save_tiny(hf, tmp_path_factory.mktemp("codegen"))
    return hf, AutoModelForCausalLM.from_pretrained(path), path


def test_logits_and_loss_match(pair):
    hf, pm, path = pair
    assert isinstance(pm, CodeGenForCausalLM)
    ids, mask = padded_batch(99, lengths=(7, 7, 4))
    assert_logits_match(hf, pm, ids, mask)
    base = CodeGenModel.from_pretrained(path)
    with torch.no_grad():
        a = hf.transformer(ids, attention_mask=mask).last_hidden_state
        b = base(ids, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(b[mask.bool()], a[mask.bool()], atol=1e-5, rtol=1e-4)


def test_eight_heads_other_rotary_dim(tmp_path):
    torch.manual_seed(0)
    hf = transformers.CodeGenForCausalLM(tiny_config(n_head=8, rotary_dim=2)).eval()
    pm = CodeGenForCausalLM.from_pretrained(save_tiny(hf, tmp_path))
    ids, mask = padded_batch(99)
    assert_logits_match(hf, pm, ids, mask)


def test_polymodal_checkpoint_loads_in_transformers(pair, tmp_path):
    _, pm, _ = pair
    pm.save_pretrained(tmp_path / "pm")
    back = transformers.CodeGenForCausalLM.from_pretrained(tmp_path / "pm").eval()
    ids, mask = padded_batch(99)
    assert_logits_match(back, pm, ids, mask)


@pytest.mark.parametrize("kwargs", [dict(max_new_tokens=10), dict(max_new_tokens=8, num_beams=3),
                                    dict(max_new_tokens=8, do_sample=True, top_k=20)])
def test_generation_left_padded_is_token_exact(pair, kwargs):
    hf, pm, _ = pair
    ids, mask = padded_batch(99)
    assert_same_generation(hf, pm, ids, mask, **kwargs)


def test_head_count_must_fit_the_shard_layout():
    from polymodal.core.errors import ConfigError
    from polymodal.models.codegen import CodeGenConfig

    with pytest.raises(ConfigError, match="multiple of 4"):
        CodeGenConfig(n_embd=36, n_head=6)
