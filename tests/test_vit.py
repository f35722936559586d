"""ViT models and ViTImageProcessor against Transformers (the oracle), both save/load directions."""

from __future__ import annotations

import pytest
import torch
from vision_helpers import (
    LABELS,
    assert_grads_close,
    assert_outputs_close,
    build_hf,
    load_ours,
    load_theirs,
    pixels,
)

import polymodal
from polymodal.core.errors import InvalidInputError

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37,
        "image_size": 32, "patch_size": 8, "encoder_stride": 8, "hidden_act": "gelu"}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    hf = build_hf("ViTForImageClassification", "ViTConfig", num_labels=3, id2label=LABELS, **TINY)
    ours = load_ours(hf, tmp_path_factory.mktemp("vit"))
    return hf, ours


def test_classifier_outputs(classifier):
    hf, ours = classifier
    x = pixels(3)
    with torch.no_grad():
        a = ours(x, output_hidden_states=True, output_attentions=True)
        b = hf(x, output_hidden_states=True, output_attentions=True)
    assert_outputs_close(a, b, ("logits", "hidden_states", "attentions"))
    assert ours.config.id2label == LABELS
    # One image alone gets the logits it gets in the batch.
    with torch.no_grad():
        torch.testing.assert_close(ours(x[1:2]).logits, a.logits[1:2], atol=1e-5, rtol=1e-4)


def test_classifier_loss_and_gradients(classifier, tmp_path):
    hf, _ = classifier
    ours = load_ours(hf, tmp_path)
    theirs = build_hf("ViTForImageClassification", "ViTConfig", num_labels=3, **TINY)
    theirs.load_state_dict(hf.state_dict())
    inputs = {"pixel_values": pixels(4, seed=1), "labels": torch.tensor([0, 2, 1, 2])}
    assert assert_grads_close(ours, theirs, inputs) >= 6


def test_base_model_with_pooler_and_mask(tmp_path):
    hf = build_hf("ViTModel", "ViTConfig", **TINY)
    ours = load_ours(hf, tmp_path)
    x = pixels(2)
    mask = torch.ones(2, 17, dtype=torch.long)
    mask[1, 10:] = 0
    with torch.no_grad():
        assert_outputs_close(ours(x), hf(x), ("last_hidden_state", "pooler_output"))
        assert_outputs_close(ours(x, attention_mask=mask), hf(x, attention_mask=mask), ("last_hidden_state",))


@pytest.mark.parametrize("height,width", [(48, 48), (32, 48), (24, 40)])
def test_interpolate_pos_encoding(classifier, height, width):
    hf, ours = classifier
    x = pixels(2, size=width, height=height)
    with torch.no_grad():
        assert_outputs_close(ours(x, interpolate_pos_encoding=True), hf(x, interpolate_pos_encoding=True))
    with pytest.raises(InvalidInputError, match="interpolate_pos_encoding=True"):
        ours(x)


def test_masked_image_modeling(tmp_path):
    hf = build_hf("ViTForMaskedImageModeling", "ViTConfig", **TINY)
    ours = load_ours(hf, tmp_path)
    x = pixels(2)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[:, ::3] = True
    with torch.no_grad():
        assert_outputs_close(ours(x, bool_masked_pos=mask), hf(x, bool_masked_pos=mask), ("loss", "reconstruction"))
    assert ours(x).reconstruction.shape == (2, 3, 32, 32)


def test_reverse_direction(tmp_path):
    torch.manual_seed(1)
    ours = polymodal.ViTForImageClassification(polymodal.ViTConfig(num_labels=3, **TINY)).eval()
    theirs = load_theirs(ours, tmp_path)
    x = pixels(2)
    with torch.no_grad():
        assert_outputs_close(ours(x), theirs(x))
    mim = polymodal.ViTForMaskedImageModeling(polymodal.ViTConfig(**TINY)).eval()
    theirs = load_theirs(mim, tmp_path / "mim")
    with torch.no_grad():
        assert_outputs_close(mim(x), theirs(x), ("reconstruction",))


def test_return_tuple_and_auto_classes(classifier, tmp_path):
    hf, ours = classifier
    hf.save_pretrained(tmp_path)
    transformers.ViTImageProcessor().save_pretrained(tmp_path)
    model = polymodal.AutoModelForImageClassification.from_pretrained(tmp_path)
    assert type(model) is polymodal.ViTForImageClassification
    with pytest.warns(UserWarning, match="pooler"):  # the classifier checkpoint has no pooler, as in Transformers
        assert type(polymodal.AutoModel.from_pretrained(tmp_path)) is polymodal.ViTModel
    assert type(polymodal.AutoImageProcessor.from_pretrained(tmp_path)) is polymodal.ViTImageProcessor
    x = pixels(1)
    with torch.no_grad():
        out = model(x, return_dict=False)
    assert isinstance(out, tuple)
    torch.testing.assert_close(out[0], ours(x).logits)
    model = polymodal.AutoModelForImageClassification.from_pretrained(tmp_path, num_labels=5,
                                                                      ignore_mismatched_sizes=True)
    assert model.classifier.out_features == 5


def test_bad_pixel_values(classifier):
    _, ours = classifier
    with pytest.raises(InvalidInputError, match="channels-last"):
        ours(torch.zeros(1, 32, 32, 3))
    with pytest.raises(InvalidInputError, match="batch, channels, height, width"):
        ours(torch.zeros(3, 32, 32))
    with pytest.raises(InvalidInputError, match="num_labels=3"):
        ours(pixels(1), labels=torch.tensor([7]))
