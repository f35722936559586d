"""What batch invariance costs: audio-classification throughput by batch_size, for a model whose
padding is masked exactly (layer-norm Wav2Vec2: mixed lengths share a batch) and one whose is not
(group-norm Wav2Vec2, wav2vec2-base style: only equal lengths share a batch, so nothing is padded).

    python benchmarks/bench_pipeline_batching.py [--repeats 3] [--threads 2] [--hidden 256 --layers 4]

Random weights, 16 clips either all 2 s ("equal") or 1-4 s ("mixed", no two equal). Each cell is
the median seconds for the 16 clips; calls interleaved with the shared harness. Also printed: the
largest score difference between batch_size=8 and one-by-one (must be ≤ 1e-5).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from harness import interleaved_medians, print_table


def make_folder(folder: Path, norm: str, hidden: int, layers: int) -> str:
    import transformers

    config = transformers.Wav2Vec2Config(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4, intermediate_size=hidden * 4,
        feat_extract_norm=norm, do_stable_layer_norm=norm == "layer", num_labels=12)
    torch.manual_seed(0)
    transformers.Wav2Vec2ForSequenceClassification(config).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(return_attention_mask=norm == "layer").save_pretrained(folder)
    return str(folder)


def clips(kind: str) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    seconds = [2.0] * 16 if kind == "equal" else list(np.linspace(1.0, 4.0, 16))
    return [rng.standard_normal(int(s * 16000)).astype(np.float32) * 0.1 for s in seconds]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import polymodal

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for norm in ("layer", "group"):
            pipe = polymodal.pipeline("audio-classification",
                                      model=make_folder(Path(tmp) / norm, norm, args.hidden, args.layers))
            for kind in ("equal", "mixed"):
                data = clips(kind)
                runs = {size: (lambda size=size: pipe(data, batch_size=size, top_k=3)) for size in (1, 8)}
                times = interleaved_medians(runs, repeats=args.repeats)
                alone, batched = runs[1](), runs[8]()
                gap = max(abs({r["label"]: r["score"] for r in b}[r["label"]] - r["score"])
                          for a, b in zip(alone, batched) for r in a)
                rows.append({"model": f"{norm}-norm", "clips": kind, "padding exact": pipe.padding_is_exact(),
                             "batch 1 (s)": times[1], "batch 8 (s)": times[8], "speed-up": times[1] / times[8],
                             "max score diff": f"{gap:.1e}"})
    print_table(rows, ["model", "clips", "padding exact", "batch 1 (s)", "batch 8 (s)", "speed-up", "max score diff"])


if __name__ == "__main__":
    main()
