"""AST speed: polymodal vs Transformers at ast-finetuned-audioset size (random weights).

    python benchmarks/bench_ast.py [--repeats 5] [--threads 1] [--batch 1]

Transformers builds ``ASTForAudioClassification`` with the default ``ASTConfig`` (ViT-Base,
1024 frames × 128 mel bins → 1214 tokens, 527 labels), seeded random weights, and saves it;
polymodal loads that folder in float32 and bfloat16. All three run on the same spectrograms,
interleaved (so a slow spell on a shared machine hits each alike); medians are printed with
the ratio to Transformers fp32 and the largest logit difference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

import torch
from harness import interleaved_times


def build(folder: str):
    import transformers

    from polymodal.models.audio_spectrogram_transformer.modeling import ASTForAudioClassification

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    theirs = transformers.ASTForAudioClassification(transformers.ASTConfig(num_labels=527)).eval()
    with torch.no_grad():  # the init leaves the tokens and positions at zero
        for name, param in theirs.named_parameters():
            if "position" in name or "token" in name:
                param.normal_(std=0.02)
    theirs.save_pretrained(folder)
    return {
        "Transformers fp32": theirs,
        "polymodal fp32": ASTForAudioClassification.from_pretrained(folder),
        "polymodal bf16": ASTForAudioClassification.from_pretrained(folder, torch_dtype=torch.bfloat16),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        models = build(folder)
    x = torch.randn(args.batch, 1024, 128, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        logits = {name: model(x).logits.float() for name, model in models.items()}
        times = interleaved_times({name: (lambda m=model: m(x)) for name, model in models.items()}, args.repeats)
    base = statistics.median(times["Transformers fp32"])
    reference = logits["Transformers fp32"]
    print(f"batch {args.batch}, {args.threads} thread(s), torch {torch.__version__}, load {os.getloadavg()[0]:.1f}")
    print(f"{'':20s} {'median':>9s} {'ratio':>6s} {'max |Δlogit|':>13s}")
    for name, values in times.items():
        median = statistics.median(values)
        diff = (logits[name] - reference).abs().max().item()
        print(f"{name:20s} {median:8.3f}s {median / base:6.2f} {diff:13.2e}")


if __name__ == "__main__":
    main()
