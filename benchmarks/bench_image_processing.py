"""Image processor speed: polymodal vs Transformers on 8 photo-like 640x480 images.

    python benchmarks/bench_image_processing.py [--repeats 30]

Runs are interleaved (ours, theirs, ours, ...) and the median of each is reported, so a
slow spell on a shared machine hits both sides alike. Transformers' default
``CLIPImageProcessor`` is its torchvision backend when torchvision is installed, else its
PIL backend; the table says which one ran.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import PIL.Image
import torch
from harness import interleaved_medians


def photos(n: int = 8, width: int = 640, height: int = 480) -> list[PIL.Image.Image]:
    """Smooth, photo-like RGB images: upsampled noise plus a gradient (seeded)."""
    rng = np.random.default_rng(0)
    images = []
    for _ in range(n):
        coarse = PIL.Image.fromarray(rng.integers(0, 256, (height // 16, width // 16, 3), dtype=np.uint8))
        image = np.asarray(coarse.resize((width, height), PIL.Image.BICUBIC)).astype(np.int16)
        image += np.linspace(-30, 30, width, dtype=np.int16)[None, :, None]
        images.append(PIL.Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)))
    return images




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    warnings.filterwarnings("ignore")
    import transformers

    transformers.logging.set_verbosity_error()
    from polymodal import CLIPImageProcessor, EfficientNetImageProcessor

    images = photos()
    hf_clip = transformers.CLIPImageProcessor()
    hf_effnet = transformers.EfficientNetImageProcessor()
    rows = [
        # (exact use_fast=False path, default fast path)
        ("CLIP", hf_clip, CLIPImageProcessor(use_fast=False), CLIPImageProcessor()),
        ("EfficientNet", hf_effnet, EfficientNetImageProcessor(use_fast=False), EfficientNetImageProcessor()),
    ]
    print(f"8 images 640x480, torch threads={torch.get_num_threads()}, median of {args.repeats} interleaved runs")
    print(f"{'processor':<14}{'transformers':>22}{'pm use_fast=False':>19}{'ratio':>8}{'pm default':>14}{'ratio':>8}"
          f"{'max |diff| default (8-bit levels)':>35}")
    for name, theirs, ours, ours_torch in rows:
        t = interleaved_medians({
            "theirs": lambda: theirs(images, return_tensors="pt"),
            "ours": lambda: ours(images, return_tensors="pt"),
            "ours_torch": lambda: ours_torch(images, return_tensors="pt"),
        }, args.repeats)
        reference = theirs(images, return_tensors="pt").pixel_values
        exact = (ours(images, return_tensors="pt").pixel_values - reference).abs().max().item()
        std = torch.tensor(ours.image_std).view(1, 3, 1, 1) * (ours.image_std[0] if name == "EfficientNet" else 1)
        levels = ((ours_torch(images, return_tensors="pt").pixel_values - reference) * std * 255).abs().max().item()
        label = f"{theirs.backend} {t['theirs'] * 1e3:.1f} ms"
        print(f"{name:<14}{label:>22}{t['ours'] * 1e3:>16.1f} ms{t['ours'] / t['theirs']:>8.2f}"
              f"{t['ours_torch'] * 1e3:>11.1f} ms{t['ours_torch'] / t['theirs']:>8.2f}{levels:>35.2f}")
        print(f"{'':<14}use_fast=False path max |diff| vs Transformers: {exact:.2e}")


if __name__ == "__main__":
    main()
