"""ALIGN model calls: polymodal vs Transformers, same weights and inputs in one run.

    python benchmarks/bench_align.py [--repeats 5] [--image-size 289]

An align-base-sized model (BERT-base text tower, EfficientNet-B7 image tower, 640-d joint
space) with random weights is built by Transformers, saved, and loaded by both libraries.
Timed: ``get_image_features`` on 8 images and ``get_text_features`` on 8 prompts padded to 64
tokens (AlignProcessor's default ``padding="max_length", max_length=64``), in fp32 and with
polymodal in bf16. Runs are interleaved and the median is reported, so a slow spell on a shared
machine hits both sides alike. Last, the image-text cosine similarities of polymodal (fp32 and
bf16) are compared with Transformers' fp32 ones, with the top-1 prompt per image.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings

import torch
from harness import interleaved_medians


def build_checkpoint(path: str, image_size: int) -> None:
    import transformers

    torch.manual_seed(0)
    config = transformers.AlignConfig(vision_config={"image_size": image_size})
    model = transformers.AlignModel(config).eval()
    # Transformers' default init (std 0.02) shrinks activations to ~1e-20 through 55 conv blocks;
    # fan-in scaled convs keep them O(1), so the bf16 ranking check below means something.
    with torch.no_grad():
        for module in model.vision_model.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="linear")
    model.save_pretrained(path)


def inputs(image_size: int):
    gen = torch.Generator().manual_seed(0)
    pixels = torch.randn(8, 3, image_size, image_size, generator=gen)
    input_ids = torch.randint(1000, 30000, (8, 64), generator=gen)
    attention_mask = torch.zeros_like(input_ids)
    for i, length in enumerate((7, 9, 12, 8, 10, 6, 11, 9)):  # short prompts, padded to 64
        attention_mask[i, :length] = 1
    input_ids[:, 0] = 101
    input_ids[attention_mask == 0] = 0
    return pixels, {"input_ids": input_ids, "attention_mask": attention_mask}


def similarities(model, pixels, text) -> torch.Tensor:
    """Cosine similarities (8 images x 8 prompts), as zero-shot classification ranks them."""
    with torch.inference_mode():
        image = torch.nn.functional.normalize(model.get_image_features(pixels).float(), dim=-1)
        words = torch.nn.functional.normalize(model.get_text_features(**text).float(), dim=-1)
    return image @ words.t()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=289)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    warnings.filterwarnings("ignore")
    import transformers

    transformers.logging.set_verbosity_error()
    from polymodal import AlignModel

    with tempfile.TemporaryDirectory() as path:
        build_checkpoint(path, args.image_size)
        theirs = transformers.AlignModel.from_pretrained(path).eval()
        ours = AlignModel.from_pretrained(path)
        ours_bf16 = AlignModel.from_pretrained(path, torch_dtype=torch.bfloat16)
    pixels, text = inputs(args.image_size)

    def timed(fn):
        def run():
            with torch.inference_mode():
                fn()
        return run

    print(f"ALIGN-base sized, 8 images {args.image_size}px / 8 prompts x 64 tokens, "
          f"torch threads={torch.get_num_threads()}, median of {args.repeats} interleaved runs")
    print(f"{'call':<22}{'transformers':>14}{'polymodal':>12}{'ratio':>8}{'bf16':>12}{'ratio':>8}")
    for name, call in (("get_image_features", lambda m: m.get_image_features(pixels)),
                       ("get_text_features", lambda m: m.get_text_features(**text))):
        t = interleaved_medians({
            "theirs": timed(lambda: call(theirs)),
            "ours": timed(lambda: call(ours)),
            "bf16": timed(lambda: call(ours_bf16)),
        }, args.repeats)
        print(f"{name:<22}{t['theirs'] * 1e3:>11.1f} ms{t['ours'] * 1e3:>9.1f} ms{t['ours'] / t['theirs']:>8.2f}"
              f"{t['bf16'] * 1e3:>9.1f} ms{t['bf16'] / t['theirs']:>8.2f}")
    reference = similarities(theirs_features(theirs), pixels, text)
    for name, model in (("fp32", ours), ("bf16", ours_bf16)):
        sims = similarities(model, pixels, text)
        same = sims.argmax(dim=1) == reference.argmax(dim=1)
        # Random weights give near-tied prompts; a flip only means something if the fp32 margin was large.
        top2 = reference.topk(2, dim=1).values
        margins = (top2[:, 0] - top2[:, 1])[~same]
        flipped = f" (fp32 top-1 margins of the flipped ones: {margins.tolist()})" if len(margins) else ""
        print(f"polymodal {name}: max |cos diff| vs Transformers fp32 {(sims - reference).abs().max().item():.2e}, "
              f"same top-1 prompt for {same.float().mean().item():.0%} of images{flipped}")


class theirs_features:
    """Transformers 5 returns output objects from get_*_features; unwrap them to tensors."""

    def __init__(self, model):
        self.model = model

    def get_image_features(self, pixels):
        return self.model.get_image_features(pixels).pooler_output

    def get_text_features(self, **text):
        return self.model.get_text_features(**text).pooler_output


if __name__ == "__main__":
    main()
