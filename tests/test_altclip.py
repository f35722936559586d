"""AltCLIP models and processor against Transformers on tiny random checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from clip_helpers import VISION, assert_outputs_close, pixels
from PIL import Image

from polymodal.models.altclip import modeling as ours_mod
from polymodal.models.altclip.configuration import AltCLIPConfig, AltCLIPTextConfig, AltCLIPVisionConfig

TEXT = dict(vocab_size=320, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=40, project_dim=24)
CLASSES = ["AltCLIPModel", "AltCLIPTextModel", "AltCLIPVisionModel"]


def _hf_config(name):
    full = transformers.AltCLIPConfig(text_config=TEXT, vision_config=VISION, projection_dim=16)
    return {"AltCLIPModel": full, "AltCLIPTextModel": full.text_config, "AltCLIPVisionModel": full.vision_config}[name]


def _text(lengths=(7, 3, 5), seed=0):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.ones(len(lengths), max(lengths), dtype=torch.long)  # pad id 1
    mask = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(4, 300, (n,), generator=gen)
        ids[row, 0], ids[row, n - 1] = 0, 2  # <s> … </s>
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask}


def _inputs(name):
    if name == "AltCLIPModel":
        return {**_text(), "pixel_values": pixels(2)}
    return _text() if "Text" in name else {"pixel_values": pixels(2)}


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("altclip")
    for name in CLASSES:
        torch.manual_seed(0)
        getattr(transformers, name)(_hf_config(name)).save_pretrained(root / name)
    return {name: root / name for name in CLASSES}


@pytest.mark.parametrize("name", CLASSES)
def test_every_output_matches_transformers(hf_dirs, name):
    theirs = getattr(transformers, name).from_pretrained(hf_dirs[name], attn_implementation="eager").eval()
    ours, info = getattr(ours_mod, name).from_pretrained(hf_dirs[name], output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    inputs = _inputs(name)
    with torch.no_grad():
        a = theirs(**inputs, output_hidden_states=True, output_attentions=True)
        b = ours(**inputs, output_hidden_states=True, output_attentions=True)
    assert_outputs_close(b, a)


@pytest.mark.parametrize("name", CLASSES)
def test_save_in_polymodal_load_in_transformers(tmp_path, name):
    torch.manual_seed(0)
    klass = getattr(ours_mod, name)
    ours = klass(klass.config_class.from_dict(_hf_config(name).to_dict())).eval()
    ours.save_pretrained(tmp_path)
    theirs, info = getattr(transformers, name).from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == set() or not info["missing_keys"]
    inputs = _inputs(name)
    with torch.no_grad():
        assert_outputs_close(ours(**inputs), theirs.eval()(**inputs))
    assert klass.from_pretrained(tmp_path).config == ours.config


def test_loss_features_and_interpolation(hf_dirs):
    theirs = transformers.AltCLIPModel.from_pretrained(hf_dirs["AltCLIPModel"]).eval()
    ours = ours_mod.AltCLIPModel.from_pretrained(hf_dirs["AltCLIPModel"])
    inputs = {**_text((5, 4)), "pixel_values": pixels(2)}
    with torch.no_grad():
        torch.testing.assert_close(ours(**inputs, return_loss=True).loss, theirs(**inputs, return_loss=True).loss)
        text = {k: inputs[k] for k in ("input_ids", "attention_mask")}
        torch.testing.assert_close(ours.get_text_features(**text), theirs.get_text_features(**text).pooler_output)
        torch.testing.assert_close(ours.get_image_features(inputs["pixel_values"]),
                                   theirs.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output)
        big = {**inputs, "pixel_values": pixels(2, size=45)}
        assert_outputs_close(ours(**big, interpolate_pos_encoding=True), theirs(**big, interpolate_pos_encoding=True))


def test_configs_and_bf16(hf_dirs):
    config = AltCLIPConfig.from_text_vision_configs(AltCLIPTextConfig(**TEXT), AltCLIPVisionConfig(**VISION),
                                                    projection_dim=16)
    assert config.text_config.project_dim == 24 and config.vision_config.model_type == "altclip_vision_model"
    assert AltCLIPConfig.from_pretrained(hf_dirs["AltCLIPModel"]).to_dict()["text_config"]["project_dim"] == 24
    bf16 = ours_mod.AltCLIPModel.from_pretrained(hf_dirs["AltCLIPModel"], torch_dtype=torch.bfloat16)
    out = bf16(**_inputs("AltCLIPModel"))
    assert out.logits_per_image.dtype == torch.bfloat16 and torch.isfinite(out.logits_per_image.float()).all()


def test_page_example_runs_as_written(tmp_path, hf_dirs):
    """The AltCLIP page's example, with a local tiny model and tokenizer instead of BAAI/AltCLIP."""
    from tokenizer_helpers import write_xlm_roberta_files

    folder = tmp_path / "altclip"
    write_xlm_roberta_files(tmp_path / "spm")
    tokenizer = transformers.XLMRobertaTokenizer.from_pretrained(str(tmp_path / "spm"))
    image_processor = transformers.CLIPImageProcessor(size={"shortest_edge": 30},
                                                      crop_size={"height": 30, "width": 30})
    transformers.AltCLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    transformers.AltCLIPModel.from_pretrained(hf_dirs["AltCLIPModel"]).save_pretrained(folder)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8))

    from polymodal import AltCLIPModel, AltCLIPProcessor

    model = AltCLIPModel.from_pretrained(folder)
    processor = AltCLIPProcessor.from_pretrained(folder, use_fast=False)  # bit-exact pixels, compared below
    inputs = processor(text=["a photo of a cat", "a photo of a dog"], images=image, return_tensors="pt", padding=True)
    outputs = model(**inputs)
    logits_per_image = outputs.logits_per_image  # image-text similarity scores
    probs = logits_per_image.softmax(dim=1)  # probabilities over the labels

    hf_processor = transformers.AltCLIPProcessor.from_pretrained(folder)
    hf_inputs = hf_processor(text=["a photo of a cat", "a photo of a dog"], images=image, return_tensors="pt",
                             padding=True)
    for key in hf_inputs:
        torch.testing.assert_close(inputs[key], hf_inputs[key])
    with torch.no_grad():
        expected = transformers.AltCLIPModel.from_pretrained(folder)(**hf_inputs).logits_per_image.softmax(dim=1)
    assert probs.shape == (1, 2)
    torch.testing.assert_close(probs, expected, atol=1e-5, rtol=1e-5)
    # Round trip through polymodal's save.
    processor.save_pretrained(tmp_path / "again")
    again = AltCLIPProcessor.from_pretrained(tmp_path / "again")
    assert again(text=["x"], return_tensors="pt")["input_ids"].tolist() == processor(text=["x"])["input_ids"]


def test_bad_inputs(hf_dirs):
    ours = ours_mod.AltCLIPModel.from_pretrained(hf_dirs["AltCLIPModel"])
    with pytest.raises(ValueError, match="input_ids"):
        ours(pixel_values=pixels(2))
    with pytest.raises(ValueError, match="pixel_values"):
        ours(**_text())
