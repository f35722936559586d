"""CLIP speed and memory: polymodal vs Transformers, same weights and inputs in one run.

    python benchmarks/bench_vision_language.py [--repeats 10] [--threads N] [--markdown]

Workloads (ViT-B/32-sized CLIP with random weights, saved once and loaded by both libraries):
``get_image_features`` on 8 images, ``get_text_features`` on 8 prompts, the image processor on
8 photos of 640x480, and the zero-shot pipeline on 8 images x 5 labels. Runs are interleaved
(ours, theirs, ours, ...) and medians reported; polymodal bf16 is compared with Transformers
fp32, together with whether the zero-shot ranking is the same. Peak memory is the peak RSS
(VmHWM) of a fresh process that imports the library, loads the model and runs the workload
three times. On a busy machine use ``--threads 1``: with more threads than free cores every
parallel op waits for a descheduled thread and timings turn to noise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_image_processing import interleaved_medians, photos  # noqa: E402

LABELS = ["cat", "dog", "car", "tree", "bowl of soup"]
PROMPTS = [f"a photo of a {w}." for w in ("cat", "dog", "car", "tree", "house", "bird", "boat", "horse")]


# --------------------------------------------------------------------------- fixtures
def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte → printable character table (what CLIP's vocab is written in)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    chars, extra = printable[:], 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def write_clip_tokenizer(folder: Path) -> None:
    """A small CLIP BPE vocabulary where every word of the prompts is one token (as in real CLIP)."""
    letters = list(_bytes_to_unicode().values())
    vocab = letters + [c + "</w>" for c in letters]
    merges = []
    words = {w.strip(".") for text in PROMPTS + [f"this is a photo of {label}." for label in LABELS] for w in text.split()}
    for word in sorted(words | {"."}):
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:  # merge left to right until the word is one token
            merges.append(f"{pieces[0]} {pieces[1]}")
            merged = pieces[0] + pieces[1]
            if merged not in vocab:
                vocab.append(merged)
            pieces = [merged] + pieces[2:]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({tok: i for i, tok in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(dict.fromkeys(merges)) + "\n")


def make_checkpoint(folder: Path) -> None:
    import transformers

    write_clip_tokenizer(folder)
    tokenizer = transformers.CLIPTokenizer.from_pretrained(str(folder))
    tokenizer.save_pretrained(folder)
    transformers.CLIPImageProcessor().save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.CLIPConfig(
        text_config={"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
                     "pad_token_id": tokenizer.pad_token_id},
        vision_config={}, projection_dim=512)
    model = transformers.CLIPModel(config)
    with torch.no_grad():
        model.logit_scale.fill_(4.6052)  # trained CLIP's value (exp = 100)
    model.save_pretrained(folder)


# --------------------------------------------------------------------------- the two sides
def load_side(side: str, folder: Path, dtype=torch.float32):
    if side == "theirs":
        import transformers as lib
    else:
        import polymodal as lib
    model = lib.CLIPModel.from_pretrained(folder, dtype=dtype).eval()
    tokenizer = lib.CLIPTokenizer.from_pretrained(folder)
    processor = lib.CLIPImageProcessor.from_pretrained(folder)
    classifier = lib.pipeline("zero-shot-image-classification", model=model, tokenizer=tokenizer,
                              image_processor=processor)
    return model, tokenizer, processor, classifier


def workloads(side, images, exact_processor=None) -> dict:
    model, tokenizer, processor, classifier = side
    pixel_values = processor(images, return_tensors="pt").pixel_values.to(model.dtype)
    text = tokenizer(PROMPTS, padding=True, return_tensors="pt")

    def image_features():
        with torch.inference_mode():
            return model.get_image_features(pixel_values=pixel_values)

    def text_features():
        with torch.inference_mode():
            return model.get_text_features(**text)

    jobs = {
        "get_image_features (8 images)": image_features,
        "get_text_features (8 prompts)": text_features,
        "image processor, default (8 photos 640x480)": lambda: processor(images, return_tensors="pt"),
        "zero-shot pipeline (8 images x 5 labels)": lambda: classifier(images, candidate_labels=LABELS),
        "zero-shot pipeline, batch_size=8": lambda: classifier(images, candidate_labels=LABELS, batch_size=8),
    }
    # polymodal's default is the fast torch resize (within two 8-bit levels of Pillow); this row is its
    # bit-exact use_fast=False path. Transformers (no torchvision here) runs its PIL path in both rows.
    exact = exact_processor or processor
    jobs["image processor, use_fast=False (8 photos)"] = lambda: exact(images, return_tensors="pt")
    return jobs


def rankings(classifier, images) -> list[list[str]]:
    return [[r["label"] for r in result] for result in classifier(images, candidate_labels=LABELS, batch_size=8)]


def peak_memory(side: str, folder: Path, work: str, threads: int) -> float:
    """Peak RSS (MiB) of a fresh process doing ``work`` three times with ``side``'s library."""
    out = subprocess.run([sys.executable, __file__, "--threads", str(threads), "--child", side, work, str(folder)],
                         check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def child(side: str, work: str, folder: str) -> None:
    warnings.filterwarnings("ignore")
    if side == "theirs":
        import transformers

        transformers.logging.set_verbosity_error()
    images = photos()
    exact = None
    if side == "ours":
        from polymodal import CLIPImageProcessor

        exact = CLIPImageProcessor.from_pretrained(folder, use_fast=False)
    jobs = workloads(load_side(side, Path(folder)), images, exact)
    job = next(fn for name, fn in jobs.items() if name.startswith(work))
    for _ in range(3):
        job()
    # VmHWM is this process's own peak (ru_maxrss would include the parent's, inherited at fork).
    status = Path("/proc/self/status").read_text()
    print(int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024)


# --------------------------------------------------------------------------- report
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--only", help="run only the workloads whose name contains this text")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        return child(*args.child)
    warnings.filterwarnings("ignore")
    import transformers

    transformers.logging.set_verbosity_error()
    images = photos()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_checkpoint(folder)
        theirs = load_side("theirs", folder)
        ours = load_side("ours", folder)
        ours_bf16 = load_side("ours", folder, torch.bfloat16)
        from polymodal import CLIPImageProcessor

        exact = CLIPImageProcessor.from_pretrained(folder, use_fast=False)
        jobs = {"theirs": workloads(theirs, images), "ours": workloads(ours, images, exact),
                "bf16": workloads(ours_bf16, images)}
        rows = []
        for name in jobs["theirs"]:
            if args.only and args.only not in name:
                continue
            sides = {"theirs": jobs["theirs"][name], "ours": jobs["ours"][name]}
            if "image processor" not in name:  # the processor has no dtype
                sides["bf16"] = jobs["bf16"][name]
            times = interleaved_medians(sides, args.repeats)
            memory = {side: peak_memory(side, folder, name.split(" (")[0], args.threads) for side in ("theirs", "ours")}
            rows.append((name, times, memory))
        reference = rankings(theirs[3], images)
        same_fp32 = rankings(ours[3], images) == reference
        same_bf16 = rankings(ours_bf16[3], images) == reference
    report(rows, same_fp32, same_bf16, args.markdown)


def report(rows, same_fp32: bool, same_bf16: bool, markdown: bool) -> None:
    head = ["workload", "Transformers fp32", "polymodal fp32", "ratio", "polymodal bf16", "ratio",
            "peak RSS Transformers", "peak RSS polymodal"]
    lines = []
    for name, t, mem in rows:
        bf16 = (f"{t['bf16'] * 1e3:.1f} ms", f"{t['bf16'] / t['theirs']:.2f}") if "bf16" in t else ("–", "–")
        lines.append([name, f"{t['theirs'] * 1e3:.1f} ms", f"{t['ours'] * 1e3:.1f} ms", f"{t['ours'] / t['theirs']:.2f}",
                      *bf16, f"{mem['theirs']:.0f} MiB", f"{mem['ours']:.0f} MiB"])
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
        for line in [head, *lines]:
            print("  ".join(str(x).ljust(w) for x, w in zip(line, widths)))
    print(f"\nzero-shot ranking equal to Transformers fp32: polymodal fp32 {same_fp32}, polymodal bf16 {same_bf16}")
    print(f"torch threads: {torch.get_num_threads()}, CPU count: {os.cpu_count()}, load average: "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
