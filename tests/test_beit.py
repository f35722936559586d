"""BEiT and Data2Vec-Vision (relative position bias, layer scale, mean pooling, MIM head)
against Transformers, both save/load directions."""

from __future__ import annotations

import pytest
import torch
from vision_helpers import assert_grads_close, assert_outputs_close, build_hf, load_ours, load_theirs, pixels

import polymodal

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37,
        "image_size": 32, "patch_size": 8, "drop_path_rate": 0.0, "vocab_size": 50}
VARIANTS = [
    {"use_relative_position_bias": True, "use_mean_pooling": True, "layer_scale_init_value": 0.1},
    {"use_shared_relative_position_bias": True, "use_absolute_position_embeddings": True,
     "use_mean_pooling": False, "layer_scale_init_value": 0.0},
]


def _perturb(model):
    """Random bias tables, positions and layer scales (they start at 0 / a constant)."""
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if any(k in name for k in ("relative_position_bias_table", "lambda_", "position_embeddings", "cls_token")):
                p.copy_(torch.randn(p.shape, generator=generator) * 0.5)
    return model


@pytest.mark.parametrize("prefix", ["Beit", "Data2VecVision"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_classifier_matches_transformers(tmp_path, prefix, variant):
    config = {**TINY, **variant}
    if prefix == "Data2VecVision":
        config.pop("vocab_size")
    hf = _perturb(build_hf(f"{prefix}ForImageClassification", f"{prefix}Config", num_labels=3, **config))
    ours = load_ours(hf, tmp_path)
    x = pixels(3)
    with torch.no_grad():
        assert_outputs_close(ours(x, output_hidden_states=True, output_attentions=True),
                             hf(x, output_hidden_states=True, output_attentions=True),
                             ("logits", "hidden_states", "attentions"))
        big = pixels(2, size=48, height=40)  # another grid: positions and bias tables are resized
        assert_outputs_close(ours(big, interpolate_pos_encoding=True), hf(big, interpolate_pos_encoding=True))
    assert assert_grads_close(ours, hf, {"pixel_values": x, "labels": torch.tensor([0, 2, 1])}) >= 4
    ours.eval()
    theirs = load_theirs(ours, tmp_path / "back")
    with torch.no_grad():
        assert_outputs_close(ours(x), theirs(x))


def test_masked_image_modeling(tmp_path):
    hf = _perturb(build_hf("BeitForMaskedImageModeling", "BeitConfig", use_mask_token=True,
                           use_relative_position_bias=True, **TINY))
    ours = load_ours(hf, tmp_path)
    x = pixels(2)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[:, ::4] = True
    labels = torch.randint(0, 50, (int(mask.sum()),), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert_outputs_close(ours(x, bool_masked_pos=mask, labels=labels), hf(x, bool_masked_pos=mask, labels=labels),
                             ("loss", "logits"))


def test_auto_and_base_model(tmp_path):
    hf = _perturb(build_hf("Data2VecVisionModel", "Data2VecVisionConfig", use_relative_position_bias=True,
                           **{k: v for k, v in TINY.items() if k != "vocab_size"}))
    hf.save_pretrained(tmp_path)
    model = polymodal.AutoModel.from_pretrained(tmp_path)
    assert type(model) is polymodal.Data2VecVisionModel
    x = pixels(2)
    with torch.no_grad():
        assert_outputs_close(model(x), hf(x), ("last_hidden_state", "pooler_output"))
