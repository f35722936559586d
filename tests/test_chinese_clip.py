"""Chinese-CLIP models, image processor, processor and zero-shot pipeline against Transformers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from clip_helpers import VISION, assert_outputs_close, pixels
from PIL import Image
from safetensors.torch import load_file, save_file
from tokenizer_helpers import write_bert_files

from polymodal.core.errors import InvalidInputError
from polymodal.models.chinese_clip import modeling as ours_mod
from polymodal.models.chinese_clip.configuration import (
    ChineseCLIPConfig,
    ChineseCLIPTextConfig,
    ChineseCLIPVisionConfig,
)

TEXT = dict(vocab_size=500, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=64)
CLASSES = ["ChineseCLIPModel", "ChineseCLIPTextModel", "ChineseCLIPVisionModel"]
LABELS = ["猫", "狗", "汽车", "a photo of a tree", "一碗汤"]


def _hf_config(name):
    full = transformers.ChineseCLIPConfig(text_config=TEXT, vision_config=VISION, projection_dim=16)
    return {"ChineseCLIPModel": full, "ChineseCLIPTextModel": full.text_config,
            "ChineseCLIPVisionModel": full.vision_config}[name]


def _text(lengths=(7, 3, 5), seed=0):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)  # [PAD] = 0
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(5, 480, (n,), generator=gen)
        ids[row, 0], ids[row, n - 1] = 2, 3  # [CLS] … [SEP]
        mask[row, :n] = 1
    types[0, 3:] = 1  # a second segment in the first row
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def _inputs(name):
    if name == "ChineseCLIPModel":
        return {**_text(), "pixel_values": pixels(2)}
    return _text() if "Text" in name else {"pixel_values": pixels(2)}


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("chinese_clip")
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
    assert not info["missing_keys"] and not info["unexpected_keys"]
    inputs = _inputs(name)
    with torch.no_grad():
        assert_outputs_close(ours(**inputs), theirs.eval()(**inputs))
    assert klass.from_pretrained(tmp_path).config == ours.config


def test_features_loss_and_tuple_output(hf_dirs):
    theirs = transformers.ChineseCLIPModel.from_pretrained(hf_dirs["ChineseCLIPModel"]).eval()
    ours = ours_mod.ChineseCLIPModel.from_pretrained(hf_dirs["ChineseCLIPModel"])
    inputs = {**_text((6, 4)), "pixel_values": pixels(2, seed=1)}
    with torch.no_grad():
        a = theirs(**inputs, return_loss=True)
        b = ours(**inputs, return_loss=True)
        torch.testing.assert_close(b.loss, a.loss, atol=1e-5, rtol=1e-5)
        text = {k: v for k, v in inputs.items() if k != "pixel_values"}
        torch.testing.assert_close(ours.get_text_features(**text), theirs.get_text_features(**text).pooler_output)
        assert_outputs_close(ours.get_image_features(inputs["pixel_values"], return_dict=True),
                             theirs.get_image_features(inputs["pixel_values"]))
        tuple_a, tuple_b = theirs(**inputs, return_dict=False), ours(**inputs, return_dict=False)
    assert len(tuple_a) == len(tuple_b)
    for x, y in zip(tuple_a[:5], tuple_b[:5]):
        torch.testing.assert_close(y, x, atol=1e-5, rtol=1e-5)


def test_towers_from_full_checkpoint_and_transformers4_layout(hf_dirs, tmp_path):
    full = transformers.ChineseCLIPModel.from_pretrained(hf_dirs["ChineseCLIPModel"]).eval()
    vision, info = ours_mod.ChineseCLIPVisionModel.from_pretrained(hf_dirs["ChineseCLIPModel"],
                                                                   output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    text, info = ours_mod.ChineseCLIPTextModel.from_pretrained(hf_dirs["ChineseCLIPModel"], output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []  # the pooler is new, as in Transformers
    inputs = _text()
    with torch.no_grad():
        torch.testing.assert_close(vision(pixels(2)).pooler_output, full.vision_model(pixels(2)).pooler_output)
        torch.testing.assert_close(text(**inputs).last_hidden_state, full.text_model(**inputs).last_hidden_state)
    # Transformers 4 wrapped the vision tower: `vision_model.embeddings…`.
    state = load_file(hf_dirs["ChineseCLIPVisionModel"] / "model.safetensors")
    (tmp_path / "v4").mkdir()
    save_file({f"vision_model.{k}": v for k, v in state.items()}, tmp_path / "v4" / "model.safetensors")
    (tmp_path / "v4" / "config.json").write_text((hf_dirs["ChineseCLIPVisionModel"] / "config.json").read_text())
    assert ours_mod.ChineseCLIPVisionModel.from_pretrained(tmp_path / "v4", output_loading_info=True)[1][
        "missing_keys"] == []


def test_configs():
    for ours, theirs in [(ChineseCLIPConfig, transformers.ChineseCLIPConfig),
                         (ChineseCLIPTextConfig, transformers.ChineseCLIPTextConfig),
                         (ChineseCLIPVisionConfig, transformers.ChineseCLIPVisionConfig)]:
        reference = theirs()
        for key in ours.field_defaults():
            if hasattr(reference, key) and key not in ("text_config", "vision_config", "id2label", "label2id",
                                                       "architectures", "dtype", "transformers_version"):
                assert getattr(ours(), key) == getattr(reference, key), (ours.__name__, key)
    config = ChineseCLIPConfig.from_text_vision_configs(ChineseCLIPTextConfig(**TEXT),
                                                       ChineseCLIPVisionConfig(**VISION), projection_dim=16)
    assert config.text_config.vocab_size == 500 and config.vision_config.patch_size == 15


def test_bad_inputs(hf_dirs):
    ours = ours_mod.ChineseCLIPModel.from_pretrained(hf_dirs["ChineseCLIPModel"])
    with pytest.raises(ValueError, match="pixel_values"):
        ours(**_text(), pixel_values=torch.zeros(3, 30, 30))
    with pytest.raises(ValueError, match="input_ids"):
        ours(pixel_values=pixels(2))
    with pytest.raises(ValueError, match="attention_mask"):
        ours.get_text_features(_text()["input_ids"], attention_mask=torch.ones(3, 2))


# --------------------------------------------------------------------------- preprocessing and pipeline
def _images(n=3):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (40 + 9 * i, 52, 3), dtype=np.uint8)) for i in range(n)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A full checkpoint folder: model, BERT tokenizer, image processor, processor config."""
    root = tmp_path_factory.mktemp("chinese_clip_full")
    tokenizer = transformers.BertTokenizer.from_pretrained(str(write_bert_files(root / "tok")))
    torch.manual_seed(0)
    model = transformers.ChineseCLIPModel(transformers.ChineseCLIPConfig(
        text_config={**TEXT, "vocab_size": len(tokenizer)}, vision_config=VISION, projection_dim=16))
    with torch.no_grad():
        model.logit_scale.fill_(4.6)  # CLIP's trained value: scores far from uniform
    model.save_pretrained(root / "model")
    image_processor = transformers.ChineseCLIPImageProcessorPil(size={"height": 30, "width": 30}, crop_size=30)
    transformers.ChineseCLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(
        root / "model")
    return root / "model"


@pytest.mark.parametrize("options", [{}, {"size": {"shortest_edge": 30}, "crop_size": 30},
                                     {"size": {"height": 30, "width": 30}, "do_center_crop": False}])
def test_image_processor_matches_transformers(options):
    from polymodal import ChineseCLIPImageProcessor

    theirs = transformers.ChineseCLIPImageProcessorPil(**options)
    ours = ChineseCLIPImageProcessor(use_fast=False, **options)  # the bit-exact path
    images = _images()
    torch.testing.assert_close(ours(images, return_tensors="pt")["pixel_values"],
                               theirs(images, return_tensors="pt")["pixel_values"])
    assert ours.to_dict()["image_processor_type"] == "ChineseCLIPImageProcessor"


def test_processor_and_auto_classes(folder, tmp_path):
    from polymodal import (
        AutoImageProcessor,
        AutoModel,
        AutoModelForZeroShotImageClassification,
        AutoProcessor,
        ChineseCLIPModel,
        ChineseCLIPProcessor,
    )

    theirs = transformers.ChineseCLIPProcessor.from_pretrained(folder)
    ours = AutoProcessor.from_pretrained(folder, use_fast=False)  # bit-exact pixels
    assert type(ours) is ChineseCLIPProcessor
    assert type(AutoImageProcessor.from_pretrained(folder)).__name__ == "ChineseCLIPImageProcessor"
    assert type(AutoModel.from_pretrained(folder)) is ChineseCLIPModel
    assert type(AutoModelForZeroShotImageClassification.from_pretrained(folder)) is ChineseCLIPModel
    texts = ["一只猫的照片", "a photo of a dog", "我爱北京天安门"]
    a = theirs(text=texts, images=_images(), return_tensors="pt", padding=True)
    b = ours(text=texts, images=_images(), return_tensors="pt", padding=True)
    assert set(a) == set(b)
    for key in a:
        torch.testing.assert_close(b[key], a[key])
    ours.save_pretrained(tmp_path)
    back = transformers.ChineseCLIPProcessor.from_pretrained(tmp_path)
    c = back(text=texts, images=_images(), return_tensors="pt", padding=True)
    for key in a:
        torch.testing.assert_close(c[key], a[key])
    model = ChineseCLIPModel.from_pretrained(folder)
    reference = transformers.ChineseCLIPModel.from_pretrained(folder).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(**b).logits_per_image.softmax(dim=1),
                                   reference(**a).logits_per_image.softmax(dim=1), atol=1e-5, rtol=1e-5)


def test_zero_shot_pipeline_equals_transformers(folder, tmp_path):
    from polymodal import pipeline

    theirs = transformers.pipeline("zero-shot-image-classification", model=str(folder))
    ours = pipeline("zero-shot-image-classification", model=str(folder), use_fast=False)  # bit-exact pixels
    images = _images()
    path = tmp_path / "photo.png"
    images[0].save(path)

    def same(got, expected):
        assert [r["label"] for r in got] == [r["label"] for r in expected]
        np.testing.assert_allclose([r["score"] for r in got], [r["score"] for r in expected], atol=1e-5)

    same(ours(str(path), candidate_labels=LABELS), theirs(str(path), candidate_labels=LABELS))
    template = "一张{}的照片"
    expected = theirs(images, candidate_labels=LABELS, hypothesis_template=template)
    got = ours(images, candidate_labels=LABELS, hypothesis_template=template, batch_size=2)
    for a, b in zip(got, expected):
        same(a, b)
    with pytest.raises(InvalidInputError, match="candidate_labels"):
        ours(images[0], candidate_labels=[])
