"""Encoder-decoders: polymodal vs Transformers on the same random checkpoint folders, 2 threads.

    python benchmarks/bench_seq2seq.py [--cases whisper-tiny whisper-base longform bf16 t5 memory]
                                       [--repeats 3] [--threads 2] [--new 32]

Shapes (issue 16): Whisper-tiny (4+4 layers, 384 wide, 6 heads) and Whisper-base (6+6, 512, 8 heads)
with Whisper's real vocabulary (51865) and token layout, written once by Transformers with a
multilingual generation config; T5-small (6+6 layers, 512 wide, 8 heads, d_ff 2048, vocab 32128).
Cases:

* ``whisper-tiny`` / ``whisper-base``: transcribe 30 s of audio features, greedy, English;
* ``bf16``: Whisper-tiny in bfloat16 (polymodal) against Transformers in float32;
* ``longform``: 3 minutes, sequential long-form decoding with timestamps (Whisper-tiny);
* ``t5``: T5-small summarisation of 8 × 512 tokens with 4 beams;
* ``memory``: peak RSS of the 30 s Whisper-tiny and the T5 case, each library in its own process.

Random weights never stop on their own, so every call writes exactly ``--new`` tokens per window
(``min_new_tokens = max_new_tokens``); both libraries emit the same tokens (token-exact tests).
Runs are interleaved (rotating who goes first); medians; ratios paired per round.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import interleaved_times, medians, paired_ratios, peak_rss_mb, print_table

WHISPER = {"tiny": dict(d_model=384, encoder_layers=4, decoder_layers=4, encoder_attention_heads=6,
                        decoder_attention_heads=6, encoder_ffn_dim=1536, decoder_ffn_dim=1536),
           "base": dict(d_model=512, encoder_layers=6, decoder_layers=6, encoder_attention_heads=8,
                        decoder_attention_heads=8, encoder_ffn_dim=2048, decoder_ffn_dim=2048)}


def whisper_folder(root: Path, size: str) -> Path:
    import torch
    import transformers

    from polymodal.models.whisper.languages import LANGUAGES

    folder = root / f"whisper-{size}"
    if (folder / "config.json").exists():
        return folder
    eot, sot = 50257, 50258
    langs = {f"<|{code}|>": 50259 + i for i, code in enumerate(list(LANGUAGES)[:99])}
    config = transformers.WhisperConfig(vocab_size=51865, num_mel_bins=80, pad_token_id=eot, bos_token_id=eot,
                                        eos_token_id=eot, decoder_start_token_id=sot, max_target_positions=448,
                                        begin_suppress_tokens=[220, eot], **WHISPER[size])
    torch.manual_seed(0)
    transformers.WhisperForConditionalGeneration(config).save_pretrained(folder)
    path = folder / "generation_config.json"
    generation = json.loads(path.read_text())
    generation.update(lang_to_id=langs, task_to_id={"translate": 50358, "transcribe": 50359},
                      no_timestamps_token_id=50363, prev_sot_token_id=50361, is_multilingual=True,
                      max_initial_timestamp_index=50, max_length=448, begin_suppress_tokens=[220, eot],
                      suppress_tokens=[1, 2, 7, 8, 50360, 50361], _from_model_config=False)
    path.write_text(json.dumps(generation))
    return folder


def t5_folder(root: Path) -> Path:
    import torch
    import transformers

    folder = root / "t5-small"
    if not (folder / "config.json").exists():
        torch.manual_seed(0)
        config = transformers.T5Config(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_heads=8,
                                       decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
        transformers.T5ForConditionalGeneration(config).save_pretrained(folder)
    return folder


def features(seconds: float):
    import torch

    torch.manual_seed(1)
    return torch.randn(1, 80, int(seconds * 100)) * 0.5  # log-mel frames (100 per second)


def load(side: str, folder: Path, kind: str, dtype=None):
    import torch

    if side == "transformers":
        import transformers as lib
    else:
        import polymodal as lib
    cls = lib.WhisperForConditionalGeneration if kind == "whisper" else lib.T5ForConditionalGeneration
    kwargs = {"torch_dtype": dtype} if dtype is not None else {}
    return cls.from_pretrained(folder, **kwargs).eval(), torch


def case_call(side: str, case: str, root: Path, new: int):
    """A no-argument callable running one case with one library."""
    import torch

    if case == "t5":
        model, _ = load(side, t5_folder(root), "t5")
        torch.manual_seed(2)
        ids = torch.randint(2, 32000, (8, 512))
        return lambda: model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), num_beams=4,
                                      max_new_tokens=new, min_new_tokens=new)
    size = "base" if case == "whisper-base" else "tiny"
    dtype = torch.bfloat16 if case == "bf16" and side == "polymodal" else None
    model, _ = load(side, whisper_folder(root, size), "whisper", dtype)
    if case == "longform":
        frames = features(180)
        mask = torch.ones(1, frames.shape[-1], dtype=torch.long)
        return lambda: model.generate(frames, attention_mask=mask, return_timestamps=True, language="en",
                                      max_new_tokens=new, min_new_tokens=new)
    frames = features(30).to(dtype or torch.float32)
    return lambda: model.generate(frames, language="en", max_new_tokens=new, min_new_tokens=new)


def memory_child(side: str, case: str, root: str, new: int) -> None:
    import torch

    torch.set_num_threads(2)
    call = case_call(side, case, Path(root), new)
    before = peak_rss_mb()
    call()
    after = peak_rss_mb()
    print(json.dumps({"peak_mb": after, "growth_mb": after - before}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", nargs="+", default=["whisper-tiny", "whisper-base", "bf16", "longform", "t5",
                                                       "memory"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--new", type=int, default=32)
    parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "polymodal_bench_seq2seq"))
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    if args.child:
        memory_child(args.child[0], args.child[1], str(root), args.new)
        return
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for case in [c for c in args.cases if c != "memory"]:
        calls = {side: case_call(side, case, root, args.new) for side in ("transformers", "polymodal")}
        times = interleaved_times(calls, args.repeats)
        med, ratio = medians(times), paired_ratios(times, "transformers")
        rows.append({"case": case, "transformers s": med["transformers"], "polymodal s": med["polymodal"],
                     "ratio": ratio["polymodal"]})
        print(rows[-1], flush=True)
    print_table(rows, ["case", "transformers s", "polymodal s", "ratio"])
    if "memory" in args.cases:
        memory = []
        for case in ("whisper-tiny", "t5"):
            peaks = {}
            for side in ("transformers", "polymodal"):
                out = subprocess.run([sys.executable, __file__, "--child", side, case, "--root", str(root),
                                      "--new", str(args.new)], capture_output=True, text=True, check=True)
                peaks[side] = json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"]
            memory.append({"case": case, "transformers MB": peaks["transformers"], "polymodal MB": peaks["polymodal"],
                           "ratio": peaks["polymodal"] / peaks["transformers"]})
        print_table(memory, ["case", "transformers MB", "polymodal MB", "ratio"])


if __name__ == "__main__":
    main()
