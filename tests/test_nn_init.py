"""The shared weight initialisers (``nn/init.py``) that the families' ``_init_weights`` call: what
each one sets, and that it draws exactly what the per-family code it replaced drew (one draw per
weight, in the order ``Module.apply`` visits modules), so seeded fresh models stay bit-identical."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from polymodal.nn.init import init_dense_and_norm, init_he_conv, init_norm


class _RMSNorm(nn.Module):  # weight only, as Llama's
    def __init__(self, width):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(width))


def _tree():
    return nn.Sequential(nn.Embedding(7, 4, padding_idx=2), nn.Linear(4, 6), nn.LayerNorm(6),
                         nn.Sequential(nn.Linear(6, 3, bias=False), _RMSNorm(3)),
                         nn.LayerNorm(3, elementwise_affine=False), nn.Conv1d(3, 5, 3), nn.BatchNorm1d(5))


def _written_out(module, std=0.02):
    """The per-family code the shared initialiser replaced (BERT's / Llama's, written out)."""
    if isinstance(module, nn.Linear):
        module.weight.data.normal_(0.0, std)
        if module.bias is not None:
            module.bias.data.zero_()
    elif isinstance(module, nn.Embedding):
        module.weight.data.normal_(0.0, std)
        if module.padding_idx is not None:
            module.weight.data[module.padding_idx].zero_()
    elif isinstance(module, (nn.LayerNorm, _RMSNorm)):
        if module.weight is not None:
            module.weight.data.fill_(1.0)
        if getattr(module, "bias", None) is not None:
            module.bias.data.zero_()


def _states(seed, fn):
    torch.manual_seed(seed)
    tree = _tree()
    tree.apply(fn)
    return tree.state_dict()


def test_same_draws_as_the_family_code_it_replaced():
    ours = _states(0, lambda m: init_dense_and_norm(m, 0.02, norms=(nn.LayerNorm, _RMSNorm), embeddings=True))
    reference = _states(0, _written_out)
    assert ours.keys() == reference.keys()
    for key in ours:
        assert torch.equal(ours[key], reference[key]), key


def test_what_each_module_gets():
    torch.manual_seed(0)
    tree = _tree()
    handled = [init_dense_and_norm(m, 0.5, norms=(nn.LayerNorm, _RMSNorm), embeddings=True) for m in tree]
    # Embedding, Linear, LayerNorm are handled; a container, a non-affine norm (still a norm), the
    # Conv1d and the BatchNorm1d are not in the default dense / norms sets
    assert handled == [True, True, True, False, True, False, False]
    embedding, linear, norm = tree[0], tree[1], tree[2]
    assert not embedding.weight[2].any() and embedding.weight[3].abs().sum() > 0
    assert not linear.bias.any() and 0.3 < float(linear.weight.detach().std()) < 0.8
    assert bool((norm.weight == 1).all()) and not norm.bias.any()
    assert init_dense_and_norm(tree[3][1], 0.5, norms=(_RMSNorm,)) and bool((tree[3][1].weight == 1).all())
    assert not init_dense_and_norm(tree[0], 0.5)  # embeddings only when asked for


def test_batch_norm_forgets_its_statistics_and_he_conv():
    norm = nn.BatchNorm1d(3)
    norm.running_mean.fill_(2.0)
    norm.num_batches_tracked.fill_(7)
    with torch.no_grad():
        norm.weight.fill_(3.0)
    init_norm(norm)
    assert bool((norm.weight == 1).all()) and not norm.running_mean.any() and int(norm.num_batches_tracked) == 0
    assert bool((norm.running_var == 1).all())
    conv = nn.Conv1d(3, 5, 3)
    torch.manual_seed(1)
    init_he_conv(conv)
    expected = torch.empty_like(conv.weight)
    torch.manual_seed(1)
    nn.init.kaiming_normal_(expected)
    assert torch.equal(conv.weight, expected) and not conv.bias.any()


@pytest.mark.parametrize("truncated", [False, True])
def test_dense_accepts_other_classes_and_truncation(truncated):
    conv = nn.Conv1d(2, 2, 1)
    assert not init_dense_and_norm(conv, 3.0, truncated=truncated)
    assert init_dense_and_norm(conv, 3.0, truncated=truncated, dense=(nn.Conv1d,))
    assert not conv.bias.any()
    if truncated:  # torch's trunc_normal_ cuts at ±2 absolute
        assert float(conv.weight.abs().max()) <= 2.0
