"""Wav2Vec2 models: polymodal vs Transformers at wav2vec2-base size (random weights).

    python benchmarks/bench_models.py [--repeats 7] [--threads 2] [--write-docs]

Both libraries load the *same* checkpoint folders (written once by Transformers with seeded
random weights) and get the same inputs (the bundled speech clip, resampled to 16 kHz and
tiled). Cases, as in issue 4:

* classification inference, 4 × 5 s (``Wav2Vec2ForSequenceClassification``);
* CTC inference, 2 × 10 s (``Wav2Vec2ForCTC``);
* one training step, 4 × 3 s, CTC loss, frozen feature encoder, AdamW (layerdrop off so both
  sides run the same layers).

Times: one process holds all models and runs them interleaved (ours, theirs, ...), so a slow
spell on a shared machine hits every side alike; medians are reported. Peak memory: a fresh
subprocess per (library, case, dtype) loads the model, reads every weight once (safetensors
maps files lazily, so otherwise the first forward would count the weights paging in), for
training also runs one step (AdamW state), then resets the kernel's RSS high-water mark
(``/proc/self/clear_refs``) and reports how far one forward (or training step) raises it above
the resident size before the call. ``MALLOC_MMAP_THRESHOLD_`` is set low so freed buffers go
back to the OS and RSS follows live memory. Start-up: ``import`` + ``from_pretrained`` in fresh
processes, interleaved, measured from the first line of the child (interpreter start-up,
common to both, excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from harness import interleaved_medians as interleaved
from harness import status_mb

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "polymodal" / "datasets" / "data" / "sample_speech.wav"
CASES = {  # name: (head, batch, seconds)
    "cls": ("Wav2Vec2ForSequenceClassification", 4, 5.0),
    "ctc": ("Wav2Vec2ForCTC", 2, 10.0),
    "train": ("Wav2Vec2ForCTC", 4, 3.0),
}
RATE = 16000


# --------------------------------------------------------------------------- shared set-up
def make_checkpoints(folder: Path) -> None:
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    for name, head, extra in (("cls", "Wav2Vec2ForSequenceClassification", {"num_labels": 8}),
                              ("ctc", "Wav2Vec2ForCTC", {"vocab_size": 32})):
        if (folder / name / "config.json").exists():
            continue
        torch.manual_seed(0)
        config = transformers.Wav2Vec2Config(layerdrop=0.0, **extra)  # wav2vec2-base shape
        getattr(transformers, head)(config).save_pretrained(folder / name)


def audio_batch(batch: int, seconds: float):
    """(batch, samples) float32 speech, normalised per clip like Wav2Vec2FeatureExtractor."""
    import numpy as np
    import torch

    from polymodal.audio.io import load_audio

    clip = load_audio(str(SAMPLE), sampling_rate=RATE)
    samples = int(seconds * RATE)
    rows = []
    for i in range(batch):
        tiled = np.tile(clip, samples // len(clip) + 2)[i * 1000: i * 1000 + samples]
        rows.append((tiled - tiled.mean()) / (tiled.std() + 1e-7))
    return torch.tensor(np.stack(rows), dtype=torch.float32)


def load(lib: str, case: str, folder: Path, dtype_name: str):
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    head = CASES[case][0]
    path = folder / ("cls" if case == "cls" else "ctc")
    if lib == "hf":
        import transformers

        transformers.logging.set_verbosity_error()
        return getattr(transformers, head).from_pretrained(path, dtype=dtype).eval()
    import polymodal

    return getattr(polymodal, head).from_pretrained(path, torch_dtype=dtype).eval()


def ctc_labels(batch: int):
    import torch

    generator = torch.Generator().manual_seed(0)
    return torch.randint(1, 32, (batch, 40), generator=generator)


def training_step(model, optimizer, x, labels):
    optimizer.zero_grad(set_to_none=True)
    loss = model(x, labels=labels).loss
    loss.backward()
    optimizer.step()
    return loss


def make_trainer(lib: str, folder: Path):
    import torch

    model = load(lib, "train", folder, "fp32")
    model.train()
    model.freeze_feature_encoder()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    return model, optimizer


# --------------------------------------------------------------------------- subprocess workers

def worker_memory(lib: str, case: str, dtype: str, folder: Path, threads: int) -> dict:
    import gc

    import torch

    torch.set_num_threads(threads)
    warnings.simplefilter("ignore")
    _, batch, seconds = CASES[case]
    x = audio_batch(batch, seconds)
    if case == "train":
        model, optimizer = make_trainer(lib, folder)
        run = lambda: training_step(model, optimizer, x, ctc_labels(batch))  # noqa: E731
        run()  # allocates AdamW state, which is the same for both libraries
    else:
        model = load(lib, case, folder, dtype)
        x = x.to(model.dtype)

        def run():
            with torch.inference_mode():
                model(x)
    with torch.no_grad():
        sum(float(p.float().sum()) for p in model.parameters())  # page every weight in
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = status_mb("VmRSS")
    run()
    return {"peak_delta_mb": status_mb("VmHWM") - before}


STARTUP_CHILD = """
import time
start = time.perf_counter()
import warnings; warnings.simplefilter("ignore")
import {module} as lib
{quiet}
model = lib.Wav2Vec2ForSequenceClassification.from_pretrained({path!r})
print(time.perf_counter() - start)
"""


def startup_command(lib: str, folder: Path) -> list[str]:
    module = "transformers" if lib == "hf" else "polymodal"
    quiet = "lib.logging.set_verbosity_error()" if lib == "hf" else ""
    return [sys.executable, "-c", STARTUP_CHILD.format(module=module, quiet=quiet, path=str(folder / "cls"))]


def run_worker(args: list[str], threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MALLOC_MMAP_THRESHOLD_="65536")
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- measurements


def agreement(case: str, reference, candidate) -> float:
    """Share of clips (cls) or frames (ctc) whose argmax agrees."""
    a, b = reference.float().argmax(-1), candidate.float().argmax(-1)
    return (a == b).float().mean().item()


def measure_inference(case: str, folder: Path, repeats: int) -> dict:
    import torch

    _, batch, seconds = CASES[case]
    x = audio_batch(batch, seconds)
    models = {(lib, dt): load(lib, case, folder, dt) for lib in ("hf", "pm") for dt in ("fp32", "bf16")}

    def runner(model):
        inputs = x.to(model.dtype)

        def run():
            with torch.inference_mode():
                return model(inputs).logits
        return run

    runs = {key: runner(model) for key, model in models.items()}
    times = interleaved(runs, repeats)
    logits = {key: run() for key, run in runs.items()}
    reference = logits[("hf", "fp32")]
    return {
        "times": times,
        "audio_seconds": batch * seconds,
        "max_abs_diff_fp32": (logits[("pm", "fp32")] - reference).abs().max().item(),
        "agree_bf16": agreement(case, reference, logits[("pm", "bf16")]),
        "agree_hf_bf16": agreement(case, reference, logits[("hf", "bf16")]),
    }


def measure_training(folder: Path, repeats: int) -> dict:
    _, batch, seconds = CASES["train"]
    x = audio_batch(batch, seconds)
    labels = ctc_labels(batch)
    trainers = {lib: make_trainer(lib, folder) for lib in ("hf", "pm")}
    runs = {(lib, "fp32"): (lambda m=m, o=o: training_step(m, o, x, labels)) for lib, (m, o) in trainers.items()}
    return {"times": interleaved(runs, repeats), "audio_seconds": batch * seconds}


def measure_startup(folder: Path, repeats: int, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    times = {"hf": [], "pm": []}
    for r in range(repeats):
        for lib in (("hf", "pm") if r % 2 == 0 else ("pm", "hf")):
            out = subprocess.run(startup_command(lib, folder), capture_output=True, text=True, env=env, check=True)
            times[lib].append(float(out.stdout.strip().splitlines()[-1]))
    return {lib: statistics.median(values) for lib, values in times.items()}


# --------------------------------------------------------------------------- report
def render(results: dict, args) -> str:
    import torch

    lines = [
        f"wav2vec2-base size (95 M parameters, random weights), torch {torch.__version__}, "
        f"{args.threads} threads, medians of {args.repeats} interleaved runs; memory = peak RSS rise "
        "during one call in a fresh process. Ratios are polymodal / Transformers (lower is better).",
        "",
        "| case | dtype | Transformers | polymodal | ratio | RTF (polymodal) | peak mem Transformers | "
        "peak mem polymodal | mem ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case in ("cls", "ctc", "train"):
        res = results[case]
        label = {"cls": "classification 4 × 5 s", "ctc": "CTC 2 × 10 s", "train": "train step 4 × 3 s"}[case]
        for dt in (("fp32", "bf16") if case != "train" else ("fp32",)):
            theirs, ours = res["times"][("hf", dt)], res["times"][("pm", dt)]
            mem_t, mem_o = res["memory"][("hf", dt)], res["memory"][("pm", dt)]
            lines.append(
                f"| {label} | {dt} | {theirs:.2f} s | {ours:.2f} s | {ours / theirs:.2f}× | "
                f"{ours / res['audio_seconds']:.3f} | {mem_t:.0f} MB | {mem_o:.0f} MB | {mem_o / max(mem_t, 1):.2f}× |"
            )
    lines += ["", "| check | value |", "|---|---|"]
    for case in ("cls", "ctc"):
        res = results[case]
        hf32 = res["times"][("hf", "fp32")]
        lines += [
            f"| {case}: polymodal bf16 / Transformers fp32 time | {res['times'][('pm', 'bf16')] / hf32:.2f}× |",
            f"| {case}: polymodal bf16 / Transformers bf16 time | "
            f"{res['times'][('pm', 'bf16')] / res['times'][('hf', 'bf16')]:.2f}× |",
            f"| {case}: argmax agreement, polymodal bf16 vs Transformers fp32 | {res['agree_bf16']:.1%} "
            f"(Transformers bf16: {res['agree_hf_bf16']:.1%}) |",
            f"| {case}: max abs logit difference, fp32 | {res['max_abs_diff_fp32']:.1e} |",
        ]
    st = results["startup"]
    lines.append(f"| start-up (import + from_pretrained) | Transformers {st['hf']:.2f} s, polymodal {st['pm']:.2f} s, "
                 f"ratio {st['pm'] / st['hf']:.2f}× |")
    return "\n".join(lines) + "\n"


NOTES = """
Notes. The machine is a shared 2-core AMD EPYC (AVX-512 BF16) under load from other jobs, so
single ratios move by ±10 %; compare them across reruns. Where fp32 wins: on this CPU torch's
default BLAS path for `nn.Linear` does not reach oneDNN's speed, and polymodal's inference path
calls oneDNN's linear with the bias (and GELU) fused; the conv stack runs frames-first as plain
GEMMs with the norms and activations in place, which removes oneDNN's conv scratch copies
(the memory column). In bf16 Transformers' linears already go through oneDNN, so the two are
level there (0.95–1.02×). CTC argmax agreement with random weights (97.8 %) is below the 99 %
target for Transformers' own bf16 as well (98.1 %): random CTC heads give near-tied logits; the
classification head agrees on every clip. The training-step memory is dominated by what both
libraries keep for the same autograd graph (saved activations, gradients); the conv-stack
saving happens before that peak, so the ratio is 1.00×.
"""


def write_docs(table: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"## Speech models\n\nMeasured with `python benchmarks/bench_models.py --write-docs`.\n\n{table}{NOTES}\n"
    pattern = re.compile(r"## Speech models\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(lambda _: section.rstrip("\n") + "\n", text) if pattern.search(text) else \
        text.rstrip("\n") + "\n\n" + section
    from polymodal.core.io import atomic_write_text

    atomic_write_text(path, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "polymodal_bench_w2v2")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--worker", nargs=3, metavar=("LIB", "CASE", "DTYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_memory(*args.worker, args.folder, args.threads)))
        return

    import torch

    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    make_checkpoints(args.folder)
    results = {}
    for case in ("cls", "ctc"):
        print(f"timing {case} ...", flush=True)
        results[case] = measure_inference(case, args.folder, args.repeats)
    print("timing train ...", flush=True)
    results["train"] = measure_training(args.folder, args.repeats)
    for case in ("cls", "ctc", "train"):
        dtypes = ("fp32", "bf16") if case != "train" else ("fp32",)
        results[case]["memory"] = {
            (lib, dt): run_worker(["--worker", lib, case, dt, "--folder", str(args.folder),
                                   "--threads", str(args.threads)], args.threads)["peak_delta_mb"]
            for dt in dtypes for lib in ("hf", "pm")
        }
    print("timing start-up ...", flush=True)
    results["startup"] = measure_startup(args.folder, max(args.repeats, 5), args.threads)
    table = render(results, args)
    print(table)
    if args.write_docs:
        write_docs(table)


if __name__ == "__main__":
    main()
