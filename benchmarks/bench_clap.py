"""CLAP speed: polymodal vs Transformers on the same weights and inputs, in one run.

    python benchmarks/bench_clap.py [--repeats 10] [--threads 1 2] [--fused] [--write-docs]

Cases (targets are polymodal's time / Transformers' fp32 time):
  get_audio_features fp32   HTSAT-base (laion/clap-htsat-unfused sizes), 4 x 10 s    <= 1.0
  get_audio_features bf16   the same model cast to bfloat16                          <= 0.6
  ClapFeatureExtractor      4 x 10 s at 48 kHz, default fusion/repeatpad              <= 0.3

The models are random (seeded) with the published checkpoints' shapes; ``--fused`` uses the
fused variant (laion/clap-htsat-fused: 4-channel input, every clip marked long). Runs
alternate between the libraries (and which goes first), so a slow spell on a shared machine
hits both alike; medians are reported, and the load average is printed with the table. The
bf16 row also reports the cosine similarity of its embeddings to Transformers' fp32 ones.
``--write-docs`` puts the table in docs/benchmarks.md under "## CLAP".
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import statistics
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from harness import interleaved_times

RATE = 48000
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def sound_like(count: int, seconds: float, seed: int = 0) -> list[np.ndarray]:
    """Seeded clips: a few decaying tones over noise, float32 at 48 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    clips = []
    for _ in range(count):
        tones = sum(np.sin(2 * np.pi * f * t) * np.exp(-t * rng.uniform(0.2, 2)) for f in rng.uniform(80, 6000, 4))
        clips.append((0.1 * tones + 0.01 * rng.standard_normal(t.size)).astype(np.float32))
    return clips


def build_models(fused: bool, folder: str):
    """Transformers' ClapModel with random weights (HTSAT-base + RoBERTa-base), and ours from its files."""
    import transformers

    import polymodal

    audio = dict(enable_fusion=True, fusion_type="aff_2d") if fused else {}
    torch.manual_seed(0)
    theirs = transformers.ClapModel(transformers.ClapConfig(audio_config=audio)).eval()
    with torch.no_grad():  # the init leaves these at zero; give the bias path real work
        for name, param in theirs.named_parameters():
            if "relative_position_bias_table" in name:
                param.normal_(std=0.02)
    theirs.save_pretrained(folder)
    return polymodal.ClapModel.from_pretrained(folder), theirs




def model_rows(fused: bool, repeats: int) -> list[dict]:
    import transformers

    clips = sound_like(4, 10.0)
    extractor = transformers.ClapFeatureExtractor(truncation="fusion" if fused else "rand_trunc")
    np.random.seed(0)
    features = dict(extractor(clips, sampling_rate=RATE, return_tensors="pt"))
    if fused:
        features["is_longer"] = torch.ones_like(features["is_longer"])  # exercise the fusion branch
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = build_models(fused, folder)
    bf16 = copy.deepcopy(ours).to(torch.bfloat16)
    bf16_features = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in features.items()}

    def run(model, inputs):
        with torch.inference_mode():
            return model.get_audio_features(**inputs)

    def theirs_run():
        with torch.inference_mode():
            return theirs.get_audio_features(**features).pooler_output

    reference = theirs_run()
    diff = float((run(ours, features) - reference).abs().max())
    cosine = float(torch.nn.functional.cosine_similarity(run(bf16, bf16_features).float(), reference).min())
    times = interleaved_times({"ours": lambda: run(ours, features), "bf16": lambda: run(bf16, bf16_features),
                               "theirs": theirs_run}, repeats)
    theirs_median = statistics.median(times["theirs"])
    variant = "fused" if fused else "unfused"
    return [
        dict(name=f"get_audio_features fp32 ({variant})", inputs="4 x 10 s", target=1.0,
             ours=statistics.median(times["ours"]), theirs=theirs_median, note=f"max abs diff {diff:.1e}"),
        dict(name=f"get_audio_features bf16 ({variant})", inputs="4 x 10 s", target=0.6,
             ours=statistics.median(times["bf16"]), theirs=theirs_median,
             note=f"min cosine to fp32 {cosine:.4f}"),
    ]


def extractor_row(repeats: int) -> dict:
    import transformers

    import polymodal

    clips = sound_like(4, 10.0, seed=1)
    ours, theirs = polymodal.ClapFeatureExtractor(), transformers.ClapFeatureExtractor()
    np.random.seed(0)
    a = theirs(clips, sampling_rate=RATE, return_tensors="pt")["input_features"]
    np.random.seed(0)
    b = ours(clips, sampling_rate=RATE, return_tensors="pt")["input_features"]
    times = interleaved_times({"ours": lambda: ours(clips, sampling_rate=RATE, return_tensors="pt"),
                               "theirs": lambda: theirs(clips, sampling_rate=RATE, return_tensors="pt")}, repeats)
    return dict(name="ClapFeatureExtractor", inputs="4 x 10 s, 48 kHz", target=0.3,
                ours=statistics.median(times["ours"]), theirs=statistics.median(times["theirs"]),
                note=f"max abs diff {float((a - b).abs().max()):.1e} dB")


def table(rows: list[dict], threads: int, load: tuple[float, float]) -> str:
    lines = [
        f"Median of interleaved runs, {threads} torch thread(s), torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.1f} before / {load[1]:.1f} after. "
        "Ratio = polymodal / Transformers fp32 (medians).",
        "",
        "| case | inputs | polymodal ms | Transformers ms | ratio | target | notes |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = r["ours"] / r["theirs"]
        verdict = "ok" if ratio <= r["target"] else "MISSED"
        lines.append(f"| {r['name']} | {r['inputs']} | {r['ours'] * 1e3:.0f} | {r['theirs'] * 1e3:.0f} "
                     f"| {ratio:.2f} | <= {r['target']} {verdict} | {r['note']} |")
    return "\n".join(lines) + "\n"


NOTE = """\
Random weights with the published checkpoints' shapes (HTSAT-base: 4 stages of 2/2/6/2 Swin
blocks on a 256x256 folded log-mel; RoBERTa-base text tower, not timed). Polymodal's wins are
in the glue around the matmuls, which are the same calls in both libraries (about 70% of the
fp32 time): shift + window partition as one precomputed gather instead of `roll` + two copies
each way, query/key/value from one matmul (1.8x faster at stage 1's 96 channels), plain
attention with a bias that broadcasts over the batch (SDPA's CPU kernel is 2x slower in bf16
with an explicit mask), and for the extractor one batched numpy FFT instead of a per-frame
loop plus a mel projection over only the bank's non-zeros (same numbers). On this shared
2-core machine timings swing by up to 2x between runs (the load average is printed with each
table) and torch's 2-thread pool suffers most from the contention, so the 1-thread table is
the steadier comparison. fp32 is at parity, not below it: the matmuls are the same calls.

"""


def write_docs(text: str) -> None:
    """Replace (or append) the "## CLAP" section of docs/benchmarks.md."""
    section = "## CLAP\n\nCommand: `python benchmarks/bench_clap.py --threads 1 2 --fused --write-docs`\n\n" + NOTE + text
    old = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## CLAP\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: section + "\n", old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + section
    from polymodal.core.io import atomic_write_text

    DOCS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(DOCS, new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, nargs="+", default=[2],
                        help="torch thread counts to run with, one table each (e.g. --threads 1 2)")
    parser.add_argument("--fused", action="store_true", help="benchmark the fused HTSAT variant too")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    warnings.filterwarnings("ignore")
    import transformers

    transformers.logging.set_verbosity_error()
    tables = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        load_before = os.getloadavg()[0]
        rows = model_rows(False, args.repeats)
        if args.fused:
            rows += model_rows(True, args.repeats)
        rows.append(extractor_row(args.repeats))
        tables.append(table(rows, threads, (load_before, os.getloadavg()[0])))
        print(tables[-1])
    if args.write_docs:
        write_docs("\n".join(tables))
        print(f"written to {DOCS}")


if __name__ == "__main__":
    main()
