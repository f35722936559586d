"""``pipeline("image-classification")`` against Transformers' pipeline, batch invariance and bad input."""

from __future__ import annotations

import io
import warnings

import numpy as np
import PIL.Image
import pytest
import torch
from vision_helpers import photo

import polymodal
from polymodal.core.errors import InvalidInputError

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()
warnings.filterwarnings("ignore", message=".*torchvision.*")

LABELS = {0: "circle", 1: "square", 2: "triangle", 3: "star", 4: "ring", 5: "cross", 6: "wave"}
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37,
        "image_size": 32, "patch_size": 8}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("vit-classifier")
    torch.manual_seed(0)
    config = transformers.ViTConfig(num_labels=len(LABELS), id2label=LABELS,
                                    label2id={v: k for k, v in LABELS.items()}, **TINY)
    model = transformers.ViTForImageClassification(config)
    with torch.no_grad():
        model.classifier.weight.mul_(20)  # spread the scores so the ranking means something
    model.save_pretrained(path)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def ours(folder):
    # use_fast=False: the bit-exact image path, compared with Transformers' PIL path at 1e-5
    return polymodal.pipeline("image-classification", model=folder, use_fast=False)


@pytest.fixture(scope="module")
def theirs(folder):
    return transformers.pipeline("image-classification", model=folder)


def _close(a, b):
    assert [r["label"] for r in a] == [r["label"] for r in b]
    np.testing.assert_allclose([r["score"] for r in a], [r["score"] for r in b], atol=1e-5)


IMAGES = [photo(64, 48, seed=s) for s in range(5)] + [photo(20, 90, seed=9)]


@pytest.mark.parametrize("kwargs", [{}, {"top_k": 2}, {"top_k": 50}, {"function_to_apply": "sigmoid"},
                                    {"function_to_apply": "none", "top_k": 3}])
def test_matches_transformers(ours, theirs, kwargs):
    for image in IMAGES[:2]:
        _close(ours(image, **kwargs), theirs(image, **kwargs))
    for a, b in zip(ours(IMAGES, **kwargs), theirs(IMAGES, **kwargs)):
        _close(a, b)


def test_input_kinds(ours, theirs, tmp_path):
    image = IMAGES[0]
    expected = theirs(image)
    path = tmp_path / "a.png"
    image.save(path)
    data = path.read_bytes()
    array = np.asarray(image)
    for value in (str(path), path, data, array, torch.from_numpy(array.copy()), np.moveaxis(array, -1, 0).copy(),
                  {"image": image}):
        _close(ours(value), expected)
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG", quality=92)
    (tmp_path / "a.jpg").write_bytes(jpeg.getvalue())
    _close(ours(jpeg.getvalue()), theirs(str(tmp_path / "a.jpg")))


def test_batch_invariance(ours):
    alone = [ours(image) for image in IMAGES]
    for size in (1, 2, 4, 8):
        for a, b in zip(ours(IMAGES, batch_size=size), alone):
            _close(a, b)
    reordered = ours(IMAGES[::-1], batch_size=3)[::-1]
    for a, b in zip(reordered, alone):
        _close(a, b)


def test_default_fast_path_is_close_and_batch_invariant(folder, theirs):
    fast = polymodal.pipeline("image-classification", model=folder)
    assert fast.image_processor.backend == "torch"
    alone = [fast(image, top_k=3) for image in IMAGES]
    for a, b in zip(alone, theirs(IMAGES, top_k=3)):
        expected = {r["label"]: r["score"] for r in b}
        np.testing.assert_allclose([r["score"] for r in a], [expected.get(r["label"], 0.0) for r in a], atol=1e-2)
    for a, b in zip(fast(IMAGES, batch_size=4, top_k=3), alone):
        _close(a, b)


def test_defaults_from_pipeline_call(folder):
    classifier = polymodal.pipeline("image-classification", model=folder, top_k=2, batch_size=4)
    assert len(classifier(IMAGES[0])) == 2


@pytest.mark.parametrize("bad,match", [
    (b"not an image", "not a readable image"),
    (b"", "empty"),
    (np.zeros((0, 10, 3), np.uint8), "no pixels"),
    (np.zeros((10, 5, 10), np.uint8), "channels"),
    (np.zeros((10, 10, 3), np.int32) + 4000, "16-bit"),
    (np.zeros((2, 2, 2, 2, 3)), "shape"),
    ("/no/such/file.png", "not found"),
    ("https://example.com/cat.png", "URL"),
    (42, "Cannot read"),
    ([], "empty list"),
])
def test_bad_input(ours, bad, match):
    with pytest.raises(InvalidInputError, match=match):
        ours(bad)


def test_bad_arguments(ours):
    with pytest.raises(InvalidInputError, match="top_k"):
        ours(IMAGES[0], top_k=0)
    with pytest.raises(InvalidInputError, match="function_to_apply"):
        ours(IMAGES[0], function_to_apply="max")
    with pytest.raises(InvalidInputError, match="Unknown argument"):
        ours(IMAGES[0], topk=3)


def test_list_error_names_the_image(ours, tmp_path):
    bad = tmp_path / "broken.jpg"
    buffer = io.BytesIO()
    photo(64, 64).save(buffer, format="JPEG")
    bad.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])  # truncated
    with pytest.raises(InvalidInputError, match=r"image 1 \('.*broken.jpg'\).*truncated"):
        ours([IMAGES[0], str(bad)])


def test_huge_image_is_refused_before_decoding(ours, monkeypatch):
    import polymodal.vision.image_input as image_input

    buffer = io.BytesIO()
    PIL.Image.new("RGB", (300, 200)).save(buffer, format="PNG")
    monkeypatch.setattr(image_input, "MAX_IMAGE_PIXELS", 50_000)
    with pytest.raises(InvalidInputError, match="60,000 pixels, over the limit"):
        ours(buffer.getvalue())


def test_sixteen_bit_and_cmyk_images(ours, tmp_path):
    grey = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    PIL.Image.fromarray(grey).save(tmp_path / "deep.png")
    loaded = polymodal.vision.image_input.open_image(str(tmp_path / "deep.png"))
    assert loaded.mode == "RGB"
    np.testing.assert_allclose(np.asarray(loaded)[..., 0], np.round(grey / 257.0), atol=1)  # not clipped at 255
    photo(40, 40).convert("CMYK").save(tmp_path / "print.jpg")
    assert len(ours(str(tmp_path / "print.jpg"))) == 5


def test_cli_classify_images(folder, ours, tmp_path, capsys):
    import json

    from polymodal.cli import main

    paths = []
    for i, image in enumerate(IMAGES[:3]):
        paths.append(str(tmp_path / f"img{i}.png"))
        image.save(paths[-1])
    assert main(["classify", folder, *paths, "--top-k", "2", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == paths
    for line, path in zip(lines, paths):
        _close(line["labels"], ours(path, top_k=2))


def test_server_image_classification(folder, ours, tmp_path):
    serve = pytest.importorskip("polymodal.serve")
    Live = pytest.importorskip("serve_helpers").Live
    ServeConfig, infer_task, load_service = serve.ServeConfig, serve.infer_task, serve.load_service

    assert infer_task(folder) == "image-classification"
    path = tmp_path / "img.png"
    IMAGES[0].save(path)
    running = Live(load_service(folder, config=ServeConfig(max_batch_size=2, max_wait_ms=50)))
    try:
        status, _, reply = running.request("POST", "/predict?top_k=3", path.read_bytes(), {"Content-Type": "image/png"})
        assert status == 200
        _close(reply, ours(str(path), top_k=3))
        status, _, reply = running.request("POST", "/predict", b"not an image")
        assert status == 400 and "not a readable image" in reply["error"]
    finally:
        running.close()
