"""The zero-shot image classification pipeline against Transformers' on the same tiny models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from clip_helpers import TEXT, VISION
from PIL import Image
from tokenizer_helpers import write_clip_files, write_xlm_roberta_files

from polymodal.core.errors import InvalidInputError

LABELS = ["cat", "dog", "car", "tree", "a bowl of soup"]


def _image_processor():
    return transformers.CLIPImageProcessor(size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30})


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("zeroshot")
    out = {}
    torch.manual_seed(0)
    clip_tok = transformers.CLIPTokenizer.from_pretrained(str(write_clip_files(root / "clip_tok")))
    text = {**TEXT, "vocab_size": len(clip_tok), "max_position_embeddings": 40,
            "bos_token_id": clip_tok.bos_token_id, "eos_token_id": clip_tok.eos_token_id,
            "pad_token_id": clip_tok.pad_token_id}
    clip = transformers.CLIPModel(transformers.CLIPConfig(text_config=text, vision_config=VISION, projection_dim=16))
    out["clip"] = _save(root / "clip", clip, clip_tok)
    torch.manual_seed(0)
    xlmr_tok = transformers.XLMRobertaTokenizer.from_pretrained(str(write_xlm_roberta_files(root / "xlmr_tok")))
    alt_text = dict(vocab_size=len(xlmr_tok), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                    num_attention_heads=4, max_position_embeddings=60, project_dim=24)
    alt = transformers.AltCLIPModel(transformers.AltCLIPConfig(text_config=alt_text, vision_config=VISION,
                                                               projection_dim=16))
    out["altclip"] = _save(root / "altclip", alt, xlmr_tok)
    return out


def _save(folder, model, tokenizer):
    with torch.no_grad():
        model.logit_scale.fill_(4.6)  # CLIP's trained value: scores far from uniform
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    _image_processor().save_pretrained(folder)
    return folder


def _images(tmp_path, n=3):
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (40 + 8 * i, 50, 3), dtype=np.uint8)) for i in range(n)]
    path = tmp_path / "photo.png"
    images[0].save(path)
    return images, path


def _assert_same(ours, theirs):
    assert [r["label"] for r in ours] == [r["label"] for r in theirs]
    np.testing.assert_allclose([r["score"] for r in ours], [r["score"] for r in theirs], atol=1e-5)


@pytest.mark.parametrize("family", ["clip", "altclip"])
def test_results_equal_transformers(folders, tmp_path, family):
    from polymodal import pipeline

    theirs = transformers.pipeline("zero-shot-image-classification", model=str(folders[family]))
    # use_fast=False: the bit-exact image path, so the scores match Transformers' PIL path to 1e-5
    ours = pipeline("zero-shot-image-classification", model=str(folders[family]), use_fast=False)
    assert ours.image_processor.backend == "pil"
    images, path = _images(tmp_path)
    _assert_same(ours(images[0], candidate_labels=LABELS), theirs(images[0], candidate_labels=LABELS))
    _assert_same(ours(str(path), candidate_labels=LABELS), theirs(str(path), candidate_labels=LABELS))
    template = "a picture of {}"
    expected = theirs(images, candidate_labels=LABELS, hypothesis_template=template)
    for batch_size in (1, 2, 8):
        got = ours(images, candidate_labels=LABELS, hypothesis_template=template, batch_size=batch_size)
        assert len(got) == len(expected) == 3
        for a, b in zip(got, expected):
            _assert_same(a, b)


def test_default_fast_image_path_is_close(folders, tmp_path):
    """The default pipeline resizes with torch (within two 8-bit levels of Pillow): near-equal scores."""
    from polymodal import pipeline

    theirs = transformers.pipeline("zero-shot-image-classification", model=str(folders["clip"]))
    ours = pipeline("zero-shot-image-classification", model=str(folders["clip"]))
    assert ours.image_processor.backend == "torch"
    images, _ = _images(tmp_path)
    for a, b in zip(ours(images, candidate_labels=LABELS), theirs(images, candidate_labels=LABELS)):
        score = {r["label"]: r["score"] for r in b}
        np.testing.assert_allclose([r["score"] for r in a], [score[r["label"]] for r in a], atol=1e-2)


def test_class_directly_arrays_and_bf16(folders, tmp_path):
    from polymodal import CLIPImageProcessor, CLIPModel, CLIPTokenizer
    from polymodal.pipelines.zero_shot_image_classification import ZeroShotImageClassificationPipeline

    folder = folders["clip"]
    classifier = ZeroShotImageClassificationPipeline(
        model=CLIPModel.from_pretrained(folder), tokenizer=CLIPTokenizer.from_pretrained(folder),
        image_processor=CLIPImageProcessor.from_pretrained(folder))
    images, _ = _images(tmp_path)
    from_pil = classifier(images[1], candidate_labels=LABELS)
    from_array = classifier(np.asarray(images[1]), candidate_labels=LABELS)
    _assert_same(from_array, from_pil)
    chw = torch.from_numpy(np.array(images[1])).permute(2, 0, 1)
    _assert_same(classifier([chw], candidate_labels=LABELS)[0], from_pil)
    assert abs(sum(r["score"] for r in from_pil) - 1) < 1e-5

    bf16 = ZeroShotImageClassificationPipeline(
        model=CLIPModel.from_pretrained(folder, torch_dtype=torch.bfloat16),
        tokenizer=classifier.tokenizer, image_processor=classifier.image_processor)
    assert bf16(images[1], candidate_labels=LABELS)[0]["label"] == from_pil[0]["label"]


def test_bad_inputs(folders, tmp_path):
    from polymodal import pipeline

    classifier = pipeline("zero-shot-image-classification", model=str(folders["clip"]))
    images, _ = _images(tmp_path, 1)
    with pytest.raises(InvalidInputError, match="candidate_labels"):
        classifier(images[0], candidate_labels=[])
    with pytest.raises(InvalidInputError, match="strings"):
        classifier(images[0], candidate_labels=["cat", 3])
    with pytest.raises(InvalidInputError, match="hypothesis_template"):
        classifier(images[0], candidate_labels=LABELS, hypothesis_template="no slot")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a png")
    with pytest.raises(InvalidInputError, match="broken.png"):
        classifier(str(broken), candidate_labels=LABELS)
    with pytest.raises(InvalidInputError, match="not found"):
        classifier(str(tmp_path / "missing.jpg"), candidate_labels=LABELS)
    with pytest.raises(InvalidInputError, match="image 1"):
        classifier([images[0], 42], candidate_labels=LABELS)
    with pytest.raises(InvalidInputError):
        classifier([], candidate_labels=LABELS)
