"""Text generation: polymodal vs Transformers, same random checkpoint folders, 2 threads.

    python benchmarks/bench_generation.py [--family gpt2 llama] [--layers 12] [--prompt 32] [--new 128]
                                          [--repeats 3] [--threads 2] [--cases greedy1 greedy8 beam4 bf16 memory]

Shapes (issue 13): a GPT-2-small-shaped model (124 M: 12 layers, 768 wide, 12 heads, vocab 50257)
and a Llama-shaped one (~150 M: 12 layers, 768 wide, 12 query / 4 key-value heads, SwiGLU 2048,
vocab 32000), written once by Transformers; a 32-token prompt and 128 new tokens. Cases:

* ``greedy1``  greedy, batch 1;
* ``greedy8``  greedy, batch 8, left-padded prompts of 12..32 tokens;
* ``beam4``    beam search with 4 beams, batch 1;
* ``bf16``     polymodal in bfloat16 against Transformers in float32, greedy batch 1;
* ``memory``   peak RSS growth of one greedy batch-8 generation, each library in its own process.

Every timed case also reports tokens/s and, from one profiled polymodal greedy batch-1 run, the
share of a step spent outside matrix products (the per-step Python and small-kernel overhead where
CPU generation loses time). Runs are interleaved (rotating who goes first); medians; ratios are
paired per round (polymodal / Transformers).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import interleaved_times, medians, paired_ratios, print_table, status_mb

# Self time of these ops is "matrix maths"; everything else in a step is overhead.
MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::matmul", "aten::linear",
              "aten::_scaled_dot_product_flash_attention_for_cpu", "aten::_scaled_dot_product_attention_math",
              "mkldnn", "onednn")


def make_folder(root: Path, family: str, layers: int) -> Path:
    import torch
    import transformers

    folder = root / f"{family}-{layers}"
    if (folder / "config.json").exists():
        return folder
    torch.manual_seed(0)
    if family == "gpt2":
        config = transformers.GPT2Config(n_layer=layers)
        model = transformers.GPT2LMHeadModel(config)
    else:
        config = transformers.LlamaConfig(vocab_size=32000, hidden_size=768, intermediate_size=2048,
                                          num_hidden_layers=layers, num_attention_heads=12, num_key_value_heads=4,
                                          max_position_embeddings=2048, pad_token_id=0, tie_word_embeddings=True)
        model = transformers.LlamaForCausalLM(config)
    model.save_pretrained(folder)
    return folder


def prompts(vocab: int, batch: int, length: int, padded: bool):
    import torch

    g = torch.Generator().manual_seed(batch)
    ids = torch.randint(10, vocab - 10, (batch, length), generator=g)
    mask = torch.ones_like(ids)
    if padded:  # left padding: row i keeps its last 12..length tokens
        for row in range(batch):
            keep = 12 + (length - 12) * row // max(batch - 1, 1)
            mask[row, : length - keep] = 0
        ids = ids.masked_fill(mask == 0, 0)
    return ids, mask


def load(folder: Path, dtype=None):
    import torch
    import transformers

    import polymodal

    ours = polymodal.AutoModelForCausalLM.from_pretrained(str(folder), torch_dtype=dtype or torch.float32).eval()
    theirs = transformers.AutoModelForCausalLM.from_pretrained(str(folder)).eval()
    return ours, theirs


def gen_call(model, ids, mask, new, **kwargs):
    import torch

    pad = model.config.pad_token_id if model.config.pad_token_id is not None else 0

    def call():
        with torch.inference_mode():
            return model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new, min_new_tokens=new,
                                  pad_token_id=pad, do_sample=False, **kwargs)
    return call


def non_matmul_share(model, ids, mask, new) -> float:
    """1 - (self time of matrix-product ops) / (wall time), from one profiled generation."""
    import time

    from torch.profiler import ProfilerActivity, profile

    call = gen_call(model, ids, mask, new)
    call()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        call()
        wall = time.perf_counter() - start
    matmul_us = sum(e.self_cpu_time_total for e in prof.key_averages()
                    if any(e.key.startswith(op) or op in e.key for op in MATMUL_OPS))
    return max(0.0, 1.0 - matmul_us / 1e6 / wall)


def memory_child(folder: str, library: str, prompt: int, new: int) -> None:
    """Runs in a subprocess: RSS after loading, and the peak during one greedy batch-8 generation
    (the kernel's high-water mark is reset after loading, so load-time copies do not count)."""
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    if library == "polymodal":
        import polymodal

        model = polymodal.AutoModelForCausalLM.from_pretrained(folder).eval()
    else:
        import transformers

        model = transformers.AutoModelForCausalLM.from_pretrained(folder).eval()
    ids, mask = prompts(model.config.vocab_size, 8, prompt, padded=True)
    gen_call(model, ids, mask, 2)()  # lazy imports and kernel set-up happen outside the measurement
    before = status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM (peak RSS) to the current RSS
    gen_call(model, ids, mask, new)()
    print(json.dumps({"before": before, "after": status_mb("VmHWM")}))



def measure_memory(folder: Path, prompt: int, new: int, threads: int) -> dict:
    out = {}
    for library in ("polymodal", "transformers"):
        result = subprocess.run([sys.executable, __file__, "--memory-child", str(folder), library, str(prompt),
                                 str(new)], capture_output=True, text=True, check=True,
                                env={**os.environ, "BENCH_THREADS": str(threads)})
        out[library] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def run_family(family, args, root, rows):
    import torch

    folder = make_folder(root, family, args.layers)
    ours, theirs = load(folder)
    vocab = ours.config.vocab_size
    one = prompts(vocab, 1, args.prompt, padded=False)
    eight = prompts(vocab, 8, args.prompt, padded=True)
    cases = {
        "greedy1": (one, {}, None),
        "greedy8": (eight, {}, None),
        "beam4": (one, {"num_beams": 4}, None),
        "bf16": (one, {}, torch.bfloat16),
    }
    share = non_matmul_share(ours, *one, args.new) if "greedy1" in args.cases else None
    share_theirs = non_matmul_share(theirs, *one, args.new) if "greedy1" in args.cases else None
    for name, ((ids, mask), extra, dtype) in cases.items():
        if name not in args.cases:
            continue
        model = ours if dtype is None else load(folder, dtype)[0]
        times = interleaved_times({"polymodal": gen_call(model, ids, mask, args.new, **extra),
                                   "transformers": gen_call(theirs, ids, mask, args.new, **extra)}, args.repeats)
        med, ratio = medians(times), paired_ratios(times, "transformers")
        tokens = ids.shape[0] * args.new
        rows.append({"model": family, "case": name, "polymodal s": med["polymodal"],
                     "transformers s": med["transformers"], "ratio": ratio["polymodal"],
                     "polymodal tok/s": tokens / med["polymodal"], "transformers tok/s": tokens / med["transformers"],
                     "non-matmul share (pm / tf)": f"{share:.2f} / {share_theirs:.2f}" if name == "greedy1" and share
                     is not None else ""})
    if "memory" in args.cases:
        mem = measure_memory(folder, args.prompt, args.new, args.threads)
        grow = {k: v["after"] - v["before"] for k, v in mem.items()}
        rows.append({"model": family, "case": "memory: greedy8 peak RSS MB (+ growth over the loaded, warmed-up model)",
                     "polymodal s": f"{mem['polymodal']['after']:.0f} (+{grow['polymodal']:.0f})",
                     "transformers s": f"{mem['transformers']['after']:.0f} (+{grow['transformers']:.0f})",
                     "ratio": mem["polymodal"]["after"] / mem["transformers"]["after"],
                     "polymodal tok/s": "", "transformers tok/s": "", "non-matmul share (pm / tf)": ""})


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", nargs="+", default=["gpt2", "llama"], choices=["gpt2", "llama"])
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--prompt", type=int, default=32)
    parser.add_argument("--new", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", nargs="+", default=["greedy1", "greedy8", "beam4", "bf16", "memory"])
    parser.add_argument("--folder", default=None, help="where to keep the random checkpoints (default: a temp dir)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.folder or tmp)
        for family in args.family:
            run_family(family, args, root, rows)
    print(f"\nprompt {args.prompt} tokens, {args.new} new tokens, {args.layers} layers, {args.threads} threads, "
          f"median of {args.repeats}")
    print_table(rows, ["model", "case", "polymodal s", "transformers s", "ratio", "polymodal tok/s",
                       "transformers tok/s", "non-matmul share (pm / tf)"])


if __name__ == "__main__":
    main()
