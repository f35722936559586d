"""One image from anything a user may pass (path, bytes, data URI, PIL image, array) with the
checks that keep bad input from reaching a kernel or giving a silently wrong answer:

* unreadable, truncated or non-image files → an error naming the file;
* images with no pixels (0 x N) → an error;
* decompression bombs: the pixel count is read from the header and capped (``MAX_IMAGE_PIXELS``,
  Pillow's own limit by default) *before* any pixel is decoded;
* 16-bit greyscale (``I;16``, ``I``) images are scaled to 8 bits (Pillow's ``convert("RGB")``
  would clip every value above 255 to white); CMYK and palette images go through Pillow's RGB
  conversion; EXIF orientation is applied, as Transformers' ``load_image`` does;
* arrays must be 2-d or 3-d with the channels (1, 3 or 4) first or last.
"""

from __future__ import annotations

import base64
import io
import os

import numpy as np
import PIL.Image
import PIL.ImageOps
import torch

from ..core.errors import InvalidInputError

# Cap on width x height; larger images are refused before decoding (set to None to lift it).
MAX_IMAGE_PIXELS: int | None = PIL.Image.MAX_IMAGE_PIXELS


def where(index: int | None, value=None) -> str:
    """'image 3 ('cat.png')' / 'the image' for messages."""
    name = f" ({os.fspath(value)!r})" if isinstance(value, (str, os.PathLike)) and len(str(value)) < 200 else ""
    return (f"image {index}" if index is not None else "the image") + name


def image_from_cell(value):
    """What a dataset holds for an image, as a path, bytes or PIL image: a row ``{"image": …}``
    gives its image; ``datasets``' undecoded ``Image`` cell ``{"bytes", "path"}`` its bytes (or path)."""
    if isinstance(value, dict) and "image" in value:
        value = value["image"]
    if isinstance(value, dict) and ("bytes" in value or "path" in value):
        value = value.get("bytes") if value.get("bytes") is not None else value.get("path")
    return value


def open_image(value, index: int | None = None, max_pixels: int | None = -1) -> PIL.Image.Image:
    """A path, ``bytes``, ``data:image/…;base64,`` URI or PIL image → an RGB PIL image."""
    cap = MAX_IMAGE_PIXELS if max_pixels == -1 else max_pixels
    label = where(index, value)
    if isinstance(value, PIL.Image.Image):
        _check_size(value, label, cap)
        return _to_rgb(value, label)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    elif isinstance(value, (str, os.PathLike)):
        data = _read(os.fspath(value), label)
    else:
        raise InvalidInputError(f"Cannot read {label} from {type(value).__name__}; pass a file path, bytes, a PIL "
                                "image or an array.")
    return _decode(data, label, cap)


def decode_bytes(data: bytes, name: str) -> PIL.Image.Image:
    """Decode an image file's bytes with the checks above (``name`` goes into the messages)."""
    return _decode(data, name, MAX_IMAGE_PIXELS)


def _read(source: str, label: str) -> bytes:
    if source.startswith(("http://", "https://")):
        raise InvalidInputError(f"{label} is a URL; polymodal does not download at run time. Download it and pass "
                                "the file path.")
    if source.startswith("data:image/"):
        try:
            return base64.b64decode(source.split(",", 1)[-1], validate=True)
        except ValueError:
            raise InvalidInputError(f"{label}: the data URI is not valid base64.") from None
    if not os.path.isfile(source):
        raise InvalidInputError(f"{label}: file not found. Check the path.")
    with open(source, "rb") as f:
        return f.read()


def _decode(data: bytes, label: str, cap: int | None) -> PIL.Image.Image:
    if not data:
        raise InvalidInputError(f"{label} is empty (0 bytes).")
    try:
        with _bomb_check_off():
            image = PIL.Image.open(io.BytesIO(data))  # reads the header only
    except Exception as exc:  # noqa: BLE001 - Pillow raises UnidentifiedImageError, OSError, SyntaxError …
        raise InvalidInputError(f"{label} is not a readable image ({type(exc).__name__}). Pass a PNG, JPEG or "
                                "another format Pillow can open.") from None
    _check_size(image, label, cap)
    try:
        with _bomb_check_off():
            image.load()
    except Exception as exc:  # noqa: BLE001
        raise InvalidInputError(f"{label} is truncated or corrupt ({type(exc).__name__}: {exc}). Re-export or "
                                "re-download the file.") from None
    return _to_rgb(image, label)


class _bomb_check_off:
    """Our own cap replaces Pillow's (which warns or raises with a less helpful message)."""

    def __enter__(self):
        self.saved = PIL.Image.MAX_IMAGE_PIXELS
        PIL.Image.MAX_IMAGE_PIXELS = None

    def __exit__(self, *exc):
        PIL.Image.MAX_IMAGE_PIXELS = self.saved


def _check_size(image: PIL.Image.Image, label: str, cap: int | None) -> None:
    width, height = image.size
    if width == 0 or height == 0:
        raise InvalidInputError(f"{label} has no pixels ({width}x{height}).")
    if cap is not None and width * height > cap:
        raise InvalidInputError(
            f"{label} is {width}x{height} = {width * height:,} pixels, over the limit of {cap:,} (a guard against "
            "decompression bombs). Downscale it first, or raise polymodal.vision.image_input.MAX_IMAGE_PIXELS if "
            "you trust the file."
        )


def _to_rgb(image: PIL.Image.Image, label: str) -> PIL.Image.Image:
    image = PIL.ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit (or 32-bit integer) greyscale: scale to 8 bits instead of letting Pillow clip at 255.
        array = np.asarray(image).astype(np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        image = PIL.Image.fromarray(np.round(array.clip(0, top) * (255.0 / top)).astype(np.uint8), "L")
    elif image.mode == "F":
        raise InvalidInputError(f"{label} is a 32-bit float image (mode F); convert it to 8-bit first.")
    return image.convert("RGB")


def check_array(value, index: int | None = None):
    """A numpy array or torch tensor that is one image: (H, W), (H, W, C) or (C, H, W), C in 1/3/4."""
    label = where(index)
    shape = tuple(value.shape)
    if value.ndim not in (2, 3):
        raise InvalidInputError(f"{label} has shape {shape}; expected one image of shape (H, W), (H, W, C) or "
                                "(C, H, W). Pass a list for several images.")
    if 0 in shape:
        raise InvalidInputError(f"{label} has no pixels (shape {shape}).")
    if value.ndim == 3 and shape[0] not in (1, 3, 4) and shape[-1] not in (1, 3, 4):
        raise InvalidInputError(
            f"{label} has shape {shape}: neither the first nor the last axis holds 1, 3 or 4 channels. Put the "
            "channels last (H, W, C) or first (C, H, W), e.g. array.transpose(1, 2, 0)."
        )
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise InvalidInputError(f"{label} has dtype {array.dtype}; pass uint8 values in [0, 255] or floats in [0, 1].")
    if np.issubdtype(array.dtype, np.integer) and array.dtype != np.uint8 and (array.min() < 0 or array.max() > 255):
        raise InvalidInputError(
            f"{label} holds integers in [{array.min()}, {array.max()}], outside 8-bit [0, 255] (a 16-bit image?). "
            "Scale it first, e.g. (array / 65535).astype('float32') for 16-bit data."
        )
    return value
