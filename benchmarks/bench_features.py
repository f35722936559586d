"""Audio feature extraction speed: polymodal vs Transformers on the same inputs, in one run.

    python benchmarks/bench_features.py [--repeats 20] [--threads 2[,1]] [--write-docs]

Cases (targets are polymodal's time / Transformers' time, on 2 CPU cores):
  Wav2Vec2FeatureExtractor  16 clips of 1-10 s, padding=True + attention mask   <= 0.5
  WhisperFeatureExtractor    8 clips of 10 s (padded to 30 s)                    <= 0.5
  ASTFeatureExtractor        8 clips of 5 s                                      <= 0.2

Runs alternate between the libraries (and which goes first), so a slow spell on a shared
machine hits both alike; medians are reported. The load average is printed with the table:
on a busy machine torch's thread pool suffers more than single-threaded numpy, so the ratios
are only meaningful on a quiet one. Transformers' AST extractor runs its numpy
path here, as torchaudio is not installed. ``--write-docs`` puts the table in
docs/benchmarks.md under "## Feature extraction".
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import warnings
from pathlib import Path

import numpy as np
import torch
from harness import interleaved_times

RATE = 16000
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def speech_like(seconds: list[float], seed: int = 0) -> list[np.ndarray]:
    """Seeded clips: a voiced buzz (harmonics of a drifting pitch) in noise, float32."""
    rng = np.random.default_rng(seed)
    clips = []
    for s in seconds:
        t = np.arange(int(s * RATE)) / RATE
        pitch = 120 + 30 * np.sin(2 * np.pi * 0.5 * t)
        phase = 2 * np.pi * np.cumsum(pitch) / RATE
        voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
        clips.append((0.1 * voiced + 0.01 * rng.standard_normal(t.size)).astype(np.float32))
    return clips


def cases():
    import transformers

    import polymodal

    rng = np.random.default_rng(1)
    w2v_clips = speech_like(list(rng.uniform(1, 10, 16)))
    w2v_kwargs = dict(sampling_rate=RATE, padding=True, return_attention_mask=True, return_tensors="pt")
    common = dict(sampling_rate=RATE, return_tensors="pt")
    return [
        ("Wav2Vec2FeatureExtractor", "16 x 1-10 s, padding + mask", 0.5, w2v_clips, w2v_kwargs,
         polymodal.Wav2Vec2FeatureExtractor(), transformers.Wav2Vec2FeatureExtractor()),
        ("WhisperFeatureExtractor", "8 x 10 s", 0.5, speech_like([10.0] * 8), common,
         polymodal.WhisperFeatureExtractor(), transformers.WhisperFeatureExtractor()),
        ("ASTFeatureExtractor", "8 x 5 s", 0.2, speech_like([5.0] * 8), common,
         polymodal.ASTFeatureExtractor(), transformers.ASTFeatureExtractor()),
    ]


def max_difference(ours, theirs) -> float:
    key = next(iter(theirs.keys()))
    a, b = ours[key], theirs[key]
    return float((torch.as_tensor(a).double() - torch.as_tensor(b).double()).abs().max())




def run(repeats: int) -> list[dict]:
    rows = []
    for name, inputs_label, target, clips, kwargs, ours, theirs in cases():
        audio_seconds = sum(len(c) for c in clips) / RATE
        diff = max_difference(ours(clips, **kwargs), theirs(clips, **kwargs))
        times = interleaved_times({"ours": lambda: ours(clips, **kwargs), "theirs": lambda: theirs(clips, **kwargs)},
                                  repeats, warmup=2)
        rows.append(dict(name=name, inputs=inputs_label, target=target, diff=diff, seconds=audio_seconds,
                         ours=statistics.median(times["ours"]), theirs=statistics.median(times["theirs"]),
                         best_ratio=min(times["ours"]) / min(times["theirs"])))
    return rows


def table(rows: list[dict], threads: int, load: tuple[float, float]) -> str:
    lines = [
        f"Median of interleaved runs, {threads} torch thread(s), torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.1f} before / {load[1]:.1f} after. "
        "Audio-s/s = seconds of audio processed per second of wall time; ratio = polymodal / Transformers "
        "(medians; \"best\" compares the fastest run of each).",
        "",
        "| extractor | inputs | polymodal ms | Transformers ms | polymodal audio-s/s | Transformers audio-s/s "
        "| ratio | best ratio | target | max abs diff |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = r["ours"] / r["theirs"]
        verdict = "ok" if ratio <= r["target"] else "MISSED"
        lines.append(
            f"| {r['name']} | {r['inputs']} | {r['ours'] * 1e3:.1f} | {r['theirs'] * 1e3:.1f} "
            f"| {r['seconds'] / r['ours']:.0f} | {r['seconds'] / r['theirs']:.0f} | {ratio:.2f} "
            f"| {r['best_ratio']:.2f} | <= {r['target']} {verdict} | {r['diff']:.1e} |"
        )
    return "\n".join(lines) + "\n"


NOTE = """Command: `python benchmarks/bench_features.py --threads 2,1 --write-docs`. Both libraries get the
same inputs in one process, runs interleaved. Targets (polymodal / Transformers time) are for 2 CPU
cores. On a loaded machine (see the load average) every parallel torch call waits for a descheduled
worker thread, which hurts polymodal's torch pipelines more than Transformers' numpy code (its AST path
is single-threaded numpy here); the 1-thread table and the "best ratio" column (fastest run of each)
show the cost without that effect.
"""


def write_docs(text: str) -> None:
    """Replace (or append) the "## Feature extraction" section of docs/benchmarks.md."""
    section = "## Feature extraction\n\n" + NOTE + "\n" + text
    old = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Feature extraction\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: section + "\n", old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + section
    from polymodal.core.io import atomic_write_text

    DOCS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(DOCS, new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", default="2", help="torch thread counts, e.g. 2 or 2,1 (one table each)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    warnings.filterwarnings("ignore")
    import transformers

    transformers.logging.set_verbosity_error()
    tables = []
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        load_before = os.getloadavg()[0]
        rows = run(args.repeats)
        tables.append(table(rows, threads, (load_before, os.getloadavg()[0])))
        print(tables[-1])
    text = "\n".join(tables)
    if args.write_docs:
        write_docs(text)
        print(f"written to {DOCS}")


if __name__ == "__main__":
    main()
