"""int8 dynamic quantisation vs float32: speed and top-1 agreement at wav2vec2-base size.

    python benchmarks/bench_export.py [--repeats 5] [--threads 2] [--clips 64]

A ``Wav2Vec2ForSequenceClassification`` of wav2vec2-base shape (random weights, 14 labels).
Speed: a batch of 4 clips × 5 s; float32 and int8 forwards run interleaved (the order rotates),
one warm-up each, medians reported. Agreement: the bundled spoken-intent clips, resampled to
16 kHz and cut/padded to 5 s, batches of 4; top-1 of the int8 model vs float32, plus the
largest logit difference. With random weights the classes carry no meaning, so the script also
prints how many distinct classes float32 predicted: agreement over a single class is weak
evidence. Also times onnxruntime on the exported float graph when onnx/onnxruntime are present.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from polymodal import Wav2Vec2Config, Wav2Vec2ForSequenceClassification
from polymodal.audio.io import load_audio
from polymodal.export import export_onnx, quantize_dynamic

BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
            num_labels=14, hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
            feat_proj_dropout=0.0, final_dropout=0.0, layerdrop=0.0)
DATA = Path(__file__).resolve().parents[1] / "src/polymodal/datasets/data/spoken_intents"


def clips(count: int, seconds: float = 5.0) -> torch.Tensor:
    """(count, 16000·seconds) real speech, zero-padded or cut, each clip normalised like the extractor."""
    with open(DATA / "metadata.csv") as f:
        rows = list(csv.DictReader(f))[:count]
    width = int(16000 * seconds)
    out = torch.zeros(len(rows), width)
    for i, row in enumerate(rows):
        audio = torch.as_tensor(load_audio(str(DATA / row["path"]), sampling_rate=16000))[:width]
        out[i, :audio.numel()] = (audio - audio.mean()) / (audio.std() + 1e-7)
    return out


def timed(fn, x) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        fn(x)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clips", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()}")

    torch.manual_seed(0)
    model = Wav2Vec2ForSequenceClassification(Wav2Vec2Config(**BASE)).eval()
    start = time.perf_counter()
    quantized = quantize_dynamic(model)
    print(f"quantize_dynamic: {time.perf_counter() - start:.2f} s")
    runners = {"float32": lambda x: model(x).logits, "int8": lambda x: quantized(x).logits}

    session = None
    try:
        import onnxruntime as ort

        path = Path(tempfile.mkdtemp()) / "w2v2.onnx"
        export_onnx(model, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        runners["onnxruntime fp32"] = lambda x: session.run(None, {"input_values": x.numpy()})[0]
        from onnxruntime.quantization import QuantType
        from onnxruntime.quantization import quantize_dynamic as ort_quantize

        ort_quantize(str(path), str(path.with_suffix(".int8.onnx")), weight_type=QuantType.QInt8)
        session8 = ort.InferenceSession(str(path.with_suffix(".int8.onnx")), options, providers=["CPUExecutionProvider"])
        runners["onnxruntime int8"] = lambda x: session8.run(None, {"input_values": x.numpy()})[0]
    except ImportError:
        pass

    x = torch.randn(4, 80000)
    times = {name: [] for name in runners}
    for name, fn in runners.items():  # warm-up
        timed(fn, x)
    names = list(runners)
    for rep in range(args.repeats):
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            times[name].append(timed(runners[name], x))
    base = statistics.median(times["float32"])
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:>17}: median {med:.3f} s per 4 × 5 s batch ({base / med:.2f}x float32)")

    audio = clips(args.clips)
    with torch.no_grad():
        ref = torch.cat([model(b).logits for b in audio.split(4)])
        got = torch.cat([quantized(b).logits for b in audio.split(4)])
    agree = (ref.argmax(-1) == got.argmax(-1)).float().mean().item()
    print(f"top-1 agreement int8 vs float32 on {len(audio)} clips: {agree:.1%} "
          f"({ref.argmax(-1).unique().numel()} distinct float32 classes); "
          f"max |Δlogit| {(ref - got).abs().max():.4f}, logit spread {ref.std():.4f}")
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
