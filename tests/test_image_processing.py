"""CLIP / EfficientNet image processors against Transformers' PIL backend (the oracle).

The bit-exact path (``use_fast=False``) is compared at 1e-5; the default fast path within two
8-bit levels."""

from __future__ import annotations

import json
import warnings

import numpy as np
import PIL.Image
import pytest
import torch

import polymodal
from polymodal.core.errors import InvalidInputError
from polymodal.models.align.image_processing import EfficientNetImageProcessor, EfficientNetImageProcessorFast
from polymodal.models.clip.image_processing import CLIPImageProcessor, CLIPImageProcessorFast

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()
warnings.filterwarnings("ignore", message=".*torchvision.*")

ATOL = 1e-5


def _photo(width: int, height: int, seed: int = 0, mode: str = "RGB") -> PIL.Image.Image:
    """A smooth photo-like image (upsampled noise), converted to ``mode``."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (max(height // 8, 1), max(width // 8, 1), 4), dtype=np.uint8)
    image = PIL.Image.fromarray(coarse, "RGBA").resize((width, height), PIL.Image.BICUBIC)
    return image if mode == "RGBA" else image.convert(mode) if mode != "RGB" else image.convert("RGB")


def _noise(width: int, height: int, seed: int = 1) -> PIL.Image.Image:
    rng = np.random.default_rng(seed)
    return PIL.Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def _clip(**kwargs):
    """polymodal's bit-exact path, the one compared with Transformers' PIL backend at 1e-5."""
    return CLIPImageProcessor(use_fast=False, **kwargs)


def _effnet(**kwargs):
    return EfficientNetImageProcessor(use_fast=False, **kwargs)


def _hf_clip(**kwargs):
    return transformers.CLIPImageProcessorPil(**kwargs)


def _hf_effnet(**kwargs):
    return transformers.EfficientNetImageProcessorPil(**kwargs)


def _pv(processor, images, **kwargs):
    return processor(images, return_tensors="pt", **kwargs).pixel_values


def _assert_same(ours, theirs, images, atol=ATOL, **kwargs):
    a, b = _pv(ours, images, **kwargs), _pv(theirs, images, **kwargs)
    assert a.shape == b.shape
    assert a.dtype == b.dtype
    torch.testing.assert_close(a, b, atol=atol, rtol=1e-6)


# ----------------------------------------------------------------------------- PIL parity
SIZES = [(640, 480), (480, 640), (100, 30), (30, 100), (7, 5), (1, 1), (224, 224), (225, 224), (300, 301)]


@pytest.mark.parametrize("width,height", SIZES)
def test_clip_pil_sizes(width, height):
    _assert_same(_clip(), _hf_clip(), _noise(width, height))


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "LA", "P", "CMYK", "I;16", "1"])
def test_clip_pil_modes(mode):
    image = _photo(97, 61, mode=mode)
    _assert_same(_clip(), _hf_clip(), image)


def test_palette_with_transparency_composited_on_white():
    image = _photo(40, 30).convert("P")
    image.info["transparency"] = 3
    _assert_same(_clip(), _hf_clip(), image)


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_clip_without_rgb_conversion(mode):
    image = _photo(50, 70, mode=mode)
    kwargs = {"do_convert_rgb": False}
    if mode == "L":
        kwargs.update(image_mean=[0.5], image_std=[0.25])
    else:
        kwargs.update(image_mean=[0.5] * 4, image_std=[0.25] * 4)
    _assert_same(_clip(**kwargs), _hf_clip(**kwargs), image)


@pytest.mark.parametrize("kwargs", [
    {},
    {"do_center_crop": True},
    {"do_center_crop": True, "rescale_offset": True, "include_top": False},
    {"include_top": False, "do_normalize": False},
    {"size": {"height": 289, "width": 289}, "image_mean": [0.485, 0.456, 0.406],
     "image_std": [0.229, 0.224, 0.225], "resample": 2, "include_top": False},
])
@pytest.mark.parametrize("width,height", [(640, 480), (120, 200)])
def test_efficientnet_parity(kwargs, width, height):
    _assert_same(_effnet(**kwargs), _hf_effnet(**kwargs), _noise(width, height))


def test_batch_of_mixed_sizes_and_order():
    images = [_noise(640, 480, 1), _noise(100, 30, 2), _photo(33, 77, 3, "L"), _noise(640, 480, 4)]
    _assert_same(_clip(), _hf_clip(), images)


# ----------------------------------------------------------------------------- arrays and tensors
def _hwc(seed=0, h=90, w=120):
    return np.asarray(_noise(w, h, seed))


@pytest.mark.parametrize("make", [
    lambda: _hwc(),                                          # HWC uint8
    lambda: np.ascontiguousarray(_hwc().transpose(2, 0, 1)),  # CHW uint8
    lambda: _hwc().astype(np.float32) / 255,                 # HWC float in [0, 1]
    lambda: _hwc().astype(np.float64),                       # float holding whole numbers
    lambda: torch.from_numpy(_hwc().transpose(2, 0, 1).copy()),
    lambda: torch.from_numpy(_hwc().astype(np.float32) / 255),
    lambda: np.stack([_hwc(1), _hwc(2)]),                    # a 4-d batch
    lambda: np.asarray(_photo(40, 50, mode="L"))[..., None],  # (H, W, 1)
    lambda: np.asarray(_photo(40, 50, mode="RGBA")),         # (H, W, 4)
])
def test_arrays_and_tensors(make):
    _assert_same(_clip(), _hf_clip(), make())
    _assert_same(_effnet(), _hf_effnet(), make(), do_convert_rgb=True)


def test_arrays_without_resize_or_normalize():
    image = _hwc().astype(np.float32) / 255
    kwargs = {"do_resize": False, "do_center_crop": False}
    _assert_same(_clip(), _hf_clip(), image, **kwargs)
    raw = _hwc()
    a = _clip()(raw, do_rescale=False, do_normalize=False, return_tensors="pt").pixel_values
    b = _hf_clip()(raw, do_rescale=False, do_normalize=False, return_tensors="pt").pixel_values
    assert a.dtype == b.dtype and torch.equal(a, b)


def test_grayscale_2d_array_is_accepted():
    gray = np.asarray(_photo(64, 48, mode="L"))
    a = _pv(_clip(), gray)
    b = _pv(_hf_clip(), gray[..., None])
    torch.testing.assert_close(a, b, atol=ATOL, rtol=0)


def test_input_data_format_override():
    chw = np.ascontiguousarray(_hwc(h=3, w=4).transpose(2, 0, 1))  # ambiguous (3, 3, 4)
    for fmt in ("channels_first", "channels_last"):
        image = chw if fmt == "channels_first" else chw.transpose(1, 2, 0)
        _assert_same(_clip(), _hf_clip(), image, input_data_format=fmt)


# ----------------------------------------------------------------------------- single / list / outputs
def test_single_vs_list_and_return_types():
    processor = CLIPImageProcessor()
    image = _noise(64, 48)
    single = processor(image, return_tensors="pt").pixel_values
    batch = processor([image, image, image], return_tensors="pt").pixel_values
    assert single.shape == (1, 3, 224, 224) and batch.shape == (3, 3, 224, 224)
    torch.testing.assert_close(batch[1:2], single)
    listed = processor([image, image])["pixel_values"]
    assert isinstance(listed, list) and listed[0].dtype == np.float32 and listed[0].shape == (3, 224, 224)
    as_np = processor(image, return_tensors="np").pixel_values
    assert isinstance(as_np, np.ndarray) and as_np.shape == (1, 3, 224, 224)
    nested = processor([[image], [image, image]], return_tensors="pt").pixel_values
    assert nested.shape == (3, 3, 224, 224)
    assert processor(image, data_format="channels_last", return_tensors="pt").pixel_values.shape == (1, 224, 224, 3)
    assert processor.model_input_names == ["pixel_values"]


def test_different_output_shapes():
    processor, theirs = _clip(do_center_crop=False), _hf_clip(do_center_crop=False)
    images = [_noise(640, 480), _noise(30, 100)]
    ours = processor(images)["pixel_values"]
    ref = theirs(images)["pixel_values"]
    assert [o.shape for o in ours] == [r.shape for r in ref]
    for o, r in zip(ours, ref):
        np.testing.assert_allclose(o, r, atol=ATOL, rtol=0)
    with pytest.raises(InvalidInputError, match="different shapes"):
        processor(images, return_tensors="pt")
    padded = processor(images, do_pad=True, return_tensors="pt").pixel_values
    assert padded.shape == (2, 3, 746, 298)
    torch.testing.assert_close(padded, _pv(theirs, images, do_pad=True), atol=ATOL, rtol=0)


# ----------------------------------------------------------------------------- per-call overrides
@pytest.mark.parametrize("overrides", [
    {"size": {"height": 64, "width": 96}},
    {"size": 100},
    {"size": {"shortest_edge": 100, "longest_edge": 150}},
    {"size": {"max_height": 90, "max_width": 120}, "crop_size": 60},
    {"crop_size": 100},
    {"crop_size": {"height": 150, "width": 300}},  # larger than the resized image: zero padding
    {"do_center_crop": False, "size": {"height": 50, "width": 70}},
    {"do_resize": False, "crop_size": {"height": 500, "width": 31}},
    {"resample": PIL.Image.BILINEAR},
    {"resample": PIL.Image.LANCZOS},
    {"resample": PIL.Image.NEAREST},
    {"do_rescale": False},
    {"do_normalize": False},
    {"image_mean": 0.5, "image_std": 0.25},
    {"rescale_factor": 1 / 127.5},
    {"do_convert_rgb": False},
])
def test_clip_call_overrides(overrides):
    images = [_noise(200, 130, 5), _noise(90, 160, 6)]
    _assert_same(_clip(), _hf_clip(), images, **overrides)


def test_overrides_do_not_stick():
    processor = CLIPImageProcessor()
    processor(_noise(50, 50), size={"height": 10, "width": 10}, do_center_crop=False)
    assert processor.size == {"shortest_edge": 224}
    assert processor(_noise(50, 50), return_tensors="pt").pixel_values.shape == (1, 3, 224, 224)


def test_use_square_size():
    processor = CLIPImageProcessor(use_square_size=True)
    assert processor.size == {"height": 224, "width": 224}


# ----------------------------------------------------------------------------- default fast path
def _levels(ours, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|a - b| in 8-bit levels: normalisation undone (EfficientNet's include_top divides by std twice)."""
    std = torch.tensor(ours.image_std).view(1, 3, 1, 1)
    if isinstance(ours, EfficientNetImageProcessor) and ours.include_top:
        std = std * std
    return ((a - b) * std * 255).abs()


def test_default_is_the_fast_path_and_use_fast_false_the_exact_one():
    assert CLIPImageProcessor().backend == "torch" and CLIPImageProcessor().is_fast
    assert EfficientNetImageProcessor().backend == "torch"
    assert CLIPImageProcessor(use_fast=True).backend == "torch"
    assert CLIPImageProcessor(use_fast=False).backend == "pil" and not CLIPImageProcessor(use_fast=False).is_fast
    assert CLIPImageProcessor(backend="pil").backend == "pil"
    assert CLIPImageProcessor(backend="torchvision", use_fast=True).backend == "torch"
    with pytest.raises(InvalidInputError, match="use_fast=False or backend='pil'"):
        CLIPImageProcessor(backend="torch", use_fast=False)
    with pytest.raises(InvalidInputError, match="use_fast='yes'"):
        CLIPImageProcessor(use_fast="yes")


def test_use_fast_from_pretrained_and_auto(tmp_path):
    _hf_clip(size={"shortest_edge": 64}, crop_size=64).save_pretrained(tmp_path)
    assert polymodal.AutoImageProcessor.from_pretrained(tmp_path).backend == "torch"
    assert polymodal.AutoImageProcessor.from_pretrained(tmp_path, use_fast=False).backend == "pil"
    assert polymodal.AutoImageProcessor.from_pretrained(tmp_path, backend="pil").backend == "pil"
    assert CLIPImageProcessor.from_pretrained(tmp_path, use_fast=False).backend == "pil"
    # The choice is the caller's: never written, and a file that holds it does not decide.
    CLIPImageProcessor(use_fast=False).save_pretrained(tmp_path / "saved")
    data = json.loads((tmp_path / "saved" / "preprocessor_config.json").read_text())
    assert "use_fast" not in data and "backend" not in data
    data["use_fast"] = False
    (tmp_path / "saved" / "preprocessor_config.json").write_text(json.dumps(data))
    assert CLIPImageProcessor.from_pretrained(tmp_path / "saved").backend == "torch"


FAST_CASES = {
    "downscale 640x480": lambda: _photo(640, 480, 7),
    "downscale portrait": lambda: _photo(480, 640, 8),
    "upscale 100x60": lambda: _photo(100, 60, 12),
    "upscale tiny 9x7": lambda: _photo(9, 7, 13),
    "odd 333x251": lambda: _photo(333, 251, 14),
    "odd 225x224": lambda: _photo(225, 224, 15),
    "RGBA": lambda: _photo(301, 199, 16, mode="RGBA"),
    "grayscale": lambda: _photo(257, 190, 17, mode="L"),
    "noise 333x250": lambda: _noise(333, 250, 9),
    "float array in [0, 1]": lambda: np.asarray(_photo(120, 90, 11)).astype(np.float32) / 255,
}


@pytest.mark.parametrize("case", list(FAST_CASES))
@pytest.mark.parametrize("cls,hf", [(CLIPImageProcessor, _hf_clip), (EfficientNetImageProcessor, _hf_effnet)])
def test_default_fast_path_within_two_levels(cls, hf, case):
    """The default path against Transformers' slow (PIL) processor: at most 2 of 255 levels apart."""
    ours, theirs = cls(), hf()
    images = [FAST_CASES[case]()]
    # EfficientNet does not convert to RGB by default (Transformers neither): ask, for RGBA / grey
    a, b = _pv(ours, images, do_convert_rgb=True), _pv(theirs, images, do_convert_rgb=True)
    assert a.shape == b.shape and a.dtype == b.dtype
    levels = _levels(ours, a, b)
    assert levels.max().item() <= 2 + 1e-3, case
    assert levels.mean().item() < 0.25, case


def test_default_fast_path_on_a_mixed_batch():
    images = [_photo(640, 480, 7), _photo(480, 640, 8), _noise(333, 250, 9), _photo(64, 48, 10), _photo(640, 480, 3),
              np.asarray(_noise(120, 90, 11)).astype(np.float32) / 255]
    ours = CLIPImageProcessor()
    a, b = _pv(ours, images), _pv(_hf_clip(), images)
    assert _levels(ours, a, b).max().item() <= 2 + 1e-3
    # the same images one at a time give the same pixels as in the batch
    torch.testing.assert_close(_pv(ours, images[3]), a[3:4], atol=0, rtol=0)


def test_torch_backend_falls_back_for_other_filters():
    image = _noise(100, 80)
    _assert_same(CLIPImageProcessor(backend="torch"), _hf_clip(), image, resample=PIL.Image.LANCZOS)


# ----------------------------------------------------------------------------- save / load
def test_save_load_both_directions(tmp_path):
    ours = _clip(crop_size=200, image_mean=[0.4, 0.5, 0.6])
    ours.save_pretrained(tmp_path / "ours")
    data = json.loads((tmp_path / "ours" / "preprocessor_config.json").read_text())
    assert data["image_processor_type"] == "CLIPImageProcessor"
    assert data["crop_size"] == {"height": 200, "width": 200} and data["resample"] == 3
    theirs = transformers.AutoImageProcessor.from_pretrained(tmp_path / "ours")
    image = _noise(300, 200)
    _assert_same(ours, theirs, image)

    _hf_effnet(include_top=False, size=300).save_pretrained(tmp_path / "theirs")
    loaded = EfficientNetImageProcessor.from_pretrained(tmp_path / "theirs", use_fast=False)
    assert loaded.include_top is False and loaded.size == {"height": 300, "width": 300}
    _assert_same(loaded, _hf_effnet(include_top=False, size=300), image)
    reloaded = CLIPImageProcessor.from_pretrained(tmp_path / "ours", do_center_crop=False)
    assert reloaded.do_center_crop is False and reloaded.crop_size == {"height": 200, "width": 200}


def test_legacy_config_and_unknown_keys(tmp_path):
    config = {"crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
              "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.48145466, 0.4578275, 0.40821073],
              "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 224,
              "processor_class": "CLIPProcessor", "my_extra_key": 7}
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    ours = CLIPImageProcessor.from_pretrained(tmp_path, use_fast=False)
    assert ours.size == {"shortest_edge": 224} and ours.crop_size == {"height": 224, "width": 224}
    assert ours.my_extra_key == 7
    _assert_same(ours, transformers.CLIPImageProcessorPil.from_pretrained(tmp_path), _noise(500, 300))
    ours.save_pretrained(tmp_path / "again")
    data = json.loads((tmp_path / "again" / "preprocessor_config.json").read_text())
    assert data["my_extra_key"] == 7 and "feature_extractor_type" not in data


@pytest.mark.parametrize("name,cls", [
    ("CLIPImageProcessor", CLIPImageProcessor), ("CLIPImageProcessorFast", CLIPImageProcessor),
    ("CLIPImageProcessorPil", CLIPImageProcessor), ("EfficientNetImageProcessor", EfficientNetImageProcessor),
    ("EfficientNetImageProcessorFast", EfficientNetImageProcessor),
    ("EfficientNetImageProcessorPil", EfficientNetImageProcessor),
])
def test_auto_image_processor_dispatch(tmp_path, name, cls):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_processor_type": name, "size": 100}))
    processor = polymodal.AutoImageProcessor.from_pretrained(tmp_path)
    assert type(processor) is cls
    assert CLIPImageProcessorFast is CLIPImageProcessor and EfficientNetImageProcessorFast is EfficientNetImageProcessor


@pytest.mark.parametrize("model_type,cls", [("clip", CLIPImageProcessor), ("align", EfficientNetImageProcessor)])
def test_auto_image_processor_from_model_type(tmp_path, model_type, cls):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"do_resize": True}))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    assert type(polymodal.AutoImageProcessor.from_pretrained(tmp_path)) is cls


def test_transformers_saved_pil_class_loads(tmp_path):
    _hf_clip().save_pretrained(tmp_path)
    processor = polymodal.AutoImageProcessor.from_pretrained(tmp_path, use_fast=False)
    assert type(processor) is CLIPImageProcessor and processor.backend == "pil"
    _assert_same(processor, _hf_clip(), _noise(123, 77))


# ----------------------------------------------------------------------------- paths and bad input
def test_image_paths(tmp_path):
    path = tmp_path / "photo.png"
    _photo(150, 100).save(path)
    jpg = tmp_path / "photo.jpg"
    _photo(150, 100).save(jpg, quality=90)
    for p in (str(path), str(jpg)):
        _assert_same(_clip(), _hf_clip(), [p])
    assert _pv(_clip(), path).shape == (1, 3, 224, 224)  # a pathlib.Path works too


def test_missing_file(tmp_path):
    with pytest.raises(InvalidInputError, match="not found.*nope.png"):
        CLIPImageProcessor()(str(tmp_path / "nope.png"))


def test_non_image_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_bytes(b"this is not an image at all")
    with pytest.raises(InvalidInputError, match="notes.jpg.*not a readable image"):
        CLIPImageProcessor()([_noise(10, 10), str(path)])


@pytest.mark.parametrize("bad,match", [
    ([], "empty"),
    (np.zeros(10, np.uint8), "dimensions"),
    (np.zeros((1, 2, 3, 4, 5), np.uint8), "dimensions"),
    (np.zeros((10, 10, 7), np.uint8), "channel axis"),
    (np.full((10, 10, 3), 3.5, np.float32), r"\[0, 1\]"),
    (np.zeros((10, 10, 3), bool), "numbers"),
    (42, "PIL image"),
    ("https://example.com/cat.png", "URL"),
])
@pytest.mark.parametrize("use_fast", [True, False])
def test_bad_input(bad, match, use_fast):
    with pytest.raises(InvalidInputError, match=match):
        CLIPImageProcessor(use_fast=use_fast)(bad)


def test_bad_options():
    processor = CLIPImageProcessor()
    image = _noise(20, 20)
    with pytest.raises(InvalidInputError, match="unknown option"):
        processor(image, sise=3)
    with pytest.raises(InvalidInputError, match="size"):
        processor(image, size={"foo": 3})
    with pytest.raises(InvalidInputError, match="return_tensors"):
        processor(image, return_tensors="tf")
    with pytest.raises(InvalidInputError, match="image_mean"):
        processor(image, image_mean=[0.1, 0.2])
    with pytest.raises(InvalidInputError, match="backend='opencv'.*use_fast"):
        CLIPImageProcessor(backend="opencv")
    assert isinstance(InvalidInputError("x"), ValueError)
