"""The CPU fast-path predicate (nn/fastpath.py): both paths on the same input give the same numbers."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from wav2vec2_helpers import NO_DROPOUT, TINY, VARIANT_IDS, VARIANTS, padded_batch

from polymodal import (
    ASTConfig,
    ASTForAudioClassification,
    Wav2Vec2Config,
    Wav2Vec2ForSequenceClassification,
)
from polymodal.nn.fastpath import cpu_fast_paths, use_cpu_fast_path
from polymodal.nn.linear import linear


def test_predicate_steps_aside():
    x, w = torch.randn(2, 3), torch.randn(4, 3)
    assert use_cpu_fast_path(x, w)
    assert not use_cpu_fast_path(x.double(), w.double())  # dtype the kernels lack
    assert not use_cpu_fast_path(x, w.bfloat16())  # mixed dtypes
    assert not use_cpu_fast_path(x, w.requires_grad_())  # autograd needs the result
    with torch.no_grad():
        assert use_cpu_fast_path(x, w)  # ... unless grad mode is off
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert not use_cpu_fast_path(x, w)
        with cpu_fast_paths(False):
            assert not use_cpu_fast_path(x, w)
        assert use_cpu_fast_path(x, w)  # the switch is restored


@pytest.mark.parametrize("gelu", [False, True])
def test_fused_linear_equals_plain(gelu):
    torch.manual_seed(0)
    layer, x = nn.Linear(24, 40), torch.randn(3, 7, 24)
    with torch.no_grad():
        fast = linear(layer, x, gelu=gelu)
        with cpu_fast_paths(False):
            plain = linear(layer, x, gelu=gelu)
    torch.testing.assert_close(fast, plain, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("gelu", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_residual_equals_plain(gelu, dtype):
    torch.manual_seed(0)
    layer, x = nn.Linear(24, 40).to(dtype), torch.randn(3, 7, 24, dtype=dtype)
    residual = torch.randn(3, 7, 40, dtype=dtype)
    with torch.no_grad():
        fast = linear(layer, x, gelu=gelu, residual=residual)
        with cpu_fast_paths(False):
            plain = linear(layer, x, gelu=gelu, residual=residual)
        broadcast = linear(layer, x, residual=residual[:1])  # not the output's shape: a plain add
    tol = 1e-5 if dtype == torch.float32 else 0.07  # bf16: the fused add rounds once, the plain one twice
    torch.testing.assert_close(fast, plain, atol=tol, rtol=tol)
    torch.testing.assert_close(broadcast, linear(layer, x) + residual[:1], atol=tol, rtol=tol)


@pytest.mark.parametrize("stable,norm", VARIANTS, ids=VARIANT_IDS)
def test_wav2vec2_both_paths(stable, norm):
    torch.manual_seed(0)
    config = Wav2Vec2Config(**{**TINY, **NO_DROPOUT, "do_stable_layer_norm": stable, "feat_extract_norm": norm})
    model = Wav2Vec2ForSequenceClassification(config).eval()
    x, mask = padded_batch((4000, 2500, 3200))
    with torch.no_grad():
        fast = model(x, mask if norm == "layer" else None, output_hidden_states=True)
        with cpu_fast_paths(False):
            plain = model(x, mask if norm == "layer" else None, output_hidden_states=True)
    torch.testing.assert_close(fast.logits, plain.logits, atol=1e-5, rtol=1e-5)
    for a, b in zip(fast.hidden_states, plain.hidden_states):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_ast_both_paths():
    torch.manual_seed(0)
    config = ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                       max_length=64, num_mel_bins=32, num_labels=3)
    model = ASTForAudioClassification(config).eval()
    x = torch.randn(2, 64, 32)
    with torch.no_grad():
        fast = model(x).logits
        with cpu_fast_paths(False):
            plain = model(x).logits
    torch.testing.assert_close(fast, plain, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("stable,norm", VARIANTS, ids=VARIANT_IDS)
def test_frozen_feature_encoder_in_training(stable, norm):
    """Training with the conv stack frozen runs torch's convolutions without autograd: the same
    features as the inference path, and nothing kept for backward."""
    torch.manual_seed(0)
    config = Wav2Vec2Config(**{**TINY, **NO_DROPOUT, "do_stable_layer_norm": stable, "feat_extract_norm": norm})
    model = Wav2Vec2ForSequenceClassification(config)
    model.freeze_feature_encoder()
    encoder = model.wav2vec2.feature_extractor
    x, _ = padded_batch((4000, 2500, 3200))
    trained = encoder.train()(x)
    assert trained.grad_fn is None and not trained.requires_grad
    with torch.no_grad():
        expected = encoder.eval()(x)
    torch.testing.assert_close(trained, expected, atol=1e-5, rtol=1e-5)
    loss = model.train()(x, labels=torch.tensor([0, 1, 0])).loss
    loss.backward()
    assert all(p.grad is None for p in encoder.parameters())
    assert model.wav2vec2.feature_projection.projection.weight.grad is not None
