"""DiNAT. Transformers' DiNAT needs the NATTEN extension, which is not installed here (and has no
build for this torch), so the neighbourhood-attention kernels are checked against a brute-force
reference written from NATTEN's definition (its window-start / bias-start rules, one query pixel
at a time); the rest of the model is checked against Transformers' own modules with NATTEN's two
functions replaced by that reference.

Transformers 5.23 hands NATTEN its queries/keys/values as (B, W, H, heads, D) — a ``transpose(1, 2)``
where 4.x permuted the heads first — which NATTEN would read as (B, heads, H, W, D). The fixture's
wrappers put the tensors back in NATTEN's layout, i.e. they test against the 4.x maths, which is
what polymodal implements."""

from __future__ import annotations

import pytest
import torch
from vision_helpers import assert_grads_close, assert_outputs_close, load_ours, load_theirs, pixels

import polymodal
from polymodal.models.dinat.neighborhood_attention import neighborhood_context, neighborhood_scores

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()


# ----------------------------------------------------------------------------- brute-force reference
def _window_start(index: int, length: int, kernel: int, dilation: int) -> int:
    half = kernel // 2
    if dilation <= 1:
        return max(index - half, 0) + (index + half >= length) * (length - index - half - 1)
    if index - half * dilation < 0:
        return index % dilation
    if index + half * dilation >= length:
        imodd, a = index % dilation, (length // dilation) * dilation
        b = length - a
        return length - b + imodd - 2 * half * dilation if imodd < b else a + imodd - kernel * dilation
    return index - half * dilation


def _bias_start(index: int, length: int, kernel: int, dilation: int) -> int:
    half = kernel // 2
    if dilation <= 1:
        return half + (index < half) * (half - index) + (index + half >= length) * (length - index - 1 - half)
    if index - half * dilation < 0:
        return kernel - 1 - index // dilation
    if index + half * dilation >= length:
        return (length - index - 1) // dilation
    return half


def reference_qk_rpb(query, key, rpb, kernel, dilation):
    batch, heads, height, width, _ = query.shape
    out = query.new_zeros(batch, heads, height, width, kernel * kernel)
    for i in range(height):
        si, bi = _window_start(i, height, kernel, dilation), _bias_start(i, height, kernel, dilation)
        for j in range(width):
            sj, bj = _window_start(j, width, kernel, dilation), _bias_start(j, width, kernel, dilation)
            for a in range(kernel):
                for b in range(kernel):
                    k = key[:, :, si + a * dilation, sj + b * dilation]
                    out[:, :, i, j, a * kernel + b] = (query[:, :, i, j] * k).sum(-1) + rpb[:, bi + a, bj + b]
    return out


def reference_av(weights, value, kernel, dilation):
    batch, heads, height, width, dim = value.shape
    out = value.new_zeros(batch, heads, height, width, dim)
    for i in range(height):
        si = _window_start(i, height, kernel, dilation)
        for j in range(width):
            sj = _window_start(j, width, kernel, dilation)
            for a in range(kernel):
                for b in range(kernel):
                    w = weights[:, :, i, j, a * kernel + b, None]
                    out[:, :, i, j] += w * value[:, :, si + a * dilation, sj + b * dilation]
    return out


@pytest.mark.parametrize("height,width,kernel,dilation", [(7, 9, 3, 1), (9, 8, 3, 2), (13, 11, 3, 3), (10, 10, 5, 2),
                                                          (5, 5, 5, 1)])
def test_neighborhood_attention_matches_reference(height, width, kernel, dilation):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, height, width, 4, generator=g) for _ in range(3))
    rpb = torch.randn(3, 2 * kernel - 1, 2 * kernel - 1, generator=g)
    scores = neighborhood_scores(q, k, rpb, kernel, dilation)
    torch.testing.assert_close(scores, reference_qk_rpb(q, k, rpb, kernel, dilation), atol=1e-5, rtol=1e-5)
    weights = scores.softmax(-1)
    torch.testing.assert_close(neighborhood_context(weights, v, kernel, dilation),
                               reference_av(weights, v, kernel, dilation), atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------- whole model
TINY = {"embed_dim": 8, "depths": [2, 1], "num_heads": [2, 4], "kernel_size": 3, "dilations": [[1, 2], [1]],
        "mlp_ratio": 2.0, "drop_path_rate": 0.0}


@pytest.fixture
def hf_dinat(monkeypatch):
    """Transformers' DiNAT modules with NATTEN's functions replaced by the reference above."""
    module = pytest.importorskip("transformers.models.dinat.modeling_dinat")
    def natten_layout(x):  # (B, W, H, heads, D) as Transformers 5.23 passes it → (B, heads, H, W, D)
        return x.permute(0, 3, 2, 1, 4)

    monkeypatch.setattr(module, "natten2dqkrpb", lambda q, k, rpb, kernel, dilation: reference_qk_rpb(
        natten_layout(q), natten_layout(k), rpb, kernel, dilation))
    monkeypatch.setattr(module, "natten2dav", lambda w, v, kernel, dilation: reference_av(
        w, natten_layout(v), kernel, dilation))
    monkeypatch.setattr(module, "requires_backends", lambda *args, **kwargs: None)

    def build(name, seed=0, **config):
        torch.manual_seed(seed)
        model = getattr(module, name)(transformers.DinatConfig(**config)).eval()
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n.endswith("rpb") or "layer_scale" in n:
                    p.normal_(0, 0.5)
        return model
    return build


@pytest.mark.parametrize("overrides", [{}, {"layer_scale_init_value": 0.5}])
def test_classifier_matches_transformers(tmp_path, hf_dinat, overrides):
    hf = hf_dinat("DinatForImageClassification", num_labels=3, **TINY, **overrides)
    ours = load_ours(hf, tmp_path)
    x = pixels(2, size=40, height=36)  # 10x9 then 5x5 maps; the second stage's 3x3 window pads nothing
    with torch.no_grad():
        assert_outputs_close(ours(x, output_hidden_states=True, output_attentions=True),
                             hf(x, output_hidden_states=True, output_attentions=True),
                             ("logits", "hidden_states", "attentions", "reshaped_hidden_states"))
        small = pixels(1, size=16)  # 4x4 map < dilated window 3*2: zero-padded like the reference
        assert_outputs_close(ours(small), hf(small))
    assert assert_grads_close(ours, hf, {"pixel_values": x, "labels": torch.tensor([0, 2])}) >= 4
    ours.eval()
    theirs = load_theirs(ours, tmp_path / "back")
    with torch.no_grad():
        assert_outputs_close(ours(x), theirs(x))


def test_auto_and_config_errors(tmp_path):
    torch.manual_seed(0)
    model = polymodal.DinatForImageClassification(polymodal.DinatConfig(num_labels=2, **TINY))
    model.save_pretrained(tmp_path)
    assert type(polymodal.AutoModelForImageClassification.from_pretrained(tmp_path)) is type(model)
    with pytest.raises(polymodal.core.errors.ConfigError, match="one dilation per layer"):
        polymodal.DinatConfig(depths=[2], num_heads=[2], dilations=[[1]])
