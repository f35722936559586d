"""int8 vs float32 on *trained* models: top-1 agreement and accuracy on held-out voices.

    python benchmarks/bench_int8_agreement.py [--w2v2-epochs 12] [--threads 2]

Random weights give near-tied logits, so agreement on them says little. Two models are trained
here on the bundled spoken-intent set (14 intents, train/test split by voice):

* the demo's log-mel CNN (``polymodal.demo.train``: Conv1d + BatchNorm + Linear);
* a small Wav2Vec2 classifier (hidden 128, 2 layers, conv front end 7 × 128) fine-tuned from
  scratch on raw 16 kHz audio (the recipe of the demo's README comparison, shortened).

Each is quantised with ``polymodal.export.quantize`` dynamically and statically (calibrated on
16 training clips). Printed: float32 and int8 accuracy on the test voices, top-1 agreement of
int8 with float32, and the smallest cosine between float32 and int8 logits.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from polymodal.export import quantize

MAX_SECONDS = 3.6  # every clip in the set is shorter


def report(name: str, model, train_inputs: dict, test_inputs: dict, labels: np.ndarray) -> list[str]:
    calibration = [{k: v[i:i + 4] for k, v in train_inputs.items()} for i in range(0, 16, 4)]
    models = {"float32": model, "int8 dynamic": quantize(model), "int8 static": quantize(model, calibration)}
    with torch.inference_mode():
        logits = {side: torch.cat([m(**{k: v[i:i + 32] for k, v in test_inputs.items()}).logits
                                   for i in range(0, len(labels), 32)]) for side, m in models.items()}
    ref = logits["float32"]
    lines = []
    for side, out in logits.items():
        accuracy = (out.argmax(-1).numpy() == labels).mean()
        agree = (out.argmax(-1) == ref.argmax(-1)).float().mean().item()
        cosine = torch.nn.functional.cosine_similarity(out, ref, dim=-1).min().item()
        lines.append(f"| {name} | {side} | {accuracy:.1%} | {agree:.1%} | {cosine:.4f} |")
    return lines


def demo_cnn(folder: Path, epochs: int) -> list[str]:
    from polymodal.demo import train

    trainer, _, encoded = train(folder, epochs=epochs)
    features = {split: {"input_features": torch.tensor(np.asarray(encoded[split]["input_features"]))}
                for split in ("train", "test")}
    labels = np.asarray(encoded["test"]["label"])
    return report(f"log-mel CNN ({len(labels)} test clips)", trainer.model.eval(), features["train"],
                  features["test"], labels)


def small_wav2vec2(folder: Path, epochs: int, save_to: Path | None = None) -> list[str]:
    from polymodal import (
        Trainer,
        TrainingArguments,
        Wav2Vec2Config,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForSequenceClassification,
    )
    from polymodal.datasets import Audio, load_spoken_intents
    from polymodal.train.trainer import set_seed

    extractor = Wav2Vec2FeatureExtractor(return_attention_mask=False)
    intents = load_spoken_intents().cast_column("audio", Audio(sampling_rate=16000))

    def preprocess(batch):
        return extractor([a["array"] for a in batch["audio"]], sampling_rate=16000, padding="max_length",
                         max_length=int(16000 * MAX_SECONDS), truncation=True)

    encoded = intents.map(preprocess, remove_columns="audio", batched=True)
    names = intents["train"].label_names
    set_seed(0)
    config = Wav2Vec2Config(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256,
                            conv_dim=(128,) * 7, num_labels=len(names), classifier_proj_size=64,
                            id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)})
    model = Wav2Vec2ForSequenceClassification(config)
    args = TrainingArguments(output_dir=str(folder / "w2v2"), num_train_epochs=epochs, learning_rate=1e-3,
                             per_device_train_batch_size=16, warmup_ratio=0.1, save_strategy="no",
                             eval_strategy="no", logging_steps=50, seed=0)
    Trainer(model=model, args=args, train_dataset=encoded["train"]).train()
    if save_to is not None:
        model.save_pretrained(save_to)  # keep the trained model for a closer look at int8 per layer
    inputs = {split: {"input_values": torch.tensor(np.asarray(encoded[split]["input_values"]))}
              for split in ("train", "test")}
    labels = np.asarray(encoded["test"]["label"])
    return report(f"Wav2Vec2 small ({len(labels)} test clips)", model.eval(), inputs["train"], inputs["test"], labels)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cnn-epochs", type=int, default=15)
    parser.add_argument("--w2v2-epochs", type=int, default=12)
    parser.add_argument("--save-w2v2", type=Path, default=None, help="save the trained Wav2Vec2 here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()}")
    folder = Path(tempfile.mkdtemp())
    lines = ["| model | side | test accuracy | top-1 agreement with float32 | min logit cosine |",
             "|---|---|---|---|---|"]
    if args.cnn_epochs:
        lines += demo_cnn(folder, args.cnn_epochs)
    if args.w2v2_epochs:
        lines += small_wav2vec2(folder, args.w2v2_epochs, args.save_w2v2)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
