"""Memory savings in training that must not change any number: the compact dropout mask, attention
with dropout and the MLP's hidden layer kept compactly for backward, and Adam's state created
before the first forward."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from polymodal.nn.dropout import Dropout, dropout


@pytest.mark.parametrize("p", [0.1, 0.5])
@pytest.mark.parametrize("shape", [(4, 149, 64), (7, 13), (5,)])
def test_dropout_is_bitwise_nn_dropout(p, shape):
    x = torch.randn(*shape, requires_grad=True)
    grad = torch.randn(*shape)
    results = []
    for layer in (torch.nn.Dropout(p), Dropout(p)):
        torch.manual_seed(3)
        out = layer.train()(x)
        out.backward(grad)
        results.append((out.detach(), x.grad.clone(), torch.rand(4)))  # the random stream after it too
        x.grad = None
    for ours, theirs in zip(*results):
        assert torch.equal(ours, theirs)


@pytest.mark.parametrize("p", [0.1, 0.37])
@pytest.mark.parametrize("shape", [(4, 12, 19, 19), (3, 1001)])
def test_keep_mask_is_the_float_draw_as_bools(p, shape):
    from polymodal.nn.dropout import apply_keep, keep_mask, kept_value

    x = torch.randn(*shape)
    x.view(-1)[:3] = torch.tensor([-1.0, float("inf"), float("nan")])
    torch.manual_seed(11)
    noise = torch.empty_like(x).bernoulli_(1 - p)  # what F.dropout draws on CPU
    noise.div_(1 - p)
    theirs, after = x * noise, torch.rand(3)
    torch.manual_seed(11)
    keep = keep_mask(x, p)
    ours = apply_keep(x, keep, kept_value(x, p))
    assert keep.dtype == torch.bool and torch.equal(keep, noise != 0) and torch.equal(torch.rand(3), after)
    # bit for bit, signed zeros and NaN included
    assert torch.equal(ours.view(torch.int32), theirs.view(torch.int32))


def test_dropout_saves_a_one_byte_mask():
    x = torch.randn(8, 32, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        dropout(x, 0.1, True)
    assert [t.dtype for t in saved] == [torch.bool]


def test_dropout_eval_and_no_grad_are_plain():
    x = torch.randn(6, 6)
    layer = Dropout(0.3)
    assert torch.equal(layer.eval()(x), x)
    with torch.no_grad():
        torch.manual_seed(0)
        ours = layer.train()(x)
        torch.manual_seed(0)
        assert torch.equal(ours, torch.nn.functional.dropout(x, 0.3, True))
    assert Dropout(0.2).state_dict() == {} and isinstance(Dropout(0.2), torch.nn.Dropout)


def _saved_bytes(fn) -> int:
    sizes = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: sizes.append(t.numel() * t.element_size()) or t,
                                                  lambda t: t):
        fn()
    return sum(sizes)


@pytest.mark.parametrize("masked", [False, True])
def test_dropout_attention_equals_sdpa(masked):
    from polymodal.nn.attention import attention

    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 9, 8, requires_grad=True) for _ in range(3))
    mask = None
    if masked:
        mask = torch.zeros(2, 1, 1, 9).masked_fill(torch.arange(9) > 6, torch.finfo(torch.float32).min)
    grad = torch.randn(2, 3, 9, 8)
    results = []
    for ours in (True, False):
        torch.manual_seed(5)
        out = attention(q, k, v, mask, dropout=0.3)[0] if ours else \
            F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.3)
        out.backward(grad)
        results.append((out.detach(), q.grad, k.grad, v.grad, torch.rand(4)))  # and the random stream after
        q.grad = k.grad = v.grad = None
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=2e-6, rtol=1e-5)
    ours = _saved_bytes(lambda: attention(q, k, v, mask, dropout=0.3))
    theirs = _saved_bytes(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.3))
    assert ours < theirs


@pytest.mark.parametrize("p", [0.0, 0.3])
def test_mlp_hidden_layer_recomputed_with_the_same_numbers(p):
    from polymodal import Wav2Vec2Config
    from polymodal.models.wav2vec2.modeling import Wav2Vec2FeedForward
    from polymodal.nn import gelu_dropout_linear

    torch.manual_seed(0)
    config = Wav2Vec2Config(hidden_size=16, num_attention_heads=4, intermediate_size=40, activation_dropout=p)
    ffn = Wav2Vec2FeedForward(config).train()
    x = torch.randn(2, 5, 16, requires_grad=True)
    grad = torch.randn(2, 5, 16)
    results, saved = [], []
    for compact in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            if not compact:
                patch.setattr(gelu_dropout_linear, "applies", lambda *args: False)
            torch.manual_seed(3)
            out = ffn(x)
            out.backward(grad)
            results.append((out.detach(), x.grad, ffn.intermediate_dense.weight.grad, ffn.output_dense.weight.grad,
                            ffn.output_dense.bias.grad, torch.rand(4)))
            x.grad = None
            ffn.zero_grad()
            saved.append(_saved_bytes(lambda: ffn(x)))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
    assert saved[0] < saved[1]


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("cls,weight_decay", [(torch.optim.AdamW, 0.01), (torch.optim.Adam, 0.0)])
def test_primed_adam_state_gives_the_same_updates(cls, weight_decay, fused):
    from polymodal.train.optimizer_state import prime_adam_state

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Linear(7, 3))
    results = []
    for primed in (True, False):
        copy_ = copy.deepcopy(model)
        optimizer = cls(copy_.parameters(), lr=1e-2, weight_decay=weight_decay, fused=fused)
        if primed:
            before = [p.detach().clone() for p in copy_.parameters()]
            assert prime_adam_state(optimizer) and len(optimizer.state) == 4
            assert all(torch.equal(a, b) for a, b in zip(before, copy_.parameters()))
            assert all(p.grad is None for p in copy_.parameters())
        for i in range(3):
            torch.manual_seed(i)
            copy_(torch.randn(4, 5)).square().sum().backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        results.append([p.detach() for p in copy_.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*results))


def test_priming_leaves_other_optimizers_alone():
    from polymodal.train.optimizer_state import prime_adam_state

    layer = torch.nn.Linear(3, 2)
    assert not prime_adam_state(torch.optim.SGD(layer.parameters(), lr=0.1))
    assert not prime_adam_state(torch.optim.Adam(layer.parameters(), lr=0.1, weight_decay=0.1))  # L2 in the moments
    optimizer = torch.optim.AdamW(layer.parameters(), lr=0.1)
    assert prime_adam_state(optimizer) and not prime_adam_state(optimizer)  # once: a state exists
