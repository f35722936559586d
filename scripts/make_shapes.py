"""Generate polymodal's bundled image-classification set: coloured shapes on gradient backgrounds.

Four classes (circle, cross, square, triangle), each shape with a random colour, size, position and
rotation over a random gradient-and-noise background; 48x48 RGB PNGs in
``src/polymodal/datasets/data/shapes/{train,test}/<label>/``. Everything is drawn here from a fixed
seed, so the set is license-clean and reproducible:

    python scripts/make_shapes.py            # rewrite the bundled set
    python scripts/make_shapes.py --out DIR --train 100 --test 25
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

LABELS = ("circle", "cross", "square", "triangle")
SIZE = 48
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "polymodal" / "datasets" / "data" / "shapes"


def background(rng: np.random.Generator) -> Image.Image:
    """A smooth two-colour gradient with a little noise (quantised so the PNGs stay small)."""
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    b = (a + rng.integers(-60, 61, 3)).clip(0, 255)  # a gentle gradient, so the shape stands out
    angle = rng.uniform(0, 2 * math.pi)
    y, x = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1)
    t = (np.cos(angle) * x + np.sin(angle) * y)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
    image = a[None, None] * (1 - t[..., None]) + b[None, None] * t[..., None]
    image = image + rng.normal(0, 4, image.shape)
    return Image.fromarray((np.clip(image, 0, 255) // 8 * 8).astype(np.uint8))


def polygon(center, radius, sides, rotation):
    return [(center[0] + radius * math.cos(rotation + 2 * math.pi * k / sides),
             center[1] + radius * math.sin(rotation + 2 * math.pi * k / sides)) for k in range(sides)]


def draw_shape(image: Image.Image, label: str, rng: np.random.Generator) -> Image.Image:
    draw = ImageDraw.Draw(image)
    radius = rng.uniform(11, 17)
    center = rng.uniform(radius + 2, SIZE - radius - 2, 2)
    # A colour far from the background's mean, so every shape is visible.
    mean = np.asarray(image).reshape(-1, 3).mean(0)
    colour = tuple(int(c) for c in np.where(mean > 127, rng.integers(0, 90, 3), rng.integers(166, 256, 3)))
    rotation = rng.uniform(0, 2 * math.pi)
    if label == "circle":
        draw.ellipse([center[0] - radius, center[1] - radius, center[0] + radius, center[1] + radius], fill=colour)
    elif label == "square":
        draw.polygon(polygon(center, radius * 1.2, 4, rotation), fill=colour)
    elif label == "triangle":
        draw.polygon(polygon(center, radius * 1.3, 3, rotation), fill=colour)
    else:  # a cross: two rotated bars
        width = radius * 0.35
        for extra in (0, math.pi / 2):
            c, s = math.cos(rotation + extra), math.sin(rotation + extra)
            corners = [(-radius, -width), (radius, -width), (radius, width), (-radius, width)]
            draw.polygon([(center[0] + u * c - v * s, center[1] + u * s + v * c) for u, v in corners], fill=colour)
    return image


def generate(out: Path, train: int, test: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    count = 0
    for split, per_class in (("train", train), ("test", test)):
        for label in LABELS:
            folder = out / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                image = draw_shape(background(rng), label, rng)
                image.save(folder / f"{label}_{i:03d}.png", optimize=True)
                count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--train", type=int, default=120, help="training images per class")
    parser.add_argument("--test", type=int, default=30, help="test images per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"wrote {generate(args.out, args.train, args.test, args.seed)} images to {args.out}")


if __name__ == "__main__":
    main()
