"""Issue 12's inference rows: fp32 vs Transformers and ONNX Runtime, int8 vs Transformers fp32.

    python benchmarks/bench_cpu_limit.py [--repeats 5] [--threads 2] [--families wav2vec2 clip ast] [--no-onnx]
                                         [--conv-stack-variants]

Per family, one checkpoint folder written by Transformers (seeded random weights) is loaded by
both libraries; ONNX Runtime runs polymodal's ``export_onnx`` graph of the same weights; int8 is
``polymodal.export.quantize`` of the polymodal model, dynamic and static (calibrated on two
other inputs of the same shape). Shapes: wav2vec2-base classifier 4 × 5 s, CLIP ViT-B/32 image
features for 8 images, AST-base (1024 frames × 128 bins) 2 clips. All sides run interleaved
(harness.py), medians and per-round ratios to Transformers fp32 are reported, and the cosine
of each side's pooled output (logits / image embeddings) with Transformers' is printed.

``--conv-stack-variants`` adds two wav2vec2 int8 static rows that differ only in the conv feature
encoder: kept float (format 2's default) and run in bfloat16 (weights and input cast; the other
route issue 12 weighed against the default, int8 with one activation scale per output frame).
AST adds an int8 static row with attention in bf16 (``attention_dtype="bfloat16"``; the default
rows run it in bf16 on CPUs with AMX, in float32 elsewhere) and one "unfused" (the residual add
after the int8 kernel and the feed-forward hidden in float, as before issue 12's AST work).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from pathlib import Path

import torch
from harness import interleaved_times, medians, paired_ratios, print_table

FAMILIES = {
    # name: (Transformers config class, kwargs, model class, output field, input builder)
    "wav2vec2": ("Wav2Vec2Config", {"num_labels": 14}, "Wav2Vec2ForSequenceClassification", "logits",
                 lambda g: {"input_values": torch.randn(4, 80000, generator=g)}),
    "clip": ("CLIPVisionConfig", {"patch_size": 32, "projection_dim": 512}, "CLIPVisionModelWithProjection",
             "image_embeds", lambda g: {"pixel_values": torch.randn(8, 3, 224, 224, generator=g)}),
    "ast": ("ASTConfig", {"num_labels": 14}, "ASTForAudioClassification", "logits",
            lambda g: {"input_values": torch.randn(2, 1024, 128, generator=g)}),
}


def checkpoint(family: str, root: Path) -> Path:
    import transformers

    config_name, kwargs, model_name, _, _ = FAMILIES[family]
    folder = root / family
    if not (folder / "config.json").exists():
        torch.manual_seed(0)
        getattr(transformers, model_name)(getattr(transformers, config_name)(**kwargs)).save_pretrained(folder)
    return folder


def ort_session(model, inputs: dict, path: Path, threads: int):
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    from polymodal.export import export_onnx

    if not path.exists():
        export_onnx(model, path, example_inputs={k: v[:1] for k, v in inputs.items()})
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def bf16_conv_stack(model):
    """``model`` (int8, conv stack float) with its conv feature encoder run in bfloat16."""
    encoder = model.wav2vec2.feature_extractor.to(torch.bfloat16)
    float_forward = encoder.forward
    encoder.forward = lambda values: float_forward(values.to(torch.bfloat16)).float()
    return model


def unfused(model, inputs: dict, field: str):
    """The int8 model as it ran before the AST work: the residual added after the output
    projection's kernel, the feed-forward hidden written as float and quantised apart."""
    from polymodal.export.int8 import Int8Linear

    def run():
        chain = Int8Linear.__dict__["forward_gelu_chain"]
        Int8Linear.forward_gelu_chain, Int8Linear.fuses_residual = staticmethod(lambda *args: None), False
        try:
            return model(**inputs)[field]
        finally:
            Int8Linear.forward_gelu_chain, Int8Linear.fuses_residual = chain, True
    return run


def sides(family: str, folder: Path, inputs: dict, threads: int, onnx: bool = True,
          conv_stack_variants: bool = False) -> dict:
    import transformers

    import polymodal
    from polymodal.export import quantize

    _, _, model_name, field, build = FAMILIES[family]
    theirs = getattr(transformers, model_name).from_pretrained(folder).eval()
    ours = getattr(polymodal, model_name).from_pretrained(folder).eval()
    calibration = [build(torch.Generator().manual_seed(seed)) for seed in (1, 2)]
    runners = {
        "Transformers fp32": lambda: theirs(**inputs)[field],
        "polymodal fp32": lambda: ours(**inputs)[field],
        "polymodal int8 dynamic": (lambda m: lambda: m(**inputs)[field])(quantize(ours)),
        "polymodal int8 static": (lambda m: lambda: m(**inputs)[field])(quantize(ours, calibration)),
    }
    if conv_stack_variants and family == "wav2vec2":
        stack = ["wav2vec2.feature_extractor"]
        runners["polymodal int8 static, conv stack float"] = (lambda m: lambda: m(**inputs)[field])(
            quantize(ours, calibration, stack))
        runners["polymodal int8 static, conv stack bf16"] = (lambda m: lambda: m(**inputs)[field])(
            bf16_conv_stack(quantize(ours, calibration, stack)))
    if family == "ast":  # the rows above: attention in bf16 with AMX, float32 elsewhere (the default)
        runners["polymodal int8 static, bf16 attention"] = (lambda m: lambda: m(**inputs)[field])(
            quantize(ours, calibration, attention_dtype="bfloat16"))
        runners["polymodal int8 static, unfused"] = unfused(quantize(ours, calibration), inputs, field)
    session = ort_session(ours, inputs, folder / "model.onnx", threads) if onnx else None
    if session is not None:
        names = [o.name for o in session.get_outputs()]
        feeds = {k: v.numpy() for k, v in inputs.items()}
        runners["ONNX Runtime fp32"] = lambda: torch.from_numpy(session.run(None, feeds)[names.index(field)])
    return runners


def measure(family: str, root: Path, repeats: int, threads: int, onnx: bool = True,
            conv_stack_variants: bool = False) -> list[dict]:
    folder = checkpoint(family, root)
    inputs = FAMILIES[family][4](torch.Generator().manual_seed(0))
    runners = sides(family, folder, inputs, threads, onnx, conv_stack_variants)
    with torch.inference_mode():
        reference = runners["Transformers fp32"]()
        cosines = {name: torch.nn.functional.cosine_similarity(fn().float(), reference, dim=-1).min().item()
                   for name, fn in runners.items()}
        times = interleaved_times(runners, repeats)
    med, ratio = medians(times), paired_ratios(times, "Transformers fp32")
    return [{"family": family, "side": name, "s / batch": med[name], "x Transformers fp32": ratio[name],
             "min cosine vs Transformers": cosines[name]} for name in runners]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "polymodal_bench_cpu_limit")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime side")
    parser.add_argument("--conv-stack-variants", action="store_true",
                        help="wav2vec2: add int8 rows with the conv stack float and in bfloat16")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()}")
    rows = []
    for family in args.families:
        rows += measure(family, args.folder, args.repeats, args.threads, not args.no_onnx, args.conv_stack_variants)
    print_table(rows, list(rows[0]))
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
