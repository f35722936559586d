"""Image inputs: files, PIL images, numpy arrays and torch tensors → a flat list of images.

Every image leaves here either as a PIL image in a mode Pillow resizes exactly like
Transformers' array round trip would (RGB, L, RGBA), or as a (C, H, W) numpy array.
Keeping PIL images as they are saves an array → PIL copy per image before the resize.
"""

from __future__ import annotations

import base64
import os

import numpy as np
import PIL.Image
import PIL.ImageOps
import torch

from ..core.errors import InvalidInputError
from .transforms import convert_to_rgb, infer_channel_dimension_format

# Modes whose np.array round trip gives back the same image, so resizing the PIL image
# directly equals Transformers' path through a channels-first array.
_ROUND_TRIP_MODES = ("RGB", "L", "RGBA")


def load_image(image, timeout: float | None = None) -> PIL.Image.Image:
    """Open a path (or a ``data:image/...;base64,`` string, or a PIL image) as an RGB PIL image.

    EXIF orientation is applied, as Transformers' ``load_image`` does. A missing or
    unreadable file raises ``InvalidInputError`` naming it.
    """
    if isinstance(image, PIL.Image.Image):
        pil = image
    elif isinstance(image, (str, os.PathLike)):
        pil = _open(os.fspath(image))
    else:
        raise InvalidInputError(
            f"Cannot load an image from {type(image).__name__}; pass a file path, a PIL image, "
            "a numpy array or a torch tensor."
        )
    return PIL.ImageOps.exif_transpose(pil).convert("RGB")


def _open(source: str) -> PIL.Image.Image:
    if source.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"Image '{source}' is a URL; polymodal does not download images. Download it and pass the file path."
        )
    if source.startswith("data:image/"):
        return _open_bytes(base64.b64decode(source.split(",", 1)[-1]), "the base64 data URI")
    if not os.path.isfile(source):
        raise InvalidInputError(f"Image file not found: '{source}'. Check the path.")
    try:
        with open(source, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise InvalidInputError(f"Image file '{source}' cannot be read: {exc.strerror or exc}.") from None
    return _open_bytes(data, f"'{source}'")


def _open_bytes(data: bytes, name: str) -> PIL.Image.Image:
    # issue 15: one decoder for files everywhere — pixel cap read from the header before decoding,
    # truncated files named, 16-bit greyscale scaled instead of clipped (vision/image_input.py).
    from .image_input import decode_bytes

    return decode_bytes(data, name)


def is_image(value) -> bool:
    return isinstance(value, (PIL.Image.Image, np.ndarray, torch.Tensor))


def make_flat_list_of_images(images) -> list:
    """A single image, a 4-d batch, a list (or list of lists) of images → a flat list.

    Paths are loaded here. 2-d arrays are single grayscale images; 3-d ones single
    images; 4-d ones batches.
    """
    if isinstance(images, (str, os.PathLike)) or is_image(images):
        items = [images]
    elif isinstance(images, (list, tuple)):
        items = [y for x in images for y in (x if isinstance(x, (list, tuple)) else [x])]
    else:
        raise InvalidInputError(
            f"images must be a PIL image, numpy array, torch tensor, file path or a list of them; got "
            f"{type(images).__name__}."
        )
    if not items:
        raise InvalidInputError("images is an empty list; pass at least one image.")
    flat = []
    for item in items:
        flat.extend(_unbatch(item))
    return flat


def _unbatch(item) -> list:
    if isinstance(item, (str, os.PathLike)):
        return [load_image(item)]
    if isinstance(item, PIL.Image.Image):
        return [item]
    if not is_image(item):
        raise InvalidInputError(
            f"Each image must be a PIL image, numpy array, torch tensor or file path; got {type(item).__name__}."
        )
    if item.ndim in (2, 3):
        return [item]
    if item.ndim == 4:
        return list(item)
    raise InvalidInputError(
        f"An image array must have 2 (H, W), 3 (H, W, C or C, H, W) or 4 (batch) dimensions; got shape "
        f"{tuple(item.shape)}."
    )


def prepare_image(image, do_convert_rgb: bool, input_data_format: str | None = None):
    """One image → a PIL image in a round-trip mode, or a (C, H, W) numpy array.

    Follows Transformers' PIL backend: RGB conversion first (so a PIL image's mode and
    palette transparency count), then channels first.
    """
    if isinstance(image, PIL.Image.Image):
        if do_convert_rgb:
            return convert_to_rgb(image)
        if image.mode in _ROUND_TRIP_MODES:
            return image
        image = np.array(image)
        return image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0)
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else image
    if array.dtype == np.bool_ or not (np.issubdtype(array.dtype, np.number)):
        raise InvalidInputError(f"Image arrays must hold numbers; got dtype {array.dtype}.")
    if array.ndim == 2:
        array = array[None]
        input_data_format = "channels_first"
    fmt = input_data_format or infer_channel_dimension_format(array.shape)
    if do_convert_rgb:
        array = convert_to_rgb(array, fmt)
    return np.moveaxis(array, -1, 0) if fmt == "channels_last" else array
