"""``BaseImageProcessor``: preprocessor_config.json in and out, and the preprocessing pipeline.

The pipeline is Transformers' (RGB conversion, resize, center crop, rescale, normalise) with
two ways to resize, picked per processor as Transformers 5 picks its backend:

* ``use_fast=True`` / ``backend="torch"`` — **the default**: one batched antialiased torch
  resize per image size, Pillow's filters, within two 8-bit levels of Pillow's pixels (most
  pixels equal); it also runs on ``device``. Filters torch lacks (Lanczos, nearest) and
  processors without a batched form (ConvNeXt's crop_pct) use the exact path instead.
* ``use_fast=False`` / ``backend="pil"``: Transformers' PIL backend, bit for bit — each image
  resized by Pillow and center cropped, in a thread pool (Pillow releases the GIL while it
  resamples).

Either way the uint8 crops are stacked once and every affine step (rescale, normalise, and
subclass extras such as EfficientNet's offset) runs as one multiply-add.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import PIL.Image
import torch

from ..core.batch import BatchFeature
from ..core.errors import InvalidInputError
from ..core.feature_extraction import PROCESSOR_NAME, FeatureExtractionMixin
from . import transforms as T
from .image_io import make_flat_list_of_images, prepare_image

# Per-call options every image processor takes (Transformers' ImagesKwargs).
IMAGE_KWARGS = (
    "do_convert_rgb", "do_resize", "size", "default_to_square", "crop_size", "resample", "do_rescale",
    "rescale_factor", "do_normalize", "image_mean", "image_std", "do_pad", "pad_size", "do_center_crop",
    "data_format", "input_data_format", "device", "return_tensors", "disable_grouping", "image_seq_length",
)
# Options that are per call only and never stored or saved.
_CALL_ONLY = ("default_to_square", "data_format", "input_data_format", "device", "return_tensors",
              "disable_grouping")
_BACKENDS = ("pil", "torch", "torchvision")
# The fast path by default, as Transformers 5's AutoImageProcessor (torchvision when installed).
DEFAULT_BACKEND = "torch"
# Keys a saved preprocessor_config.json may hold that are the caller's choice, never the file's.
_BACKEND_KEYS = ("backend", "use_fast")

_POOLS: dict[int, ThreadPoolExecutor] = {}


def _map(fn, items: list) -> list:
    """``map`` over a thread pool sized like torch's intra-op threads (one thread: plain map)."""
    workers = min(len(items), torch.get_num_threads())
    if workers < 2:
        return [fn(x) for x in items]
    pool = _POOLS.get(workers)
    if pool is None:
        pool = _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="polymodal-image")
    return list(pool.map(fn, items))


class BaseImageProcessor(FeatureExtractionMixin):
    """Resize → center crop → rescale → normalise, configured by Transformers' attribute names.

    Subclasses set class-level defaults (``size``, ``image_mean`` …) and may add options in
    ``extra_kwargs`` and affine steps in ``affine``.
    """

    model_input_names = ["pixel_values"]
    extra_kwargs: tuple[str, ...] = ()

    # Transformers' base defaults; subclasses override.
    do_convert_rgb = None
    do_resize = None
    size = None
    default_to_square = True
    crop_size = None
    resample = None
    do_rescale = None
    rescale_factor = 1 / 255
    do_normalize = None
    image_mean = None
    image_std = None
    do_pad = None
    pad_size = None
    do_center_crop = None
    image_seq_length = None

    def __init__(self, backend: str | None = None, use_fast: bool | None = None, **kwargs):
        for key in ("image_processor_type", "_processor_class"):
            kwargs.pop(key, None)
        backend = _resolve_backend(backend, use_fast)  # checked first: a typo fails before any work
        options = {key: kwargs.pop(key, None) for key in self.valid_kwargs()}
        options = self._standardize({k: v if v is not None else copy.deepcopy(getattr(self, k, None))
                                     for k, v in options.items()})
        for key in _CALL_ONLY:
            options.pop(key, None)
        super().__init__(**options, **kwargs)  # unknown keys become attributes, as in Transformers
        self._backend = backend

    @classmethod
    def valid_kwargs(cls) -> tuple[str, ...]:
        return IMAGE_KWARGS + cls.extra_kwargs

    @classmethod
    def _init_parameters(cls) -> set[str]:
        return set(cls.valid_kwargs()) | set(_BACKEND_KEYS)

    @classmethod
    def from_dict(cls, image_processor_dict: dict[str, Any], **kwargs):
        """Build from a dict; ``kwargs`` override it. ``use_fast`` / ``backend`` count only as
        arguments (the caller's choice of speed or bit-exactness), never from a saved file."""
        saved = {k: v for k, v in image_processor_dict.items() if k not in _BACKEND_KEYS}
        return super().from_dict(saved, **kwargs)

    @property
    def backend(self) -> str:
        """``"torch"`` (the fast path, the default) or ``"pil"`` (bit-exact with Transformers' PIL backend)."""
        return self._backend

    @property
    def is_fast(self) -> bool:
        return self._backend == "torch"

    # ------------------------------------------------------------------------- config files
    @classmethod
    def get_feature_extractor_dict(cls, pretrained_model_name_or_path, **kwargs) -> tuple[dict, dict]:
        from pathlib import Path

        from ..core.config import read_json
        from ..core.hub import resolve_file

        if not Path(str(pretrained_model_name_or_path)).expanduser().is_file():
            hub = {k: kwargs[k] for k in ("cache_dir", "local_files_only", "token", "revision") if k in kwargs}
            # Newer Transformers may nest the image processor in processor_config.json.
            nested_file = resolve_file(pretrained_model_name_or_path, PROCESSOR_NAME, required=False, **hub)
            nested = read_json(nested_file).get("image_processor") if nested_file else None
            if isinstance(nested, dict):
                return dict(nested), {k: v for k, v in kwargs.items() if k not in hub}
        return super().get_feature_extractor_dict(pretrained_model_name_or_path, **kwargs)

    get_image_processor_dict = get_feature_extractor_dict

    def to_dict(self) -> dict[str, Any]:
        """The JSON dict: set options, unknown keys, and ``image_processor_type`` for Auto classes."""
        output = {}
        for key, value in self.__dict__.items():
            if key.startswith("_") or key in _CALL_ONLY:
                continue
            if value is None and getattr(type(self), key, None) is None:
                continue  # unset option: Transformers leaves it out too
            output[key] = list(value) if isinstance(value, tuple) else copy.deepcopy(value)
        if output.get("resample") is not None:
            output["resample"] = int(output["resample"])
        output["image_processor_type"] = type(self).__name__
        return output

    # ------------------------------------------------------------------------- options
    def _standardize(self, options: dict) -> dict:
        square = options.get("default_to_square")
        square = type(self).default_to_square if square is None else square
        if options.get("size") is not None:
            options["size"] = T.get_size_dict(options["size"], default_to_square=square)
        for key in ("crop_size", "pad_size"):
            if options.get(key) is not None:
                options[key] = T.get_size_dict(options[key], param_name=key)
        return options

    def _call_options(self, kwargs: dict) -> dict:
        unknown = sorted(set(kwargs) - set(self.valid_kwargs()))
        if unknown:
            raise InvalidInputError(
                f"{type(self).__name__} got unknown option(s) {unknown}. Valid options: "
                f"{', '.join(self.valid_kwargs())}."
            )
        options = {k: kwargs[k] if kwargs.get(k) is not None else getattr(self, k, None)
                   for k in self.valid_kwargs()}
        options = self._standardize(options)
        self._validate(options)
        return options

    @staticmethod
    def _validate(o: dict) -> None:
        if o["do_rescale"] and o["rescale_factor"] is None:
            raise InvalidInputError("do_rescale=True needs rescale_factor (e.g. 1/255).")
        if o["do_normalize"] and (o["image_mean"] is None or o["image_std"] is None):
            raise InvalidInputError("do_normalize=True needs both image_mean and image_std.")
        if o["do_center_crop"] and (o["crop_size"] is None or set(o["crop_size"]) != {"height", "width"}):
            raise InvalidInputError(f"do_center_crop=True needs crop_size with height and width; got {o['crop_size']}.")
        if o["do_resize"] and (o["size"] is None or o["resample"] is None):
            raise InvalidInputError("do_resize=True needs both size and resample.")
        for key in ("data_format", "input_data_format"):
            if o[key] is not None and _name(o[key]) not in ("channels_first", "channels_last"):
                raise InvalidInputError(f"{key}={o[key]!r}; use 'channels_first' or 'channels_last'.")

    # ------------------------------------------------------------------------- calling
    def __call__(self, images, *args, **kwargs) -> BatchFeature:
        """Preprocess one image or a batch → ``BatchFeature`` with ``pixel_values``."""
        return self.preprocess(images, *args, **kwargs)

    def preprocess(self, images, return_tensors=None, **kwargs) -> BatchFeature:
        options = self._call_options(dict(kwargs, return_tensors=return_tensors))
        fmt = _name(options["input_data_format"])
        prepared = [prepare_image(img, bool(options["do_convert_rgb"]), fmt)
                    for img in make_flat_list_of_images(images)]
        return self._preprocess(prepared, options)

    def _preprocess(self, images: list, o: dict) -> BatchFeature:
        if self._backend != "pil" and o["do_resize"] and T.torch_can_resize(o["resample"]):
            arrays = self._resize_crop_torch(images, o)
        else:
            arrays = _map(lambda image: self._resize_crop_pil(image, o), images)
        pixel_values = self._finish(self._affine_batch(arrays, o), o)
        return BatchFeature({"pixel_values": pixel_values}, tensor_type=o["return_tensors"])

    # ------------------------------------------------------------------------- resize + crop
    def _resize_crop_pil(self, image, o: dict) -> np.ndarray:
        """One image → (C, H, W) array, resized and center cropped (Pillow's pixels)."""
        if o["do_resize"]:
            pil, scaled = (image, False) if isinstance(image, PIL.Image.Image) else T.array_to_pil(image)
            out = np.moveaxis(self._resize_to_crop(pil, o), -1, 0)  # (H, W, C) → (C, H, W) view
            if scaled:  # Transformers divides a [0, 1] float image by 255 after its uint8 round trip
                out = T.rescale(out, 1 / 255)
        elif isinstance(image, PIL.Image.Image):
            out = np.moveaxis(_hwc(np.array(image)), -1, 0)
        else:
            out = image  # already (C, H, W)
        crop = (o["crop_size"]["height"], o["crop_size"]["width"]) if o["do_center_crop"] else None
        if crop is not None and out.shape[-2:] != crop:
            out = T.center_crop(out, crop)  # also pads with zeros where the image is smaller
        return out

    def _resize_to_crop(self, pil: PIL.Image.Image, o: dict) -> np.ndarray:
        size = T.get_resize_output_image_size(pil.height, pil.width, o["size"])
        out = T.resize_pil(pil, size, o["resample"])  # (H, W, C)
        if o["do_center_crop"]:
            ch, cw = o["crop_size"]["height"], o["crop_size"]["width"]
            top, left = T.center_crop_offsets(size[0], size[1], ch, cw)
            if top >= 0 and left >= 0:  # the usual case: a slice; the padded case is handled later
                out = out[top:top + ch, left:left + cw]
        return out

    def _resize_crop_torch(self, images: list, o: dict) -> list[torch.Tensor]:
        """Batched resize: images of one size go through one interpolate call per axis."""
        converted = [_to_uint8_hwc(image) for image in images]
        groups: dict[tuple, list[int]] = {}
        for i, (array, scaled) in enumerate(converted):
            groups.setdefault((array.shape, scaled), []).append(i)
        out: list = [None] * len(images)
        for (shape, scaled), index in groups.items():
            # (N, H, W, C) stacked once, viewed as (N, C, H, W) channels-last: no transpose copy
            batch = torch.from_numpy(np.stack([converted[i][0] for i in index])).permute(0, 3, 1, 2)
            if o["device"] is not None:
                batch = batch.to(o["device"])
            size = T.get_resize_output_image_size(shape[0], shape[1], o["size"])
            batch = _center_crop_tensor(T.resize_batch_torch(batch, size, o["resample"]), o)
            if scaled:  # Transformers divides a [0, 1] float image by 255 after its uint8 round trip
                batch = batch.to(torch.float32) * (1 / 255)
            for i, image in zip(index, batch):
                out[i] = image
        return out

    # ------------------------------------------------------------------------- affine
    def affine(self, o: dict, channels: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The per-channel ``(scale, offset)`` of rescale then normalise; None when neither is on."""
        if not (o["do_rescale"] or o["do_normalize"]):
            return None
        scale, offset = np.ones(channels), np.zeros(channels)
        if o["do_rescale"]:
            scale = scale * o["rescale_factor"]
        if o["do_normalize"]:
            mean = T._per_channel(o["image_mean"], channels, "image_mean")
            std = T._per_channel(o["image_std"], channels, "image_std")
            scale, offset = scale / std, (offset - mean) / std
        return scale, offset

    def _affine_batch(self, arrays: list, o: dict):
        """Stack equal shapes once and apply the fused affine: a (N, C, H, W) tensor, or a list
        of (C, H, W) tensors in input order when the shapes differ."""
        groups: dict[tuple, list[int]] = {}
        for i, array in enumerate(arrays):
            groups.setdefault(tuple(array.shape), []).append(i)
        if len(groups) == 1:
            return self._affine_group(arrays, o)
        results: list = [None] * len(arrays)
        for index in groups.values():
            batch = self._affine_group([arrays[i] for i in index], o)
            for i, image in zip(index, batch):
                results[i] = image
        return results

    def _affine_group(self, arrays: list, o: dict) -> torch.Tensor:
        """(C, H, W) arrays of one shape → one (N, C, H, W) tensor, rescaled and normalised."""
        if isinstance(arrays[0], torch.Tensor) and arrays[0].device.type != "cpu":
            batch = torch.stack(arrays)
            params = self.affine(o, batch.shape[1])
            return batch if params is None else T.affine_to_tensor(batch, *params)
        # On CPU this is numpy on purpose: the arrays are small, and torch's intra-op thread
        # pool costs more than it gains here (and much more on a busy machine).
        batch = np.stack([a.numpy() if isinstance(a, torch.Tensor) else a for a in arrays])
        params = self.affine(o, batch.shape[1])
        return _as_tensor(batch if params is None else T.affine_numpy(batch, *params))

    def _finish(self, pixel_values, o: dict):
        """Pad, lay out, move and convert to ``return_tensors``."""
        if o["do_pad"]:
            pixel_values = torch.stack(_pad(list(pixel_values), o["pad_size"]))
        if isinstance(pixel_values, torch.Tensor):
            if _name(o["data_format"]) == "channels_last":
                pixel_values = pixel_values.permute(0, 2, 3, 1)
            if o["device"] is not None:
                pixel_values = pixel_values.to(o["device"])
        elif _name(o["data_format"]) == "channels_last":
            pixel_values = [p.permute(1, 2, 0) for p in pixel_values]
        kind = _name(o["return_tensors"])
        if kind not in (None, "pt", "np"):
            raise InvalidInputError(f"return_tensors={kind!r} is not supported; use 'pt', 'np' or None.")
        if kind is not None and not isinstance(pixel_values, torch.Tensor):
            raise InvalidInputError(_ragged_message(pixel_values))
        if kind == "pt":
            return pixel_values
        if kind == "np":
            return pixel_values.cpu().numpy()
        return list(pixel_values.cpu().numpy()) if isinstance(pixel_values, torch.Tensor) \
            else [p.cpu().numpy() for p in pixel_values]


def _name(option) -> str | None:
    return None if option is None else str(getattr(option, "value", option))


def _resolve_backend(backend: str | None, use_fast: bool | None) -> str:
    """``backend`` or Transformers' ``use_fast`` flag → "torch" or "pil" (default: the fast path)."""
    if use_fast is not None and use_fast not in (True, False):
        raise InvalidInputError(f"use_fast={use_fast!r}; pass True (fast torch resize, the default) or False "
                                "(Pillow, bit-exact with Transformers' PIL backend).")
    if backend is None:
        return DEFAULT_BACKEND if use_fast is None else ("torch" if use_fast else "pil")
    if backend not in _BACKENDS:
        raise InvalidInputError(f"backend={backend!r}; use 'torch' (fast, the default) or 'pil' (bit-exact with "
                                "Transformers' PIL backend), or use_fast=True / False.")
    name = "torch" if backend == "torchvision" else backend
    if use_fast is not None and bool(use_fast) != (name == "torch"):
        raise InvalidInputError(f"backend={backend!r} and use_fast={use_fast} ask for different paths; pass one "
                                "of them (use_fast=False or backend='pil' for the bit-exact path).")
    return name


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    # torch cannot wrap negative strides and warns on read-only memory: copy those.
    if not array.flags.writeable or any(s < 0 for s in array.strides):
        array = np.array(array)
    return torch.from_numpy(array)


def _hwc(array: np.ndarray) -> np.ndarray:
    return array[..., None] if array.ndim == 2 else array


def _to_uint8_hwc(image) -> tuple[np.ndarray, bool]:
    """(H, W, C) uint8 array and whether it was a [0, 1] float image scaled by 255 (Transformers'
    rule for turning arrays into PIL images)."""
    if isinstance(image, PIL.Image.Image):
        return _hwc(np.asarray(image)), False
    scaled = T.needs_pil_rescale(image)
    if scaled:
        image = T.rescale(image, 255)
    return np.moveaxis(image, 0, -1).astype(np.uint8, copy=False), scaled


def _center_crop_tensor(batch: torch.Tensor, o: dict) -> torch.Tensor:
    if not o["do_center_crop"]:
        return batch
    ch, cw = o["crop_size"]["height"], o["crop_size"]["width"]
    height, width = batch.shape[-2:]
    top, left = T.center_crop_offsets(height, width, ch, cw)
    if top >= 0 and left >= 0:
        return batch[..., top:top + ch, left:left + cw]
    cropped = T.center_crop(batch.cpu().numpy(), (ch, cw))  # rare: pad as Transformers does
    return torch.from_numpy(np.ascontiguousarray(cropped)).to(batch.device)


def _pad(results: list[torch.Tensor], pad_size: dict | None) -> list[torch.Tensor]:
    # Transformers pads bottom/right with zeros after normalisation.
    if pad_size is not None:
        height, width = pad_size["height"], pad_size["width"]
    else:
        height = max(r.shape[-2] for r in results)
        width = max(r.shape[-1] for r in results)
    out = []
    for r in results:
        if r.shape[-2] > height or r.shape[-1] > width:
            raise InvalidInputError(f"pad_size {height}x{width} is smaller than an image of {tuple(r.shape[-2:])}.")
        out.append(torch.nn.functional.pad(r, (0, width - r.shape[-1], 0, height - r.shape[-2])))
    return out


def _ragged_message(results: list) -> str:
    shapes = sorted({tuple(r.shape) for r in results})
    return (
        f"The processed images have different shapes {shapes}, so they cannot be stacked into one tensor. "
        "Turn on center cropping (do_center_crop=True), resize to a fixed size (size={'height': H, 'width': W}), "
        "pad (do_pad=True), or pass return_tensors=None to get a list."
    )
