"""Memory savings in training that must not change any number: the compact dropout mask."""

from __future__ import annotations

import pytest
import torch

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
