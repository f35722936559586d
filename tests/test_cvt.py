"""CvT (convolutional token embedding and q/k/v projection) against Transformers, both directions."""

from __future__ import annotations

import pytest
import torch
from vision_helpers import assert_grads_close, assert_outputs_close, build_hf, load_ours, load_theirs, pixels

import polymodal

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

TINY = {"patch_sizes": [7, 3], "patch_stride": [4, 2], "patch_padding": [2, 1], "embed_dim": [16, 24],
        "num_heads": [1, 3], "depth": [1, 2], "mlp_ratio": [2.0, 2.0], "attention_drop_rate": [0.0, 0.0],
        "drop_rate": [0.0, 0.0], "drop_path_rate": [0.0, 0.0], "qkv_bias": [True, False], "cls_token": [False, True],
        "qkv_projection_method": ["dw_bn", "dw_bn"], "kernel_qkv": [3, 3], "padding_kv": [1, 1],
        "stride_kv": [2, 2], "padding_q": [1, 1], "stride_q": [1, 1]}


@pytest.mark.parametrize("overrides", [{}, {"stride_kv": [1, 2], "padding_q": [0, 1], "kernel_qkv": [1, 3]}])
def test_classifier_matches_transformers(tmp_path, overrides):
    hf = build_hf("CvtForImageClassification", "CvtConfig", num_labels=3, **{**TINY, **overrides})
    ours = load_ours(hf, tmp_path)
    x = pixels(3, size=40, height=32)
    with torch.no_grad():
        assert_outputs_close(ours(x, output_hidden_states=True), hf(x, output_hidden_states=True),
                             ("logits", "hidden_states"))
    assert assert_grads_close(ours, hf, {"pixel_values": x, "labels": torch.tensor([0, 2, 1])}) > 10
    ours.eval()
    theirs = load_theirs(ours, tmp_path / "back")
    with torch.no_grad():
        assert_outputs_close(ours(x), theirs(x))


def test_base_model_cls_token_and_auto(tmp_path):
    hf = build_hf("CvtModel", "CvtConfig", **TINY)
    hf.save_pretrained(tmp_path)
    ours = polymodal.AutoModel.from_pretrained(tmp_path)
    x = pixels(2, size=32)
    with torch.no_grad():
        assert_outputs_close(ours(x), hf(x), ("last_hidden_state", "cls_token_value"))
    with pytest.raises(polymodal.core.errors.ConfigError, match="one value per stage"):
        polymodal.CvtConfig(depth=[1, 2], embed_dim=[16])
    with pytest.raises(polymodal.core.errors.ConfigError, match="dw_bn"):
        polymodal.CvtConfig(qkv_projection_method=["avg", "avg", "avg"])
