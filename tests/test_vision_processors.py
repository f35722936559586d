"""The vision families' image processors against Transformers' PIL (slow) path: the bit-exact
path (``use_fast=False``) at 1e-5, the default fast path within two 8-bit levels."""

from __future__ import annotations

import warnings

import numpy as np
import PIL.Image
import pytest
import torch
from vision_helpers import photo

import polymodal
import polymodal.core.errors

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()
warnings.filterwarnings("ignore", message=".*torchvision.*")

# (polymodal class, Transformers class, constructor options)
PROCESSORS = [
    ("ViTImageProcessor", "ViTImageProcessor", {}),
    ("ViTImageProcessor", "ViTImageProcessor", {"size": {"height": 48, "width": 40}, "resample": 3}),
    ("DeiTImageProcessor", "DeiTImageProcessor", {}),
    ("BitImageProcessor", "BitImageProcessor", {}),
    ("BeitImageProcessor", "BeitImageProcessor", {"size": {"height": 40, "width": 40}}),
    ("ConvNextImageProcessor", "ConvNextImageProcessor", {}),
    ("ConvNextImageProcessor", "ConvNextImageProcessor", {"size": {"shortest_edge": 64}, "crop_pct": 0.9}),
    ("MobileNetV2ImageProcessor", "MobileNetV2ImageProcessor", {"size": {"shortest_edge": 40},
                                                                "crop_size": {"height": 32, "width": 36}}),
]


def _files(tmp_path):
    """PNG, JPEG, RGBA PNG, greyscale PNG and an EXIF-rotated JPEG, as paths."""
    paths = {}
    for name, image, kwargs in [
        ("plain.png", photo(150, 100), {}),
        ("photo.jpg", photo(97, 131, seed=1), {"quality": 90}),
        ("alpha.png", photo(64, 80, seed=2, mode="RGBA"), {}),
        ("grey.png", photo(120, 90, seed=3, mode="L"), {}),
    ]:
        image.save(tmp_path / name, **kwargs)
        paths[name] = tmp_path / name
    exif = PIL.Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    photo(160, 90, seed=4).save(tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    paths["rotated.jpg"] = tmp_path / "rotated.jpg"
    return paths


def _theirs(cls_name: str, kwargs: dict):
    base = getattr(transformers, cls_name)
    pil = getattr(transformers, cls_name + "Pil", None) or getattr(transformers, cls_name.replace("Image", "ImageProcessor") + "Pil", None)
    return (pil or base)(**kwargs)


def _pv(processor, images):
    return processor(images, return_tensors="pt").pixel_values


@pytest.mark.parametrize("ours_name,theirs_name,kwargs", PROCESSORS)
def test_files_match_transformers(tmp_path, ours_name, theirs_name, kwargs):
    ours, theirs = getattr(polymodal, ours_name)(use_fast=False, **kwargs), _theirs(theirs_name, kwargs)
    for name, path in _files(tmp_path).items():
        expected = _pv(theirs, transformers.image_utils.load_image(str(path)))
        torch.testing.assert_close(_pv(ours, str(path)), expected, atol=1e-5, rtol=1e-6, msg=name)


@pytest.mark.parametrize("ours_name,theirs_name,kwargs", PROCESSORS)
def test_pil_modes_arrays_and_tensors(ours_name, theirs_name, kwargs):
    ours, theirs = getattr(polymodal, ours_name)(use_fast=False, **kwargs), _theirs(theirs_name, kwargs)
    rgb = photo(90, 70, seed=5)
    hwc = np.asarray(rgb)
    inputs = [rgb, hwc, np.moveaxis(hwc, -1, 0).copy(), torch.from_numpy(hwc.copy()),
              torch.from_numpy(hwc.astype(np.float32) / 255), photo(40, 30, seed=6)]
    for i, image in enumerate(inputs):
        torch.testing.assert_close(_pv(ours, image), _pv(theirs, image), atol=1e-5, rtol=1e-6, msg=str(i))
    torch.testing.assert_close(_pv(ours, inputs), _pv(theirs, inputs), atol=1e-5, rtol=1e-6)


@pytest.mark.parametrize("ours_name,theirs_name,kwargs", PROCESSORS[:1])
@pytest.mark.parametrize("mode", ["RGBA", "L", "P"])
def test_other_pil_modes(ours_name, theirs_name, kwargs, mode):
    """In-memory RGBA / greyscale images: an error naming the fix (Transformers raises too), and the
    same pixels with do_convert_rgb=True."""
    ours, theirs = getattr(polymodal, ours_name)(use_fast=False, **kwargs), _theirs(theirs_name, kwargs)
    image = photo(50, 60, mode=mode)
    if mode != "P":
        with pytest.raises(polymodal.core.errors.InvalidInputError, match="do_convert_rgb=True"):
            _pv(ours, image)
    converted = ours(image, do_convert_rgb=True, return_tensors="pt").pixel_values
    expected = theirs(image, do_convert_rgb=True, return_tensors="pt").pixel_values
    torch.testing.assert_close(converted, expected, atol=1e-5, rtol=1e-6)


@pytest.mark.parametrize("ours_name,theirs_name,kwargs", PROCESSORS[:1])
def test_save_load_both_directions(tmp_path, ours_name, theirs_name, kwargs):
    _theirs(theirs_name, kwargs).save_pretrained(tmp_path / "a")
    loaded = polymodal.AutoImageProcessor.from_pretrained(tmp_path / "a", use_fast=False)
    assert type(loaded).__name__ == ours_name
    getattr(polymodal, ours_name)(use_fast=False, **kwargs).save_pretrained(tmp_path / "b")
    back = transformers.AutoImageProcessor.from_pretrained(tmp_path / "b")
    image = photo(77, 55)
    torch.testing.assert_close(_pv(loaded, image), _pv(back, image), atol=1e-5, rtol=1e-6)


@pytest.mark.parametrize("ours_name,theirs_name,kwargs", PROCESSORS)
def test_default_fast_path_within_two_levels(ours_name, theirs_name, kwargs):
    """Default (fast) path vs Transformers' PIL path: upscale, downscale, odd sizes, RGBA and grey."""
    ours, theirs = getattr(polymodal, ours_name)(**kwargs), _theirs(theirs_name, kwargs)
    assert ours.backend == "torch"
    std = torch.tensor(ours.image_std).view(1, 3, 1, 1)
    images = [photo(640, 480, seed=7), photo(97, 131, seed=8), photo(20, 14, seed=9), photo(333, 251, seed=10),
              photo(64, 80, seed=11, mode="RGBA"), photo(120, 90, seed=12, mode="L")]
    for i, image in enumerate(images):
        a = ours(image, do_convert_rgb=True, return_tensors="pt").pixel_values
        b = theirs(image, do_convert_rgb=True, return_tensors="pt").pixel_values
        assert a.shape == b.shape, i
        levels = ((a - b) * std * 255).abs()  # in 8-bit levels, normalisation undone
        assert levels.max().item() <= 2 + 1e-3, (i, levels.max().item())
        assert levels.mean().item() < 0.25, i


def test_processor_paths_get_the_image_checks(tmp_path, monkeypatch):
    """Paths given straight to a processor go through the same decoder as the pipeline's."""
    import polymodal.vision.image_input as image_input

    grey = np.linspace(0, 65535, 40 * 30).reshape(30, 40).astype(np.uint16)
    PIL.Image.fromarray(grey).save(tmp_path / "deep.png")
    pixels = polymodal.ViTImageProcessor(do_normalize=False, do_resize=False)(str(tmp_path / "deep.png"),
                                                                             return_tensors="pt").pixel_values
    assert pixels.shape == (1, 3, 30, 40) and pixels.max() > 0.99  # scaled to 8 bits, not clipped to white
    assert pixels.min() < 0.01
    monkeypatch.setattr(image_input, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(polymodal.core.errors.InvalidInputError, match="over the limit"):
        polymodal.ViTImageProcessor()(str(tmp_path / "deep.png"))
