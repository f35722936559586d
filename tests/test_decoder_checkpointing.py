"""Activation checkpointing in the decoder LMs (nn.decoder.run_block): same loss and gradients."""

from __future__ import annotations

import pytest
import torch

import polymodal

TINY = {
    "gpt2": ("GPT2Config", "GPT2LMHeadModel", dict(n_embd=16, n_layer=2, n_head=2, n_positions=32)),
    "bloom": ("BloomConfig", "BloomForCausalLM", dict(hidden_size=16, n_layer=2, n_head=2)),
    "ctrl": ("CTRLConfig", "CTRLLMHeadModel", dict(n_embd=16, n_layer=2, n_head=2, dff=32, n_positions=32)),
    "codegen": ("CodeGenConfig", "CodeGenForCausalLM", dict(n_embd=16, n_layer=2, n_head=4, rotary_dim=4,
                                                           n_positions=32)),
}


@pytest.mark.parametrize("family", sorted(TINY))
def test_checkpointed_training_step_equals_plain(family):
    config_name, model_name, kwargs = TINY[family]
    config = getattr(polymodal, config_name)(vocab_size=50, **kwargs)
    torch.manual_seed(0)
    model = getattr(polymodal, model_name)(config)
    ids = torch.randint(0, 50, (2, 9))

    def step():
        model.zero_grad()
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    model.train()
    model.config.attn_pdrop = model.config.resid_pdrop = 0.0  # make the two runs comparable
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    plain_loss, plain_grads = step()
    model.gradient_checkpointing_enable()
    assert model.is_gradient_checkpointing
    loss, grads = step()
    torch.testing.assert_close(loss, plain_loss)
    for a, b in zip(grads, plain_grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
