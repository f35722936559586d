"""X-CLIP speed: polymodal vs Transformers, same weights and inputs in one run.

    python benchmarks/bench_xclip.py [--repeats 7] [--threads N] [--markdown]

A base-sized X-CLIP (``XCLIPConfig()`` defaults: ViT-B/32 frames at 224, 8 frames, a one-layer
MIT, a two-layer prompt generator) with random weights, saved once and loaded by both
libraries. Workloads: ``get_video_features`` on 2 videos x 8 frames, and the full forward on
the same videos with 3 prompts. Runs are interleaved (theirs, ours fp32, ours bf16, then the
reverse order, ...); the table gives median times, their ratio, and in brackets the median of the
per-round ratios. polymodal bf16 is compared with Transformers fp32. On a busy machine use
``--threads 1``: with more threads than free cores every parallel op waits for a descheduled
thread and timings turn to noise.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from pathlib import Path

import torch
from harness import interleaved_times, medians, paired_ratios

VIDEOS, FRAMES, PROMPT_LENGTH = 2, 8, 9


def make_checkpoint(folder: Path) -> None:
    import transformers

    torch.manual_seed(0)
    transformers.XCLIPModel(transformers.XCLIPConfig()).save_pretrained(folder)


def inputs() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    pixel_values = torch.randn(VIDEOS, FRAMES, 3, 224, 224, generator=gen)  # (B, T, C, H, W), normalised-like
    ids = torch.randint(1, 49000, (3, PROMPT_LENGTH), generator=gen)
    ids[:, 0], ids[:, -1] = 49406, 49407  # start/end of text; the end has the largest id, where X-CLIP pools
    return {"pixel_values": pixel_values, "input_ids": ids, "attention_mask": torch.ones_like(ids)}


def load(side: str, folder: Path, dtype=torch.float32):
    if side == "theirs":
        import transformers as lib
    else:
        import polymodal as lib
    return lib.XCLIPModel.from_pretrained(folder, dtype=dtype).eval()


def workloads(model, batch: dict) -> dict:
    pixel_values = batch["pixel_values"].to(model.dtype)

    def video_features():
        with torch.inference_mode():
            out = model.get_video_features(pixel_values=pixel_values)
            return getattr(out, "pooler_output", out)  # Transformers 5 returns the tower's output

    def forward():
        with torch.inference_mode():
            return model(**{**batch, "pixel_values": pixel_values}).logits_per_video

    return {f"get_video_features ({VIDEOS} videos x {FRAMES} frames)": video_features,
            f"XCLIPModel forward ({VIDEOS} videos x 3 prompts)": forward}


def interleaved(functions: dict, repeats: int) -> tuple[dict, dict]:
    """Median time per side, and the median of the per-round ratios to ``theirs``."""
    times = interleaved_times(functions, repeats)
    return medians(times), paired_ratios(times, "theirs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    import transformers

    transformers.logging.set_verbosity_error()
    batch = inputs()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_checkpoint(folder)
        models = {"theirs": load("theirs", folder), "ours": load("ours", folder),
                  "bf16": load("ours", folder, torch.bfloat16)}
        jobs = {side: workloads(model, batch) for side, model in models.items()}
        rows = []
        for name in jobs["theirs"]:
            sides = {side: jobs[side][name] for side in jobs}
            outputs = {side: fn().float() for side, fn in sides.items()}
            diff = {side: (outputs[side] - outputs["theirs"]).abs().max().item() for side in ("ours", "bf16")}
            rows.append((name, *interleaved(sides, args.repeats), diff))
    report(rows, args.markdown)


def report(rows, markdown: bool) -> None:
    head = ["workload", "Transformers fp32", "polymodal fp32", "ratio (paired)", "polymodal bf16",
            "ratio (paired)", "max abs diff fp32", "max abs diff bf16"]
    lines = [[name, f"{t['theirs'] * 1e3:.1f} ms", f"{t['ours'] * 1e3:.1f} ms",
              f"{t['ours'] / t['theirs']:.2f} ({r['ours']:.2f})", f"{t['bf16'] * 1e3:.1f} ms",
              f"{t['bf16'] / t['theirs']:.2f} ({r['bf16']:.2f})", f"{d['ours']:.1e}", f"{d['bf16']:.1e}"]
             for name, t, r, d in rows]
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
        for line in [head, *lines]:
            print("  ".join(str(x).ljust(w) for x, w in zip(line, widths)))
    print(f"\ntorch threads: {torch.get_num_threads()}, CPU count: {os.cpu_count()}, load average: "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
