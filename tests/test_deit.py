"""DeiT (distillation token, teacher head) against Transformers, both save/load directions."""

from __future__ import annotations

import pytest
import torch
from vision_helpers import assert_grads_close, assert_outputs_close, build_hf, load_ours, load_theirs, pixels

import polymodal

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37,
        "image_size": 32, "patch_size": 8, "encoder_stride": 8}


@pytest.mark.parametrize("name,fields", [
    ("DeiTForImageClassification", ("logits", "hidden_states", "attentions")),
    ("DeiTForImageClassificationWithTeacher", ("logits", "cls_logits", "distillation_logits")),
    ("DeiTModel", ("last_hidden_state", "pooler_output")),
])
def test_matches_transformers(tmp_path, name, fields):
    hf = build_hf(name, "DeiTConfig", num_labels=3, **TINY)
    ours = load_ours(hf, tmp_path)
    x = pixels(3)
    with torch.no_grad():
        assert_outputs_close(ours(x, output_hidden_states=True, output_attentions=True),
                             hf(x, output_hidden_states=True, output_attentions=True), fields)
        big = pixels(2, size=48, height=40)
        assert_outputs_close(ours(big, interpolate_pos_encoding=True), hf(big, interpolate_pos_encoding=True),
                             fields[:1])
    theirs = load_theirs(ours, tmp_path / "back")
    with torch.no_grad():
        assert_outputs_close(ours(x), theirs(x), fields[:1])


def test_loss_gradients_and_masked_image_modeling(tmp_path):
    hf = build_hf("DeiTForImageClassification", "DeiTConfig", num_labels=3, **TINY)
    ours = load_ours(hf, tmp_path)
    assert assert_grads_close(ours, hf, {"pixel_values": pixels(4), "labels": torch.tensor([0, 1, 2, 1])}) >= 6
    hf = build_hf("DeiTForMaskedImageModeling", "DeiTConfig", **TINY)
    ours = load_ours(hf, tmp_path / "mim")
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[:, 1::2] = True
    x = pixels(2)
    with torch.no_grad():
        assert_outputs_close(ours(x, bool_masked_pos=mask), hf(x, bool_masked_pos=mask), ("loss", "reconstruction"))


def test_auto_and_teacher_checkpoint_into_classifier(tmp_path):
    hf = build_hf("DeiTForImageClassificationWithTeacher", "DeiTConfig", num_labels=3, **TINY)
    hf.save_pretrained(tmp_path)
    transformers.DeiTImageProcessor(size={"height": 36, "width": 36}, crop_size=32).save_pretrained(tmp_path)
    assert type(polymodal.AutoImageProcessor.from_pretrained(tmp_path)) is polymodal.DeiTImageProcessor
    model = polymodal.AutoModelForImageClassification.from_pretrained(tmp_path)
    assert type(model) is polymodal.DeiTForImageClassification
    pipe = polymodal.pipeline("image-classification", model=str(tmp_path))
    assert len(pipe(torch.rand(3, 40, 50), top_k=2)) == 2
