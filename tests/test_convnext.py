"""ConvNeXt and ConvNeXt-V2 (GRN) against Transformers, both save/load directions."""

from __future__ import annotations

import pytest
import torch
from vision_helpers import assert_grads_close, assert_outputs_close, build_hf, load_ours, load_theirs, pixels

import polymodal

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

TINY = {"hidden_sizes": [8, 16, 24], "depths": [1, 2, 1], "num_stages": 3, "patch_size": 2}


def _perturb(model):
    """Non-zero GRN parameters and a large layer scale, so both are really exercised."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "grn" in name or "layer_scale" in name:
                p.copy_(torch.randn(p.shape, generator=generator))
    return model


@pytest.mark.parametrize("prefix", ["ConvNext", "ConvNextV2"])
def test_classifier_matches_transformers(tmp_path, prefix):
    hf = _perturb(build_hf(f"{prefix}ForImageClassification", f"{prefix}Config", num_labels=3, **TINY))
    ours = load_ours(hf, tmp_path)
    x = pixels(3, size=36, height=28)
    with torch.no_grad():
        a, b = ours(x, output_hidden_states=True), hf(x, output_hidden_states=True)
    assert_outputs_close(a, b, ("logits",))
    assert len(a.hidden_states) == len(b.hidden_states)
    assert_outputs_close(a, b, ("hidden_states",))
    assert assert_grads_close(ours, hf, {"pixel_values": x, "labels": torch.tensor([0, 2, 1])}) > 10
    ours.eval()
    theirs = load_theirs(ours, tmp_path / "back")
    with torch.no_grad():
        assert_outputs_close(ours(x), theirs(x))
    assert "layer_scale_init_value" not in (tmp_path / "back" / "config.json").read_text() or prefix == "ConvNext"


@pytest.mark.parametrize("prefix", ["ConvNext", "ConvNextV2"])
def test_base_model_auto_and_drop_path(tmp_path, prefix):
    hf = _perturb(build_hf(f"{prefix}Model", f"{prefix}Config", drop_path_rate=0.3, **TINY))
    ours = load_ours(hf, tmp_path)
    x = pixels(2, size=32)
    with torch.no_grad():
        assert_outputs_close(ours(x), hf(x), ("last_hidden_state", "pooler_output"))
        ours.train()
        torch.manual_seed(0)
        a = ours(x).pooler_output
        torch.manual_seed(0)
        hf.train()
        b = hf(x).pooler_output
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)  # same stochastic-depth draws under one seed
    assert type(polymodal.AutoModel.from_pretrained(tmp_path)).__name__ == f"{prefix}Model"


@pytest.mark.parametrize("name,config", [
    ("ConvNextForImageClassification", polymodal.ConvNextConfig(**TINY, num_labels=2)),
    ("ResNetForImageClassification", polymodal.ResNetConfig(embedding_size=8, hidden_sizes=[8], depths=[1],
                                                            layer_type="basic", num_labels=2)),
    ("MobileNetV2ForImageClassification", polymodal.MobileNetV2Config(depth_multiplier=0.35, num_labels=2)),
    ("BitForImageClassification", polymodal.BitConfig(embedding_size=8, hidden_sizes=[16], depths=[1], num_groups=4,
                                                      num_labels=2)),
    ("DinatForImageClassification", polymodal.DinatConfig(embed_dim=8, depths=[1], num_heads=[2], kernel_size=3,
                                                          dilations=[[1]], num_labels=2)),
])
def test_bfloat16_models_take_float32_pixels(name, config):
    model = getattr(polymodal, name)(config).eval().to(torch.bfloat16)
    with torch.no_grad():
        out = model(pixels(2, size=32))
    assert out.logits.dtype == torch.bfloat16 and torch.isfinite(out.logits.float()).all()
