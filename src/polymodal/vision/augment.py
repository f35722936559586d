"""Training augmentations in plain torch (no torchvision): the guide's ``RandomResizedCrop``,
``RandomHorizontalFlip``, ``ToTensor``, ``Normalize``, plus ``Resize`` / ``CenterCrop`` for
evaluation, chained with ``Compose``.

Every transform takes a PIL image, a (C, H, W) / (H, W, C) uint8 array or a (C, H, W) tensor
and returns a float32 (C, H, W) tensor in [0, 1] (``Normalize`` aside), so they compose in any
order. Randomness comes from a ``torch.Generator``: pass ``seed=`` for a fixed stream, or leave
it out to draw from torch's global generator (reproducible under ``torch.manual_seed``).
The random crop follows torchvision's sampling rule (10 tries at a random area and log-uniform
aspect ratio, then a center crop) and resizes with antialiased bilinear interpolation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F

from ..core.errors import InvalidInputError


def to_tensor(image) -> torch.Tensor:
    """PIL image / uint8 array → float32 (C, H, W) in [0, 1]; a float tensor passes through."""
    if isinstance(image, PIL.Image.Image):
        image = np.array(image.convert("RGB") if image.mode not in ("RGB", "L") else image)
    if isinstance(image, np.ndarray):
        if image.ndim == 2:
            image = image[..., None]
        if image.ndim != 3:
            raise InvalidInputError(f"An image array must be (H, W) or (H, W, C); got shape {image.shape}.")
        # (H, W, C) as PIL gives it, unless only the first axis looks like channels
        channels_first = image.shape[0] in (1, 3, 4) and image.shape[-1] not in (1, 3, 4)
        tensor = torch.from_numpy(np.ascontiguousarray(image))
        tensor = tensor if channels_first else tensor.permute(2, 0, 1)
        return tensor.float().div(255) if image.dtype == np.uint8 else tensor.float()
    if isinstance(image, torch.Tensor):
        if image.ndim != 3:
            raise InvalidInputError(f"An image tensor must be (C, H, W); got shape {tuple(image.shape)}.")
        return image.float().div(255) if image.dtype == torch.uint8 else image
    raise InvalidInputError(f"Cannot augment a {type(image).__name__}; pass a PIL image, an array or a tensor.")


def _size(size, name: str = "size") -> tuple[int, int]:
    if isinstance(size, int) and size > 0:
        return size, size
    if isinstance(size, Sequence) and len(size) in (1, 2) and all(isinstance(s, int) and s > 0 for s in size):
        return (size[0], size[0]) if len(size) == 1 else (size[0], size[1])
    raise InvalidInputError(f"{name}={size!r}; pass a positive int or a (height, width) pair.")


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[-2:]) == size:
        return image
    out = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0]
    return out.clamp_(0, 1) if image.min() >= 0 and image.max() <= 1 else out


class _Random:
    def __init__(self, seed: int | None):
        self.generator = None if seed is None else torch.Generator().manual_seed(seed)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * torch.rand(1, generator=self.generator).item()

    def randint(self, high: int) -> int:
        return int(torch.randint(0, high, (1,), generator=self.generator).item())


class Compose:
    def __init__(self, transforms: Sequence):
        self.transforms = list(transforms)

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image

    def __repr__(self) -> str:
        return f"Compose({self.transforms})"


class ToTensor:
    def __call__(self, image) -> torch.Tensor:
        return to_tensor(image)


class Normalize:
    """``(x - mean) / std`` per channel."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean = torch.tensor(list(mean), dtype=torch.float32)[:, None, None]
        self.std = torch.tensor(list(std), dtype=torch.float32)[:, None, None]
        if (self.std == 0).any():
            raise InvalidInputError(f"Normalize: std={list(std)} has a zero.")

    def __call__(self, image) -> torch.Tensor:
        image = to_tensor(image)
        if image.shape[0] != self.mean.shape[0] and self.mean.shape[0] != 1:
            raise InvalidInputError(f"Normalize has {self.mean.shape[0]} channel values but the image has "
                                    f"{image.shape[0]} channels; convert the image to RGB first.")
        return (image - self.mean) / self.std


class Resize:
    """Resize to (height, width), or the shorter side to ``size`` when it is an int (aspect kept)."""

    def __init__(self, size):
        self.size = size if isinstance(size, int) else _size(size)

    def __call__(self, image) -> torch.Tensor:
        image = to_tensor(image)
        if isinstance(self.size, int):
            height, width = image.shape[-2:]
            short = min(height, width)
            size = (max(1, round(height * self.size / short)), max(1, round(width * self.size / short)))
            return _resize(image, size)
        return _resize(image, self.size)


class CenterCrop:
    def __init__(self, size):
        self.size = _size(size)

    def __call__(self, image) -> torch.Tensor:
        image = to_tensor(image)
        height, width = image.shape[-2:]
        ch, cw = self.size
        if ch > height or cw > width:  # pad with zeros, as torchvision does
            pad_h, pad_w = max(ch - height, 0), max(cw - width, 0)
            image = F.pad(image, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
            height, width = image.shape[-2:]
        top, left = int(round((height - ch) / 2.0)), int(round((width - cw) / 2.0))
        return image[..., top:top + ch, left:left + cw]


class RandomHorizontalFlip:
    def __init__(self, p: float = 0.5, seed: int | None = None):
        self.p = p
        self.random = _Random(seed)

    def __call__(self, image) -> torch.Tensor:
        image = to_tensor(image)
        return image.flip(-1) if self.random.uniform(0, 1) < self.p else image


class RandomResizedCrop:
    """Crop a random area (``scale`` of the image) with a random aspect ratio, resized to ``size``."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), seed: int | None = None,
                 antialias: bool = True):
        self.size = _size(size)
        if not (0 < scale[0] <= scale[1]) or not (0 < ratio[0] <= ratio[1]):
            raise InvalidInputError(f"RandomResizedCrop: scale={scale} and ratio={ratio} must be increasing, positive.")
        self.scale, self.ratio = scale, ratio
        self.random = _Random(seed)

    def get_params(self, height: int, width: int) -> tuple[int, int, int, int]:
        """(top, left, crop height, crop width)."""
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * self.random.uniform(*self.scale)
            aspect = math.exp(self.random.uniform(*log_ratio))
            w, h = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return self.random.randint(height - h + 1), self.random.randint(width - w + 1), h, w
        # Fallback: the largest center crop whose aspect ratio is within range.
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            w, h = width, int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            h, w = height, int(round(height * self.ratio[1]))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, image) -> torch.Tensor:
        image = to_tensor(image)
        top, left, h, w = self.get_params(*image.shape[-2:])
        return _resize(image[..., top:top + h, left:left + w], self.size)
