"""Image transforms with Transformers' exact rules: size dicts, resize, center crop, rescale, normalise.

``resize_pil`` goes through Pillow, as Transformers' PIL backend does, so the resampled pixels
are the same integers (the exact path, ``use_fast=False``). ``resize_batch_torch`` is the
default fast path: antialiased torch interpolation of a whole batch, within two 8-bit levels of
Pillow. Everything after the resize is one affine map per channel (``x * scale + offset``)
applied to the whole batch at once; see ``affine_numpy``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import PIL.Image
import torch

from ..core.errors import InvalidInputError

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_DEFAULT_MEAN = (0.485, 0.456, 0.406)
IMAGENET_DEFAULT_STD = (0.229, 0.224, 0.225)
IMAGENET_STANDARD_MEAN = (0.5, 0.5, 0.5)
IMAGENET_STANDARD_STD = (0.5, 0.5, 0.5)

PILImageResampling = PIL.Image.Resampling

# The key sets a size dict may have (Transformers' VALID_SIZE_DICT_KEYS).
VALID_SIZE_DICT_KEYS = (
    {"height", "width"},
    {"shortest_edge"},
    {"shortest_edge", "longest_edge"},
    {"longest_edge"},
    {"max_height", "max_width"},
)


# ----------------------------------------------------------------------------- size dicts
def get_size_dict(size, default_to_square: bool = True, param_name: str = "size") -> dict:
    """Turn an int, (height, width) pair or dict into a size dict, as Transformers' ``get_size_dict``.

    An int means a square when ``default_to_square`` (EfficientNet, crop sizes) and the
    shortest edge otherwise (CLIP's ``size``).
    """
    if isinstance(size, dict):
        size_dict = {k: v for k, v in size.items() if v is not None}
    elif isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size_dict = {"height": int(size), "width": int(size)} if default_to_square else {"shortest_edge": int(size)}
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        size_dict = {"height": int(size[0]), "width": int(size[1])}
    else:
        raise InvalidInputError(
            f"{param_name}={size!r} is not a valid size: pass an int, a (height, width) pair or a dict "
            f"with one of these key sets: {[sorted(k) for k in VALID_SIZE_DICT_KEYS]}."
        )
    if set(size_dict) not in VALID_SIZE_DICT_KEYS:
        raise InvalidInputError(
            f"{param_name}={size!r} has keys {sorted(size_dict)}; expected one of "
            f"{[sorted(k) for k in VALID_SIZE_DICT_KEYS]}."
        )
    return size_dict


def _shortest_edge_size(height: int, width: int, shortest: int, longest: int | None) -> tuple[int, int]:
    # Transformers' get_size_with_aspect_ratio (used when both edges are given).
    raw = None
    lo, hi = float(min(height, width)), float(max(height, width))
    if longest is not None and hi / lo * shortest > longest:
        raw = longest * lo / hi
        shortest = int(round(raw))
    scale_from = raw if raw is not None else shortest
    if (height <= width and height == shortest) or (width <= height and width == shortest):
        return height, width
    if width < height:
        return int(scale_from * height / width), shortest
    return shortest, int(scale_from * width / height)


def get_resize_output_image_size(height: int, width: int, size: dict) -> tuple[int, int]:
    """The (height, width) an image of ``height`` x ``width`` is resized to under ``size``."""
    if "shortest_edge" in size and "longest_edge" in size:
        return _shortest_edge_size(height, width, size["shortest_edge"], size["longest_edge"])
    if "shortest_edge" in size:
        # Transformers truncates the long edge (int), like torchvision's Resize.
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = size["shortest_edge"], int(size["shortest_edge"] * long / short)
        return (new_long, new_short) if width <= height else (new_short, new_long)
    if "max_height" in size and "max_width" in size:
        scale = min(size["max_height"] / height, size["max_width"] / width)
        return int(height * scale), int(width * scale)
    if "height" in size and "width" in size:
        return size["height"], size["width"]
    raise InvalidInputError(
        f"size={size!r} cannot drive a resize: it needs 'height' and 'width', 'shortest_edge' "
        "(optionally with 'longest_edge') or 'max_height' and 'max_width'."
    )


# ----------------------------------------------------------------------------- channels
def infer_channel_dimension_format(shape: Sequence[int], num_channels=(1, 3, 4)) -> str:
    """'channels_first' or 'channels_last' for a 3-d image shape; first wins when both fit."""
    if len(shape) != 3:
        raise InvalidInputError(f"Cannot tell the channel axis of an image of shape {tuple(shape)}; expected 3 dims.")
    if shape[0] in num_channels:
        return "channels_first"
    if shape[-1] in num_channels:
        return "channels_last"
    raise InvalidInputError(
        f"Cannot find the channel axis of an image of shape {tuple(shape)}: neither the first nor the last "
        f"axis has {'/'.join(map(str, num_channels))} channels. Pass input_data_format='channels_first' or "
        "'channels_last'."
    )


def to_channel_dimension_format(image: np.ndarray, channel_dim: str, input_channel_dim: str | None = None):
    """Move the channel axis of a 3-d (or batched) array to ``channel_dim``."""
    if input_channel_dim is None:
        input_channel_dim = infer_channel_dimension_format(image.shape[-3:])
    if input_channel_dim == channel_dim:
        return image
    return np.moveaxis(image, -1, -3) if channel_dim == "channels_first" else np.moveaxis(image, -3, -1)


def convert_to_rgb(image, input_data_format: str | None = None):
    """RGB with transparency composited onto white, as Transformers does.

    PIL images go through Pillow (so palette transparency counts); arrays are (H, W, C) or
    (C, H, W) with 1, 3 or 4 channels and keep their layout and dtype.
    """
    if isinstance(image, PIL.Image.Image):
        if image.mode == "RGB":
            return image  # Pillow's convert would only copy it
        if "A" in image.getbands() or image.info.get("transparency") is not None:
            rgba = image.convert("RGBA")
            white = PIL.Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return PIL.Image.alpha_composite(white, rgba).convert("RGB")
        return image.convert("RGB")
    fmt = input_data_format or infer_channel_dimension_format(image.shape)
    last = np.moveaxis(image, 0, -1) if fmt == "channels_first" else image  # (H, W, C)
    channels = last.shape[-1]
    if channels == 1:
        last = np.repeat(last, 3, axis=-1)
    elif channels == 4:
        last = _composite_on_white(last)
    return np.moveaxis(last, -1, 0) if fmt == "channels_first" else last


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    if np.issubdtype(rgba.dtype, np.floating) and (rgba.min() < 0.0 or rgba.max() > 1.0):
        raise InvalidInputError(
            f"A 4-channel float image must hold values in [0, 1] to be composited to RGB; got "
            f"[{rgba.min()}, {rgba.max()}]. Pass uint8 values or scale it to [0, 1]."
        )
    white = 255 if np.issubdtype(rgba.dtype, np.integer) else 1.0
    alpha = rgba[..., 3:4] / white
    rgb = alpha * rgba[..., :3] + (1 - alpha) * white
    return np.round(rgb).astype(rgba.dtype) if white == 255 else rgb.astype(rgba.dtype)


# ----------------------------------------------------------------------------- resize
def needs_pil_rescale(image: np.ndarray) -> bool:
    """Whether a float array must be multiplied by 255 to become a uint8 PIL image.

    Transformers' rule: uint8 and integral values in [0, 255] are taken as they are; other
    floats must lie in [0, 1]. (A [0, 1] float image therefore comes back from a resize
    divided by 255 again, and is rescaled by ``rescale_factor`` on top: that is what
    Transformers computes, so it is what we compute.)
    """
    if image.dtype == np.uint8:
        return False
    if np.allclose(image, image.astype(int)):
        if image.min() >= 0 and image.max() <= 255:
            return False
        raise InvalidInputError(
            f"Image values must lie in [0, 255] to be resized; got [{image.min()}, {image.max()}]."
        )
    if image.min() >= 0 and image.max() <= 1:
        return True
    raise InvalidInputError(
        f"A float image must hold values in [0, 1] (or whole numbers in [0, 255]) to be resized; got "
        f"[{image.min()}, {image.max()}]. Scale it first, or pass do_resize=False."
    )


def array_to_pil(image: np.ndarray, input_data_format: str = "channels_first") -> tuple[PIL.Image.Image, bool]:
    """(PIL image, whether it was scaled by 255) for a 3-d array, Transformers' to_pil_image rules."""
    last = to_channel_dimension_format(image, "channels_last", input_data_format)
    if last.shape[-1] == 1:
        last = last[..., 0]  # Pillow has no (H, W, 1) mode
    scaled = needs_pil_rescale(last)
    if scaled:
        last = (last.astype(np.float64) * 255).astype(np.float32)
    return PIL.Image.fromarray(np.ascontiguousarray(last.astype(np.uint8))), scaled


def resize_pil(image: PIL.Image.Image, size: tuple[int, int], resample=PILImageResampling.BILINEAR) -> np.ndarray:
    """Resize with Pillow to ``size`` = (height, width); return an (H, W, C) uint8 array.

    (Resizing only the crop with Pillow's ``box=`` would be cheaper, but Pillow then rounds
    its filter weights and orders its passes differently: up to 9 levels apart. So the whole
    image is resized, as Transformers does, and cropped after.)
    """
    height, width = size
    array = np.array(image.resize((width, height), resample=resample))  # writable, for torch.from_numpy
    return array[..., None] if array.ndim == 2 else array


# ----------------------------------------------------------------------------- crop
def center_crop_offsets(height: int, width: int, crop_height: int, crop_width: int) -> tuple[int, int]:
    """(top, left) of a centered crop; negative when the crop is larger than the image."""
    return (height - crop_height) // 2, (width - crop_width) // 2


def center_crop(image: np.ndarray, size: tuple[int, int], input_data_format: str = "channels_first") -> np.ndarray:
    """Center crop to ``size`` = (height, width), zero-padding where the image is smaller.

    The padding is placed like Transformers' center_crop: a centered paste (extra pixel
    at the end), then the centered window.
    """
    chw = to_channel_dimension_format(image, "channels_first", input_data_format)
    height, width = chw.shape[-2:]
    crop_h, crop_w = int(size[0]), int(size[1])
    top, left = center_crop_offsets(height, width, crop_h, crop_w)
    if top >= 0 and left >= 0:
        out = chw[..., top:top + crop_h, left:left + crop_w]
    else:
        new_h, new_w = max(crop_h, height), max(crop_w, width)
        pad_top, pad_left = -(-(new_h - height) // 2), -(-(new_w - width) // 2)  # ceil
        canvas = np.zeros(chw.shape[:-2] + (new_h, new_w), dtype=chw.dtype)
        canvas[..., pad_top:pad_top + height, pad_left:pad_left + width] = chw
        top, left = top + pad_top, left + pad_left
        out = canvas[..., max(0, top):min(new_h, top + crop_h), max(0, left):min(new_w, left + crop_w)]
    return to_channel_dimension_format(out, input_data_format, "channels_first")


# ----------------------------------------------------------------------------- rescale / normalise
def rescale(image: np.ndarray, scale: float, dtype=np.float32) -> np.ndarray:
    """``image * scale``, computed in float64 then cast (Transformers' order of rounding)."""
    return (image.astype(np.float64) * scale).astype(dtype)


def _per_channel(value, channels: int, name: str) -> np.ndarray:
    values = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if values.size == 1:
        return np.repeat(values, channels)
    if values.size != channels:
        raise InvalidInputError(
            f"{name} has {values.size} values but the image has {channels} channels. Give one value per "
            "channel (grayscale images need do_convert_rgb=True or a 1-value mean/std)."
        )
    return values


def normalize(image: np.ndarray, mean, std, input_data_format: str = "channels_first") -> np.ndarray:
    """``(image - mean) / std`` per channel, in float32 unless the image is already float."""
    axis = 0 if input_data_format == "channels_first" else -1
    channels = image.shape[axis]
    if not np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32)
    shape = (channels, 1, 1) if axis == 0 else (channels,)
    mean = _per_channel(mean, channels, "image_mean").astype(image.dtype).reshape(shape)
    std = _per_channel(std, channels, "image_std").astype(image.dtype).reshape(shape)
    return (image - mean) / std


def affine_to_tensor(images: torch.Tensor, scale: np.ndarray | None, offset: np.ndarray | None) -> torch.Tensor:
    """One fused ``x * scale + offset`` per channel over a (N, C, H, W) batch, into float32.

    Rescale, normalise (and EfficientNet's offset and second division) are all affine, so
    they collapse into one multiply-add: one pass over memory instead of four.
    """
    if scale is None:
        return images
    channels = images.shape[1]
    a = torch.from_numpy(_per_channel(scale, channels, "scale").astype(np.float32)).view(1, channels, 1, 1)
    b = torch.from_numpy(_per_channel(offset, channels, "offset").astype(np.float32)).view(1, channels, 1, 1)
    out = torch.empty(images.shape, dtype=torch.float32)
    out.copy_(images)  # the dtype conversion and the copy into contiguous NCHW in one pass
    return out.mul_(a).add_(b)


def affine_numpy(images: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``affine_to_tensor`` for a (N, C, H, W) numpy batch: float32 out, two passes, no copies."""
    channels = images.shape[1]
    a = _per_channel(scale, channels, "scale").astype(np.float32).reshape(1, channels, 1, 1)
    b = _per_channel(offset, channels, "offset").astype(np.float32).reshape(1, channels, 1, 1)
    out = np.multiply(images, a, dtype=np.float32)
    return np.add(out, b, out=out)


# ----------------------------------------------------------------------------- tensor path
_TORCH_MODES = {
    int(PILImageResampling.BILINEAR): "bilinear",
    int(PILImageResampling.BICUBIC): "bicubic",
}


def torch_can_resize(resample) -> bool:
    return resample is not None and int(resample) in _TORCH_MODES


def resize_batch_torch(images: torch.Tensor, size: tuple[int, int], resample) -> torch.Tensor:
    """Resize a (N, C, H, W) uint8 batch with antialiasing, Pillow's filter, one axis at a time.

    torch's antialiased bilinear/bicubic use Pillow's kernels (a = -0.5 for bicubic) and
    round the same way, so each pass is within one 8-bit level of Pillow's. Pillow rounds
    (and clips) to uint8 between its two passes, and recent versions pick which axis goes
    first by the sizes, so the passes run here in the order Pillow picks for these sizes.
    """
    mode = _TORCH_MODES[int(resample)]
    height, width = images.shape[-2:]

    def one_pass(x, out_size):
        if tuple(x.shape[-2:]) == tuple(out_size):
            return x
        return torch.nn.functional.interpolate(x, size=out_size, mode=mode, antialias=True, align_corners=False)

    if _pillow_vertical_first(height, width, size[0], size[1], int(resample)):
        return one_pass(one_pass(images, (size[0], width)), size)
    return one_pass(one_pass(images, (height, size[1])), size)


@functools.lru_cache(maxsize=256)
def _pillow_vertical_first(height: int, width: int, out_height: int, out_width: int, resample: int) -> bool:
    """Which pass Pillow runs first for these sizes, found by asking Pillow once (cached).

    A fixed high-contrast probe is resized by Pillow and by both pass orders here; the
    order whose result is closer is Pillow's (the other differs wherever clipping between
    the passes bites, which a noise image makes certain).
    """
    if height == out_height or width == out_width:
        return False  # a single pass: the order does not matter
    probe = np.random.default_rng(0).integers(0, 2, (height, width), dtype=np.uint8) * 255
    reference = np.array(PIL.Image.fromarray(probe).resize((out_width, out_height), resample)).astype(np.int64)
    x = torch.from_numpy(probe)[None, None]  # (1, 1, H, W)
    mode = _TORCH_MODES[resample]

    def error(*sizes) -> int:
        y = x
        for size in sizes:
            y = torch.nn.functional.interpolate(y, size=size, mode=mode, antialias=True, align_corners=False)
        return int(np.abs(y[0, 0].numpy().astype(np.int64) - reference).sum())

    horizontal_first = error((height, out_width), (out_height, out_width))
    vertical_first = error((out_height, width), (out_height, out_width))
    return vertical_first < horizontal_first
