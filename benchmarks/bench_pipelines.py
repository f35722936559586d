"""Pipelines and training: polymodal vs Transformers at wav2vec2-base size (random weights).

    python benchmarks/bench_pipelines.py [--repeats 5] [--threads 2] [--write-docs]

Both libraries use the *same* folder: a ``Wav2Vec2ForSequenceClassification`` of wav2vec2-base
shape (95 M parameters, 14 labels) and its feature extractor, written once by Transformers.
Cases, as in issue 5:

(a) first result — a fresh process that imports the library, builds the audio-classification
    pipeline from the folder and classifies one 16 kHz wav file. The whole child process is
    timed (interpreter start-up included: that is what a user waits for). Transformers'
    pipeline needs ffmpeg to read files, which is not assumed, so its script decodes the wav
    with soundfile and passes ``{"raw", "sampling_rate"}``. A second row does the same by hand
    (feature extractor → model → argmax) with no pipeline.
(b) throughput — one process, both pipelines, 32 clips of 5 s as arrays, ``batch_size=8``;
    runs interleaved (rotating who goes first), medians.
(c) Trainer — batch 4 × 3 s, frozen feature encoder, ``save_strategy="no"``, 2 warm-up steps
    then 10 timed ones; time per step is the median gap between the starts of consecutive
    forward passes over steps 3-12 (data loading, forward, backward, clipping, AdamW and the
    schedule all fall inside). Each run is its own subprocess (libraries alternate), which also
    reports its peak RSS (``ru_maxrss``: import, model, data and training together) and how far
    training raised RSS above what it was just before ``train()`` (``/proc`` VmHWM after
    ``clear_refs``). A third variant runs polymodal with ``MALLOC_MMAP_THRESHOLD_=1048576`` in
    the environment (glibc returns big freed buffers to the OS: lower peak, slower steps).

Ratios are polymodal / Transformers (lower is better). The script prints the load average
before and after: on a shared machine, read the numbers with it.
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
import time
import warnings
from pathlib import Path

from harness import interleaved_medians as interleaved

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "polymodal" / "datasets" / "data" / "sample_speech.wav"
RATE = 16000
NUM_LABELS = 14
TRAIN_BATCH, TRAIN_SECONDS, WARMUP_STEPS, TIMED_STEPS = 4, 3.0, 2, 10
# One step more than warm-up + timed: a step's time is the gap to the next step's start.
TRAIN_STEPS = WARMUP_STEPS + TIMED_STEPS + 1
PIPE_CLIPS, PIPE_SECONDS, PIPE_BATCH = 32, 5.0, 8


# --------------------------------------------------------------------------- shared set-up
def make_checkpoint(folder: Path) -> None:
    """wav2vec2-base-sized classifier + feature extractor, saved once by Transformers."""
    if (folder / "config.json").exists() and (folder / "clip.wav").exists():
        return
    import soundfile as sf
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    labels = [f"intent_{i}" for i in range(NUM_LABELS)]
    # layerdrop off so a training step always runs the same layers on both sides.
    config = transformers.Wav2Vec2Config(layerdrop=0.0, num_labels=NUM_LABELS, id2label=dict(enumerate(labels)),
                                         label2id={name: i for i, name in enumerate(labels)})
    transformers.Wav2Vec2ForSequenceClassification(config).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor().save_pretrained(folder)
    sf.write(folder / "clip.wav", speech(3.0), RATE)


def speech(seconds: float, offset: int = 0):
    """float32 speech at 16 kHz: the bundled sample resampled and tiled to ``seconds``."""
    import numpy as np

    from polymodal.audio.io import load_audio

    clip = load_audio(str(SAMPLE), sampling_rate=RATE)
    samples = int(seconds * RATE)
    return np.tile(clip, (offset + samples) // len(clip) + 1)[offset: offset + samples].astype(np.float32)


def quiet():
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("polymodal").setLevel(logging.ERROR)
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except ImportError:
        pass


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- (a) first result
FIRST_RESULT = {
    ("pm", "pipeline"): """
import polymodal
classifier = polymodal.pipeline("audio-classification", model={folder!r})
print(classifier({wav!r})[0]["label"])
""",
    ("hf", "pipeline"): """
import soundfile as sf
import transformers
transformers.logging.set_verbosity_error()
classifier = transformers.pipeline("audio-classification", model={folder!r}, device="cpu")
array, rate = sf.read({wav!r}, dtype="float32")
print(classifier({{"raw": array, "sampling_rate": rate}})[0]["label"])
""",
    ("pm", "by hand"): """
import torch
import polymodal
extractor = polymodal.AutoFeatureExtractor.from_pretrained({folder!r})
model = polymodal.AutoModelForAudioClassification.from_pretrained({folder!r})
array = polymodal.load_audio({wav!r}, sampling_rate=extractor.sampling_rate)
with torch.inference_mode():
    logits = model(**extractor(array, sampling_rate=extractor.sampling_rate, return_tensors="pt")).logits
print(model.config.id2label[int(logits.argmax(-1))])
""",
    ("hf", "by hand"): """
import soundfile as sf
import torch
import transformers
transformers.logging.set_verbosity_error()
extractor = transformers.AutoFeatureExtractor.from_pretrained({folder!r})
model = transformers.AutoModelForAudioClassification.from_pretrained({folder!r})
array, rate = sf.read({wav!r}, dtype="float32")
with torch.inference_mode():
    logits = model(**extractor(array, sampling_rate=rate, return_tensors="pt")).logits
print(model.config.id2label[int(logits.argmax(-1))])
""",
}


def child_env(threads: int) -> dict:
    return dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONWARNINGS="ignore", TQDM_DISABLE="1",
                TRANSFORMERS_VERBOSITY="error", HF_HUB_OFFLINE="1")


def measure_first_result(folder: Path, repeats: int, threads: int) -> dict:
    env = child_env(threads)
    times = {key: [] for key in FIRST_RESULT}
    answers = {}
    for r in range(repeats):
        keys = list(FIRST_RESULT)
        keys = keys[r % len(keys):] + keys[: r % len(keys)]  # rotate who goes first
        for key in keys:
            code = FIRST_RESULT[key].format(folder=str(folder), wav=str(folder / "clip.wav"))
            start = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
            times[key].append(time.perf_counter() - start)
            answers[key] = out.stdout.strip().splitlines()[-1]
    labels = set(answers.values())
    if len(labels) != 1:
        raise RuntimeError(f"the first-result scripts disagree: {answers}")
    return {"times": {key: statistics.median(v) for key, v in times.items()}, "label": labels.pop()}


# --------------------------------------------------------------------------- (b) pipeline throughput


def measure_throughput(folder: Path, repeats: int) -> dict:
    import transformers

    import polymodal

    clips = [speech(PIPE_SECONDS, offset=997 * i) for i in range(PIPE_CLIPS)]
    pipes = {
        "pm": polymodal.pipeline("audio-classification", model=str(folder)),
        "hf": transformers.pipeline("audio-classification", model=str(folder), device="cpu"),
    }
    runs = {lib: (lambda p=p: p(clips, batch_size=PIPE_BATCH)) for lib, p in pipes.items()}
    times = interleaved(runs, repeats)
    ours, theirs = runs["pm"](), runs["hf"]()
    same_top = sum(a[0]["label"] == b[0]["label"] for a, b in zip(ours, theirs)) / len(ours)
    score_diff = max(abs(a[0]["score"] - b[0]["score"]) for a, b in zip(ours, theirs))
    return {"times": times, "audio_seconds": PIPE_CLIPS * PIPE_SECONDS, "same_top": same_top,
            "score_diff": score_diff}


# --------------------------------------------------------------------------- (c) Trainer
def _status_mb(key: str) -> float:
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker_train(lib: str, folder: Path, threads: int) -> dict:
    """One Trainer run in this (fresh) process: step times, peak RSS, training's RSS rise."""
    import gc
    import resource

    import torch

    torch.set_num_threads(threads)
    quiet()
    if lib == "hf":
        import transformers as library
    else:
        import polymodal as library

    model = library.AutoModelForAudioClassification.from_pretrained(str(folder))
    model.freeze_feature_encoder()
    rows = [{"input_values": speech(TRAIN_SECONDS, offset=1009 * i), "label": i % NUM_LABELS}
            for i in range(TRAIN_BATCH * TRAIN_STEPS)]
    starts = []
    model.register_forward_pre_hook(lambda *_: starts.append(time.perf_counter()))
    with tempfile.TemporaryDirectory() as out:
        args = library.TrainingArguments(
            output_dir=out, per_device_train_batch_size=TRAIN_BATCH, max_steps=TRAIN_STEPS, learning_rate=3e-5,
            warmup_steps=1, save_strategy="no", eval_strategy="no", logging_steps=1000, report_to="none",
            disable_tqdm=True, seed=0, dataloader_num_workers=0,
        )
        trainer = library.Trainer(model=model, args=args, train_dataset=rows)
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        before = _status_mb("VmRSS")
        start = time.perf_counter()
        loss = trainer.train().training_loss
        total = time.perf_counter() - start
        rise = _status_mb("VmHWM") - before
    gaps = [b - a for a, b in zip(starts, starts[1:])][WARMUP_STEPS:WARMUP_STEPS + TIMED_STEPS]
    return {"step_times": gaps, "train_s": total, "loss": loss, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "train_rise_mb": rise, "steps": len(starts)}


# "pm+mmap": polymodal with glibc's mmap threshold fixed at 1 MiB (the user's opt-in, an
# environment variable): big freed buffers go back to the OS instead of fragmenting the heap.
TRAIN_VARIANTS = {"hf": ("hf", {}), "pm": ("pm", {}), "pm+mmap": ("pm", {"MALLOC_MMAP_THRESHOLD_": "1048576"})}


def run_worker(variant: str, folder: Path, threads: int) -> dict:
    lib, extra_env = TRAIN_VARIANTS[variant]
    cmd = [sys.executable, __file__, "--worker", lib, "--folder", str(folder), "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**child_env(threads), **extra_env})
    if out.returncode != 0:
        raise RuntimeError(f"{variant} training worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_training(folder: Path, repeats: int, threads: int) -> dict:
    runs = {variant: [] for variant in TRAIN_VARIANTS}
    for r in range(repeats):
        order = list(TRAIN_VARIANTS)
        for variant in order[r % len(order):] + order[: r % len(order)]:
            runs[variant].append(run_worker(variant, folder, threads))
    result = {}
    for lib, results in runs.items():
        steps = [t for res in results for t in res["step_times"]]
        result[lib] = {"step": statistics.median(steps),
                       "max_rss_mb": statistics.median(res["max_rss_mb"] for res in results),
                       "train_rise_mb": statistics.median(res["train_rise_mb"] for res in results),
                       "steps": results[0]["steps"], "loss": results[0]["loss"]}
    return result


# --------------------------------------------------------------------------- report
def render(results: dict, args) -> str:
    import torch

    first, thr, train = results["first"], results["throughput"], results["train"]
    lines = [
        f"wav2vec2-base-sized `Wav2Vec2ForSequenceClassification` (95 M parameters, random weights), "
        f"torch {torch.__version__}, {args.threads} thread(s), medians of {args.repeats} interleaved runs "
        f"((c): {args.train_repeats} runs per library × {TIMED_STEPS} timed steps). "
        f"Load average (1/5/15 min) before: {results['load_before']}, after: {results['load_after']} "
        f"on a {os.cpu_count()}-core machine shared with other jobs. Ratios are polymodal / Transformers "
        "(lower is better).",
        "",
        "| case | Transformers | polymodal | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for how in ("pipeline", "by hand"):
        theirs, ours = first["times"][("hf", how)], first["times"][("pm", how)]
        target = "≤ 0.5×" if how == "pipeline" else "—"
        lines.append(f"| (a) fresh process → first label of one 3 s wav, {how} | {theirs:.2f} s | {ours:.2f} s | "
                     f"{ours / theirs:.2f}× | {target} |")
    theirs, ours = thr["times"]["hf"], thr["times"]["pm"]
    lines.append(f"| (b) pipeline, {PIPE_CLIPS} clips × {PIPE_SECONDS:.0f} s, batch_size={PIPE_BATCH} | "
                 f"{theirs:.2f} s ({thr['audio_seconds'] / theirs:.0f}× real time) | "
                 f"{ours:.2f} s ({thr['audio_seconds'] / ours:.0f}× real time) | {ours / theirs:.2f}× | ≤ 1.0× |")
    lines += train_rows(train)
    hf, pm = train["hf"], train["pm"]
    lines += [
        "",
        f"Checks: every first-result script printed the same label ({first['label']}); the two pipelines "
        f"agree on the top label for {thr['same_top']:.0%} of the {PIPE_CLIPS} clips (largest top-score "
        f"difference {thr['score_diff']:.1e}); training loss over the {TRAIN_STEPS} steps (dropout on): "
        f"Transformers {hf['loss']:.6f}, polymodal {pm['loss']:.6f}.",
    ]
    return "\n".join(lines) + "\n"


def train_rows(train: dict) -> list[str]:
    """The (c) rows of the table (also printed alone by ``--only train``)."""
    hf, pm, mm = train["hf"], train["pm"], train["pm+mmap"]
    return [
        f"| (c) Trainer step, {TRAIN_BATCH} × {TRAIN_SECONDS:.0f} s, frozen feature encoder | {hf['step']:.2f} s | "
        f"{pm['step']:.2f} s | {pm['step'] / hf['step']:.2f}× | ≤ 0.9× |",
        f"| (c) peak RSS of the training process | {hf['max_rss_mb']:.0f} MB | {pm['max_rss_mb']:.0f} MB | "
        f"{pm['max_rss_mb'] / hf['max_rss_mb']:.2f}× | ≤ 0.8× |",
        f"| (c) RSS rise during `train()` | {hf['train_rise_mb']:.0f} MB | {pm['train_rise_mb']:.0f} MB | "
        f"{pm['train_rise_mb'] / max(hf['train_rise_mb'], 1):.2f}× | — |",
        f"| (c) opt-in `MALLOC_MMAP_THRESHOLD_=1048576`: polymodal step | {hf['step']:.2f} s | {mm['step']:.2f} s | "
        f"{mm['step'] / hf['step']:.2f}× | — |",
        f"| (c) opt-in `MALLOC_MMAP_THRESHOLD_=1048576`: polymodal peak RSS | {hf['max_rss_mb']:.0f} MB | "
        f"{mm['max_rss_mb']:.0f} MB | {mm['max_rss_mb'] / hf['max_rss_mb']:.2f}× | — |",
    ]


def write_docs(table: str) -> None:
    """Replace (or append) only this script's section of docs/benchmarks.md."""
    from polymodal.core.io import atomic_write_text

    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    title = "## Pipelines and training"
    section = f"{title}\n\nMeasured with `python benchmarks/bench_pipelines.py --write-docs`.\n\n{table}"
    pattern = re.compile(re.escape(title) + r"\n.*?(?=\n## |\Z)", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    atomic_write_text(path, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-repeats", type=int, default=3, help="Trainer runs per library (each ~13 steps)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "polymodal_bench_pipelines")
    parser.add_argument("--only", choices=("first", "throughput", "train"), action="append",
                        help="run only these cases (repeatable); the docs are only written for a full run")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--worker", choices=("pm", "hf"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_train(args.worker, args.folder, args.threads)))
        return

    import torch

    quiet()
    torch.set_num_threads(args.threads)
    make_checkpoint(args.folder)
    cases = args.only or ["first", "throughput", "train"]
    results = {"load_before": load_average()}
    if "first" in cases:
        print("(a) first result ...", flush=True)
        results["first"] = measure_first_result(args.folder, args.repeats, args.threads)
        print(results["first"], flush=True)
    if "throughput" in cases:
        print("(b) pipeline throughput ...", flush=True)
        results["throughput"] = measure_throughput(args.folder, args.repeats)
        print(results["throughput"], flush=True)
    if "train" in cases:
        print("(c) Trainer ...", flush=True)
        results["train"] = measure_training(args.folder, args.train_repeats, args.threads)
        print(results["train"], flush=True)
    results["load_after"] = load_average()
    if len(cases) < 3:
        if cases == ["train"]:
            print(f"load average before: {results['load_before']}, after: {results['load_after']}")
            print("\n".join(train_rows(results["train"])))
            print(f"training loss: Transformers {results['train']['hf']['loss']:.6f}, "
                  f"polymodal {results['train']['pm']['loss']:.6f}")
        return
    table = render(results, args)
    print(table)
    if args.write_docs:
        write_docs(table)


if __name__ == "__main__":
    main()
