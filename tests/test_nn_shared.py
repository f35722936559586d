"""Shared kernels in ``polymodal.nn`` against Transformers' own copies."""

import torch
from transformers.models.beit.modeling_beit import BeitDropPath

from polymodal.nn.drop_path import DropPath, drop_path
from polymodal.nn.losses import contrastive_loss, symmetric_contrastive_loss


def test_drop_path_draws_the_same_mask_as_transformers_under_a_seed():
    x = torch.randn(8, 5, 3)
    torch.manual_seed(0)
    ours = drop_path(x, 0.3, training=True)
    torch.manual_seed(0)
    theirs = BeitDropPath(0.3).train()(x)
    torch.testing.assert_close(ours, theirs)
    assert torch.equal(DropPath(0.3).eval()(x), x)


def test_symmetric_contrastive_loss_is_the_mean_of_both_directions():
    logits = torch.randn(4, 4)
    expected = (contrastive_loss(logits) + contrastive_loss(logits.t())) / 2
    torch.testing.assert_close(symmetric_contrastive_loss(logits), expected)
    smoothed = symmetric_contrastive_loss(logits, label_smoothing=0.1)
    assert not torch.allclose(smoothed, expected)
