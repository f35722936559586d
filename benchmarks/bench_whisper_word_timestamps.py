"""Whisper token timestamps (issue 16): polymodal vs Transformers, 2 threads.

    python benchmarks/bench_whisper_word_timestamps.py [--repeats 5] [--threads 2] [--new 32]

* ``dtw``: dynamic time warping of one (tokens × 1500 frames) matrix — Transformers' Python double
  loop against polymodal's anti-diagonal numpy sweep (same path, tested equal);
* ``generate``: Whisper-tiny shapes (random weights, 30 s of features, greedy, ``--new`` tokens)
  with ``return_token_timestamps=True`` in both libraries, and polymodal's plain ``generate`` for
  the cost of recording the alignment heads (Transformers switches the whole model to eager
  attention; polymodal records the alignment heads only).

Runs are interleaved (rotating who goes first); medians; ratios paired per round.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from bench_seq2seq import features, whisper_folder
from harness import interleaved_times, medians, paired_ratios, print_table

HEADS = [[2, 2], [3, 0], [3, 2], [3, 3], [3, 4], [3, 5]]  # openai/whisper-tiny's alignment heads


def dtw_calls(tokens: int):
    import numpy as np
    from transformers.models.whisper.generation_whisper import _dynamic_time_warping

    from polymodal.models.whisper.alignment import dynamic_time_warping

    matrix = np.random.default_rng(0).standard_normal((tokens, 1500))
    return {"transformers": lambda: _dynamic_time_warping(matrix), "polymodal": lambda: dynamic_time_warping(matrix)}


def generate_calls(root: Path, new: int):
    import transformers

    import polymodal

    folder = whisper_folder(root, "tiny")
    path = folder / "generation_config.json"
    config = json.loads(path.read_text())
    if config.get("alignment_heads") != HEADS:
        config["alignment_heads"] = HEADS
        path.write_text(json.dumps(config))
    theirs = transformers.WhisperForConditionalGeneration.from_pretrained(folder).eval()
    ours = polymodal.WhisperForConditionalGeneration.from_pretrained(folder).eval()
    frames = features(30)
    args = {"language": "en", "max_new_tokens": new, "min_new_tokens": new}
    return {"transformers": lambda: theirs.generate(frames, return_token_timestamps=True, **args),
            "polymodal": lambda: ours.generate(frames, return_token_timestamps=True, **args),
            "polymodal, no timestamps": lambda: ours.generate(frames, **args)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", nargs="+", default=["dtw", "generate"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--new", type=int, default=32)
    parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "polymodal_bench_seq2seq"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for case in args.cases:
        calls = dtw_calls(args.new) if case == "dtw" else generate_calls(root, args.new)
        times = interleaved_times(calls, args.repeats)
        med, ratio = medians(times), paired_ratios(times, "transformers")
        for side in calls:
            rows.append({"case": case, "side": side, "median s": med[side], "vs transformers": ratio[side]})
            print(rows[-1], flush=True)
    print_table(rows, ["case", "side", "median s", "vs transformers"])


if __name__ == "__main__":
    main()
