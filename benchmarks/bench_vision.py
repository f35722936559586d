"""Vision backbones, the ViT image processor and the image-classification pipeline: polymodal vs
Transformers (2 threads).

    python benchmarks/bench_vision.py                 # ViT-B/16 and ConvNeXt-T at 224, batch 8
    python benchmarks/bench_vision.py --reduced       # 4 layers / 1 stage-depth each, fewer repeats

Both sides load the same randomly initialised checkpoint (saved by Transformers). polymodal runs
in float32 and in bfloat16 (``model.to(torch.bfloat16)``); ratios are against Transformers'
float32. Runs are interleaved with the shared harness (medians; paired per-round ratios).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import warnings

import numpy as np
import PIL.Image
import torch
from harness import interleaved_times, medians, paired_ratios, print_table


def photos(n: int, seed: int = 0) -> list[bytes]:
    """JPEG bytes of photo-like images of mixed sizes (320..1024 px a side)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        width, height = (int(v) for v in rng.integers(320, 1025, 2))
        coarse = PIL.Image.fromarray(rng.integers(0, 256, (height // 16, width // 16, 3), dtype=np.uint8))
        buffer = io.BytesIO()
        coarse.resize((width, height), PIL.Image.BICUBIC).save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def model_rows(transformers, polymodal, name: str, config, batch: int, repeats: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        getattr(transformers, name)(config).save_pretrained(tmp)
        theirs = getattr(transformers, name).from_pretrained(tmp).eval()
        ours = getattr(polymodal, name).from_pretrained(tmp).eval()
        ours_bf16 = getattr(polymodal, name).from_pretrained(tmp, torch_dtype=torch.bfloat16).eval()
    x = torch.randn(batch, 3, 224, 224)
    with torch.inference_mode():
        diff = (ours(x).logits - theirs(x).logits).abs().max().item()

        def run(model):
            return lambda: model(x)

        times = interleaved_times({"transformers fp32": run(theirs), "polymodal fp32": run(ours),
                                   "polymodal bf16": run(ours_bf16)}, repeats)
    med, ratio = medians(times), paired_ratios(times, "transformers fp32")
    return [{"case": f"{name} b{batch}", "side": side, "median s": med[side], "vs Transformers fp32": ratio[side],
             "max |Δ logits| fp32": diff if side == "polymodal fp32" else ""} for side in med]


def processor_rows(transformers, polymodal, images: list, repeats: int) -> list[dict]:
    theirs, ours = transformers.AutoImageProcessor.from_pretrained, None
    with tempfile.TemporaryDirectory() as tmp:
        transformers.ViTImageProcessor().save_pretrained(tmp)
        theirs = transformers.AutoImageProcessor.from_pretrained(tmp)
        ours = polymodal.AutoImageProcessor.from_pretrained(tmp)
        fast = polymodal.AutoImageProcessor.from_pretrained(tmp, backend="torch")  # within 1 level of 8-bit
    pil = [PIL.Image.open(io.BytesIO(b)).convert("RGB") for b in images]
    diff = (ours(pil, return_tensors="pt").pixel_values - theirs(pil, return_tensors="pt").pixel_values).abs().max()
    times = interleaved_times({"transformers": lambda: theirs(pil, return_tensors="pt"),
                               "polymodal": lambda: ours(pil, return_tensors="pt"),
                               "polymodal backend=torch": lambda: fast(pil, return_tensors="pt")}, repeats)
    med, ratio = medians(times), paired_ratios(times, "transformers")
    return [{"case": f"ViT processor, {len(pil)} JPEG photos ({type(theirs).__name__})", "side": side,
             "median s": med[side], "vs Transformers": ratio[side],
             "max |Δ pixels|": float(diff) if side == "polymodal" else ""} for side in med]


def pipeline_rows(transformers, polymodal, config, images: list, repeats: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        transformers.ViTForImageClassification(config).save_pretrained(tmp)
        transformers.ViTImageProcessor().save_pretrained(tmp)
        theirs = transformers.pipeline("image-classification", model=tmp)
        ours = polymodal.pipeline("image-classification", model=tmp)
    pil = [PIL.Image.open(io.BytesIO(b)).convert("RGB") for b in images]
    times = interleaved_times({"transformers": lambda: theirs(pil, batch_size=8),
                               "polymodal": lambda: ours(pil, batch_size=8)}, repeats, warmup=1)
    med, ratio = medians(times), paired_ratios(times, "transformers")
    return [{"case": f"pipeline, {len(pil)} images, batch_size=8", "side": side, "median s": med[side],
             "vs Transformers": ratio[side]} for side in med]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reduced", action="store_true", help="4 ViT layers, ConvNeXt depths 1-1-1-1, fewer repeats")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    import transformers

    import polymodal

    transformers.logging.set_verbosity_error()
    repeats = 5 if args.reduced else 15
    vit = transformers.ViTConfig(num_labels=10, num_hidden_layers=4 if args.reduced else 12)
    convnext = transformers.ConvNextConfig(num_labels=10, depths=[1, 1, 1, 1] if args.reduced else [3, 3, 9, 3])
    images = photos(32)
    rows = model_rows(transformers, polymodal, "ViTForImageClassification", vit, 8, repeats)
    rows += model_rows(transformers, polymodal, "ConvNextForImageClassification", convnext, 8, repeats)
    print_table(rows, ["case", "side", "median s", "vs Transformers fp32", "max |Δ logits| fp32"])
    print()
    rows = processor_rows(transformers, polymodal, images, repeats)
    rows += pipeline_rows(transformers, polymodal, vit, photos(64, seed=1), max(3, repeats // 3))
    print_table(rows, ["case", "side", "median s", "vs Transformers", "max |Δ pixels|"])


if __name__ == "__main__":
    main()
