"""Where the time goes, per family: polymodal vs Transformers vs ONNX Runtime, by kind of op.

    python benchmarks/bench_profile.py [--threads 2] [--families wav2vec2 clip ast] [--scale 1.0]

The models and inputs are :mod:`bench_cpu_limit`'s (wav2vec2-base classifier 4 × 5 s, CLIP
ViT-B/32 image features for 8 images, AST-base 2 clips; ``--scale`` shortens the audio or cuts
the batch on a busy machine). Each side runs once to warm up, then once under a profiler: torch's
``torch.profiler`` (self CPU time per aten / oneDNN op) and ONNX Runtime's own node profiler
(time per graph node). Ops are grouped into the rows below; the table gives milliseconds and the
share of the call. Profilers add overhead (a few % per op), so the totals run above the timed
benchmark's; the shares are what to read.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import warnings
from collections import defaultdict
from pathlib import Path

import torch
from bench_cpu_limit import FAMILIES, checkpoint, ort_session

GROUPS = ("convolution", "linear / matmul", "attention", "norms", "activations", "copies / layout", "other")

# Substrings of op names (lower case) → group; the first match wins, so the order matters.
TORCH_RULES = (
    ("convolution", ("conv", "mkldnn_convolution")),
    ("attention", ("scaled_dot_product", "flash_attention", "softmax", "bmm", "baddbmm")),
    ("linear / matmul", ("addmm", "linear", "matmul", "mm", "qlinear")),
    ("norms", ("layer_norm", "group_norm", "batch_norm", "var_mean", "rsqrt")),
    ("activations", ("gelu", "relu", "silu", "tanh", "sigmoid")),
    ("copies / layout", ("copy_", "clone", "contiguous", "cat", "pad", "to_copy", "transpose", "permute",
                         "quantize_per_tensor", "view", "reshape", "expand", "as_strided", "empty")),
)
ORT_RULES = (
    ("convolution", ("conv",)),
    ("attention", ("softmax", "attention")),
    ("linear / matmul", ("matmul", "gemm")),
    ("norms", ("layernorm", "normalization", "groupnorm", "instancenorm", "reducemean", "sqrt", "pow")),
    ("activations", ("gelu", "erf", "relu", "tanh", "sigmoid")),
    ("copies / layout", ("transpose", "reshape", "concat", "pad", "slice", "gather", "expand", "unsqueeze",
                         "squeeze", "cast", "shape", "reorder")),
)


def group_of(name: str, rules) -> str:
    lowered = name.lower()
    for group, keys in rules:
        if any(k in lowered for k in keys):
            return group
    return "other"


CONV_SCOPE = "bench::convolution"


def mark_conv_modules(model: torch.nn.Module) -> list:
    """Open a profiler scope around every module whose class names a convolution: polymodal's
    wav2vec2 front end runs its convolutions as batched GEMMs (``bmm``), which the op names
    alone would count as attention."""
    handles, stack = [], []

    def enter(*_):
        scope = torch.autograd.profiler.record_function(CONV_SCOPE)
        scope.__enter__()
        stack.append(scope)

    def leave(*_):
        stack.pop().__exit__(None, None, None)

    for module in model.modules():
        if any(key in type(module).__name__ for key in ("Conv", "FeatureEncoder")):
            handles += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]
    return handles


def _in_conv(event) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name == CONV_SCOPE:
            return True
        parent = parent.cpu_parent
    return False


def torch_profile(model: torch.nn.Module, fn) -> dict[str, float]:
    """Self CPU milliseconds per group for one call of ``fn`` (after a warm-up call)."""
    fn()
    handles = mark_conv_modules(model)
    try:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            fn()
    finally:
        for handle in handles:
            handle.remove()
    ms: dict[str, float] = defaultdict(float)
    for event in prof.events():
        if event.name.startswith(("aten::", "onednn::", "mkldnn::", "quantized::")):
            group = group_of(event.name, TORCH_RULES)
            if group == "attention" and _in_conv(event):
                group = "convolution"
            ms[group] += event.self_cpu_time_total / 1000
    return ms


def ort_profile(model, inputs: dict, folder: Path, threads: int) -> dict[str, float] | None:
    """Milliseconds per group of ONNX Runtime's node events for one call (after a warm-up call)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    if ort_session(model, inputs, folder / "model.onnx", threads) is None:  # exports the graph once
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.enable_profiling = True
    options.profile_file_prefix = str(folder / "ort_profile")
    session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
    feeds = {k: v.numpy() for k, v in inputs.items()}
    session.run(None, feeds)
    session.run(None, feeds)
    trace = json.loads(Path(session.end_profiling()).read_text())
    runs = [e for e in trace if e.get("name") == "model_run"]
    last_start = runs[-1]["ts"] if runs else 0  # count only the second (warm) run's nodes
    ms: dict[str, float] = defaultdict(float)
    for event in trace:
        if event.get("cat") == "Node" and event["ts"] >= last_start and event["name"].endswith("_kernel_time"):
            ms[group_of(event["args"].get("op_name", event["name"]), ORT_RULES)] += event["dur"] / 1000
    return ms


def scaled_inputs(family: str, scale: float) -> dict:
    inputs = FAMILIES[family][4](torch.Generator().manual_seed(0))
    if scale >= 1.0:
        return inputs
    if family == "wav2vec2":
        return {"input_values": inputs["input_values"][:, : int(80000 * scale)]}
    return {k: v[: max(1, int(len(v) * scale))] for k, v in inputs.items()}


def profile_family(family: str, root: Path, threads: int, scale: float) -> dict[str, dict[str, float]]:
    import transformers

    import polymodal

    folder = checkpoint(family, root)
    _, _, model_name, field, _ = FAMILIES[family]
    inputs = scaled_inputs(family, scale)
    theirs = getattr(transformers, model_name).from_pretrained(folder).eval()
    ours = getattr(polymodal, model_name).from_pretrained(folder).eval()
    columns = {}
    with torch.inference_mode():
        columns["Transformers"] = torch_profile(theirs, lambda: theirs(**inputs)[field])
        columns["polymodal"] = torch_profile(ours, lambda: ours(**inputs)[field])
    ort_ms = ort_profile(ours, inputs, folder, threads)
    if ort_ms is not None:
        columns["ONNX Runtime"] = ort_ms
    return columns


def render(family: str, columns: dict[str, dict[str, float]]) -> list[str]:
    names = list(columns)
    totals = {n: sum(columns[n].values()) for n in names}
    lines = [f"**{family}**", "", "| ops | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for group in (*GROUPS, "total"):
        cells = []
        for n in names:
            ms = totals[n] if group == "total" else columns[n].get(group, 0.0)
            cells.append(f"{ms:.0f} ms ({ms / max(totals[n], 1e-9):.0%})" if group != "total" else f"{ms:.0f} ms")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the audio length / batch")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "polymodal_bench_cpu_limit")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    print(f"torch {torch.__version__}, {args.threads} threads, scale {args.scale}, load average {os.getloadavg()}")
    for family in args.families:
        print("\n".join(render(family, profile_family(family, args.folder, args.threads, args.scale))), flush=True)
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
