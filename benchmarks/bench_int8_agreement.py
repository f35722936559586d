"""int8 vs float32 on *trained* models: top-1 agreement and accuracy on held-out voices.

    python benchmarks/bench_int8_agreement.py [--threads 1] [--w2v2-epochs 30] [--stages]

Random weights give near-tied logits and no outlier channels, so agreement on them says little.
Three models are trained here on the bundled spoken-intent set (14 intents, train/test split by
voice; chance is 7.1%):

* the demo's log-mel CNN (``polymodal.demo.train``: Conv1d + BatchNorm + Linear);
* a small Wav2Vec2 classifier on raw audio at the set's own 8 kHz, wav2vec2-base's architecture
  (group-norm conv stack 10/3/3/3/3/2/2, post-norm transformer) shrunk. From scratch it barely
  learns this set in minutes (14.9% after 12 epochs), so its conv stack and feature projection
  are first taught (300 steps) to predict each frame's log-mel spectrum (a dense target: every
  40 ms frame of every clip, where the class label is one number per clip), then the
  transformer, the feature projection and the head are trained on the intents for 30 epochs
  over conv features computed once (``--w2v2-train-conv``: the conv stack too, much slower):
  98% on the held-out voices after ~8 minutes on one busy core;
* a small AST on 32-bin log-mel patches spanning the whole spectrum (32 × 32, stride 8 in time),
  trained 40 epochs with SpecAugment and label smoothing: ~90% on the held-out voices.

Each is quantised with ``polymodal.export.quantize`` dynamically and statically (calibrated on
16 training clips), and, for comparison, as ``quantize`` did before (every layer in int8, one
uint8 range per tensor, no per-frame conv scales); the Wav2Vec2 also with its conv stack float
(format 2's default, before per-frame scales). Printed: float32 and int8 accuracy on the test
voices, top-1 agreement of int8 with float32, and the smallest cosine between float32 and int8
logits; ``--stages`` adds the relative error after each stage of the Wav2Vec2 (where int8 error
grows).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from polymodal.export import int8 as int8_module
from polymodal.export import quantize
from polymodal.export import quantizer as quantizer_module

MAX_SECONDS = 3.6  # every clip in the set is shorter
RATE = 8000  # the set's own sampling rate (espeak-ng voices): 16 kHz would double the cost, add nothing
HOP, WINDOW, MELS = 320, 400, 40  # the conv stack's stride and receptive field (samples): one mel frame each
W2V2_STAGES = ("wav2vec2.feature_extractor", "wav2vec2.feature_projection.layer_norm", "wav2vec2.encoder")


@contextlib.contextmanager
def per_tensor_only():
    """Outlier splitting off and no per-frame conv scales: one uint8 range per tensor (what
    format-1 checkpoints did)."""
    saved, int8_module.OUTLIER_RATIO = int8_module.OUTLIER_RATIO, math.inf
    saved_frames, quantizer_module.frame_scaled_layers = quantizer_module.frame_scaled_layers, lambda m, n: []
    try:
        yield
    finally:
        int8_module.OUTLIER_RATIO = saved
        quantizer_module.frame_scaled_layers = saved_frames


def conv_stacks(model) -> list[str]:
    """Names of wav2vec2-like conv feature encoders in ``model`` (none in the CNN or AST)."""
    return [name for name, _ in quantizer_module._conv_stacks(model)]


def sides(model, calibration: list[dict]) -> dict:
    """side name → (model, context to run it in). "before": what quantize did before this fix —
    every layer in int8 (no default float modules) and one range per tensor."""
    plain = contextlib.nullcontext
    out = {"float32": (model, plain), "int8 dynamic": (quantize(model), plain),
           "int8 static": (quantize(model, calibration), plain)}
    if conv_stacks(model):  # format 2's default: the conv stack float (per-frame int8 is format 3's)
        out["int8 static, conv stack float"] = (quantize(model, calibration, conv_stacks(model)), plain)
    if quantizer_module.attention_projections(model):  # AST: attention in bf16 (the default with AMX)
        out["int8 static, bf16 attention"] = (quantize(model, calibration, attention_dtype="bfloat16"), plain)
    with per_tensor_only():
        out["int8 dynamic (before)"] = (quantize(model, modules_to_not_convert=[]), per_tensor_only)
        out["int8 static (before)"] = (quantize(model, calibration, modules_to_not_convert=[]), per_tensor_only)
    return out


def batches(inputs: dict, size: int = 32):
    count = len(next(iter(inputs.values())))
    return [{k: v[i:i + size] for k, v in inputs.items()} for i in range(0, count, size)]


def report(name: str, model, train_inputs: dict, test_inputs: dict, labels: np.ndarray,
           stages: tuple[str, ...] = (), pooled=None) -> list[str]:
    """Table rows per side; ``pooled(model, batch)``, when given, adds the smallest cosine
    between float32 and int8 pooled embeddings (the head's input)."""
    calibration = [{k: v[i:i + 4] for k, v in train_inputs.items()} for i in range(0, 16, 4)]
    models = sides(model.eval(), calibration)
    logits, embeddings = {}, {}
    with torch.inference_mode():
        for side, (m, context) in models.items():
            with context():
                logits[side] = torch.cat([m(**batch).logits for batch in batches(test_inputs)])
                if pooled is not None:
                    embeddings[side] = torch.cat([pooled(m, batch) for batch in batches(test_inputs)])
    ref = logits["float32"]
    lines = []
    for side, out in logits.items():
        accuracy = (out.argmax(-1).numpy() == labels).mean()
        agree = (out.argmax(-1) == ref.argmax(-1)).float().mean().item()
        cosine = torch.nn.functional.cosine_similarity(out, ref, dim=-1).min().item()
        pooled_cosine = "" if pooled is None else "{:.4f}".format(torch.nn.functional.cosine_similarity(
            embeddings[side], embeddings["float32"], dim=-1).min().item())
        lines.append(f"| {name} | {side} | {accuracy:.1%} | {agree:.1%} | {cosine:.4f} | {pooled_cosine} |")
    if stages:
        print(f"relative error per stage, {name}, 32 test clips:")
        first = batches(test_inputs)[0]
        for side, (m, context) in models.items():
            if side != "float32":
                with context():
                    errors = stage_errors(model, m, first, stages)
                print(f"  {side}: " + ", ".join(f"{stage} {err:.1%}" for stage, err in errors.items()))
    return lines


def stage_errors(reference: nn.Module, quantized: nn.Module, inputs: dict, stages: tuple[str, ...]) -> dict:
    """‖int8 − float‖ / ‖float‖ of each named module's output."""
    def capture(model):
        seen = {}
        hooks = [model.get_submodule(name).register_forward_hook(
            lambda _m, _a, out, name=name: seen.__setitem__(name, out if torch.is_tensor(out) else out[0]))
            for name in stages]
        with torch.inference_mode():
            seen["logits"] = model(**inputs).logits  # the head's linears run fused, past any hook
        for hook in hooks:
            hook.remove()
        return seen

    ref, got = capture(reference), capture(quantized)
    return {name: ((got[name] - ref[name]).norm() / ref[name].norm()).item() for name in ref}


# --------------------------------------------------------------------------- log-mel CNN

def demo_cnn(folder: Path, epochs: int) -> list[str]:
    from polymodal.demo import train

    trainer, _, encoded = train(folder, epochs=epochs)
    features = {split: {"input_features": torch.tensor(np.asarray(encoded[split]["input_features"]))}
                for split in ("train", "test")}
    labels = np.asarray(encoded["test"]["label"])
    return report(f"log-mel CNN ({len(labels)} test clips)", trainer.model, features["train"],
                  features["test"], labels)


# --------------------------------------------------------------------------- Wav2Vec2

def intent_waves(rate: int):
    """Per split: (B, L) zero-mean unit-variance clips zero-padded to MAX_SECONDS, lengths, labels."""
    from polymodal import Wav2Vec2FeatureExtractor
    from polymodal.datasets import Audio, load_spoken_intents

    intents = load_spoken_intents().cast_column("audio", Audio(sampling_rate=rate))
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=rate)
    data = {}
    for split in ("train", "test"):
        arrays = [a["array"] for a in intents[split]["audio"]]
        # Normalised over each clip's own samples (the mask), padding left at zero; the model is
        # then run without the mask, as wav2vec2-base checkpoints are.
        values = extractor(arrays, sampling_rate=rate, padding="max_length", max_length=int(rate * MAX_SECONDS),
                           truncation=True, return_attention_mask=True, return_tensors="pt")["input_values"]
        lengths = torch.tensor([min(len(a), values.shape[1]) for a in arrays])
        data[split] = (values, lengths, np.asarray(intents[split]["label"]))
    return data, intents["train"].label_names


def log_mel_frames(waves: torch.Tensor, rate: int) -> torch.Tensor:
    """(B, L) → (B, T, MELS) log-mel, frame t over samples [t·HOP, t·HOP + WINDOW): the conv stack's frames."""
    from polymodal.audio.dsp import mel_filter_bank, spectrogram_torch

    mel = mel_filter_bank(WINDOW // 2 + 1, MELS, 20.0, rate / 2, rate, norm="slaney", mel_scale="slaney")
    window = torch.hann_window(WINDOW, periodic=True)
    specs = [spectrogram_torch(chunk, window, WINDOW, HOP, power=2.0, center=False, mel_filters=mel, mel_floor=1e-6)
             for chunk in waves.split(64)]  # chunks: the framed copy of every clip at once is ~1 GB
    return torch.cat(specs).log().transpose(1, 2)


def w2v2_config(names: list[str]):
    from polymodal import Wav2Vec2Config

    no_dropout = dict(hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
                      final_dropout=0.0, layerdrop=0.0, mask_time_prob=0.0)
    return Wav2Vec2Config(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                          conv_dim=(32, 32, 32, 64, 64, 128, 128), feat_extract_norm="group",
                          num_conv_pos_embeddings=32, num_conv_pos_embedding_groups=16, classifier_proj_size=64,
                          num_labels=len(names), id2label=dict(enumerate(names)),
                          label2id={n: i for i, n in enumerate(names)}, **no_dropout)


def teach_log_mel(model, waves: torch.Tensor, lengths: torch.Tensor, rate: int, steps: int, seed: int) -> None:
    """Warm-up: conv stack + feature projection (+ a linear head, dropped after) regress each
    frame's normalised log-mel on random 1.6 s crops (frame-aligned, so the targets are precomputed)."""
    targets = log_mel_frames(waves, rate)  # (N, T, MELS)
    valid = ((lengths - WINDOW) // HOP + 1).clamp(min=1)  # frames inside each clip
    real = torch.cat([t[:n] for t, n in zip(targets, valid)])
    targets = (targets - real.mean(0)) / real.std(0)  # per-bin standardised over the real frames
    crop_frames = 24  # ~1 s: plenty of frames per step, and the cost of a step is the conv stack's
    base = model.wav2vec2
    head = nn.Linear(model.config.hidden_size, MELS)
    params = [*base.feature_extractor.parameters(), *base.feature_projection.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=2e-3, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=steps, pct_start=0.1)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    started = time.perf_counter()
    for step in range(steps):
        rows = torch.randint(len(waves), (16,), generator=generator)
        starts = (torch.rand(16, generator=generator) * (valid[rows] - crop_frames).clamp(min=0)).long()
        x = torch.stack([waves[r, s * HOP:s * HOP + (crop_frames - 1) * HOP + WINDOW] for r, s in zip(rows, starts)])
        y = torch.stack([targets[r, s:s + crop_frames] for r, s in zip(rows, starts)])
        features = base.feature_extractor(x)  # (B, C, T)
        hidden, _ = base.feature_projection(features.transpose(1, 2))
        pred = head(hidden)
        frames = min(pred.shape[1], y.shape[1])
        loss = nn.functional.mse_loss(pred[:, :frames], y[:, :frames])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"  log-mel warm-up step {step}: mse {loss.item():.3f} ({time.perf_counter() - started:.0f} s)")


def train_on_frozen_features(model, values: torch.Tensor, labels: torch.Tensor, epochs: int, lr: float,
                             seed: int) -> None:
    """Feature projection + transformer + head on conv features computed once (the conv stack is
    frozen): the steps of ``Wav2Vec2ForSequenceClassification.forward`` without a mask, minus the
    conv stack, which would otherwise be recomputed every epoch on a busy 2-core machine."""
    base = model.wav2vec2
    with torch.no_grad():
        model.eval()
        features = torch.cat([base.feature_extractor(chunk).transpose(1, 2).contiguous()
                              for chunk in values.split(32)])  # (N, T, C)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    per_epoch = math.ceil(len(values) / 16)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=epochs * per_epoch, pct_start=0.1)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    started = time.perf_counter()
    for epoch in range(epochs):
        total = 0.0
        for rows in torch.randperm(len(values), generator=generator).split(16):
            hidden, _ = base.feature_projection(features[rows])
            last, _, _ = base.encoder(hidden)
            logits = model.classifier(model.projector(last).mean(1))
            loss = nn.functional.cross_entropy(logits, labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(rows)
        print(f"  epoch {epoch + 1}: loss {total / len(values):.3f} ({time.perf_counter() - started:.0f} s)")


def small_wav2vec2(folder: Path, epochs: int, warmup_steps: int, lr: float, freeze: bool, save_to: Path | None,
                   stages: bool, load_from: Path | None = None) -> list[str]:
    from polymodal import Trainer, TrainingArguments, Wav2Vec2ForSequenceClassification
    from polymodal.datasets import AudioDataset
    from polymodal.train.trainer import set_seed

    data, names = intent_waves(RATE)
    if load_from is not None:  # a model this script trained and saved before: measure int8 only
        model = Wav2Vec2ForSequenceClassification.from_pretrained(load_from).eval()
        inputs = {split: {"input_values": data[split][0]} for split in ("train", "test")}
        return report(f"Wav2Vec2 small, 8 kHz ({len(data['test'][2])} test clips)", model, inputs["train"],
                      inputs["test"], data["test"][2], W2V2_STAGES if stages else ())
    set_seed(0)
    model = Wav2Vec2ForSequenceClassification(w2v2_config(names))
    started = time.perf_counter()
    if warmup_steps:
        teach_log_mel(model, *data["train"][:2], RATE, warmup_steps, seed=0)
    values, _, labels = data["train"]
    if freeze:  # keep the log-mel-like conv features: computed once, then only the rest trains
        model.freeze_feature_encoder()
        train_on_frozen_features(model, values, torch.tensor(labels), epochs, lr, seed=0)
    else:
        train = AudioDataset({"input_values": list(values.numpy()), "label": labels.tolist()})
        args = TrainingArguments(output_dir=str(folder / "w2v2"), num_train_epochs=epochs, learning_rate=lr,
                                 per_device_train_batch_size=16, warmup_ratio=0.1, weight_decay=0.01,
                                 save_strategy="no", eval_strategy="no", logging_steps=25, seed=0)
        Trainer(model=model, args=args, train_dataset=train).train()
    model.eval()
    print(f"  Wav2Vec2 trained in {time.perf_counter() - started:.0f} s, "
          f"{model.num_parameters():,} parameters")
    if save_to is not None:
        model.save_pretrained(save_to)  # keep the trained model for a closer look at int8 per layer
    inputs = {split: {"input_values": data[split][0]} for split in ("train", "test")}
    return report(f"Wav2Vec2 small, 8 kHz ({len(data['test'][2])} test clips)", model, inputs["train"],
                  inputs["test"], data["test"][2], W2V2_STAGES if stages else ())


# --------------------------------------------------------------------------- AST

# The AST's patches span the whole spectrum (32 mel bins x 32 frames, a new one every 8 frames: 43
# tokens), like the log-mel CNN's full-band convolution. With AST-base-style 16 x 16 patches (4
# frequency bands x 23 non-overlapping time steps) the same training reached 17-37% on the held-out
# voices (31% with SpecAugment, 37.5% without); with these, ~90% in 40 epochs (~3 minutes at 1 thread).
MELS_AST = 32


def spec_augment(x: torch.Tensor, generator: torch.Generator, shift: int, freq_mask: int, time_mask: int,
                 masks: int) -> torch.Tensor:
    """(B, T, F) spectrograms, each rolled by up to ``shift`` frames, then ``masks`` frequency bands
    (up to ``freq_mask`` bins) and time spans (up to ``time_mask`` frames) set to 0, the feature
    extractor's mean (SpecAugment, Park et al., 2019): the AST otherwise learns the training voices."""
    batch, frames, bins = x.shape
    if shift:
        offsets = torch.randint(-shift, shift + 1, (batch,), generator=generator).tolist()
        x = torch.stack([row.roll(offset, 0) for row, offset in zip(x, offsets)])
    else:
        x = x.clone()
    for _ in range(masks):
        for size, width, axis in ((bins, freq_mask, 2), (frames, time_mask, 1)):
            start = torch.randint(0, size, (batch, 1), generator=generator)
            span = torch.randint(0, width + 1, (batch, 1), generator=generator)
            positions = torch.arange(size)[None]
            hit = (positions >= start) & (positions < start + span)  # (B, size)
            x = x.masked_fill(hit[:, None, :] if axis == 2 else hit[:, :, None], 0.0)
    return x


def train_ast(model, values: torch.Tensor, labels: torch.Tensor, epochs: int, lr: float, augment: bool,
              seed: int) -> None:
    """AdamW, one-cycle schedule, label smoothing 0.1, batches of 16; SpecAugment when ``augment``."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    per_epoch = math.ceil(len(values) / 16)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=epochs * per_epoch, pct_start=0.1)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    started = time.perf_counter()
    for epoch in range(epochs):
        total = 0.0
        for rows in torch.randperm(len(values), generator=generator).split(16):
            x = spec_augment(values[rows], generator, 20, 4, 20, 1) if augment else values[rows]
            loss = nn.functional.cross_entropy(model(x).logits, labels[rows], label_smoothing=0.1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(rows)
        if (epoch + 1) % 5 == 0 or epoch == epochs - 1:
            print(f"  AST epoch {epoch + 1}: loss {total / len(values):.3f} ({time.perf_counter() - started:.0f} s)")
    model.eval()


def small_ast(epochs: int, lr: float, augment: bool = True, save_to: Path | None = None,
              load_from: Path | None = None) -> list[str]:
    from polymodal import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification
    from polymodal.datasets import Audio, load_spoken_intents
    from polymodal.train.trainer import set_seed

    frames = 368  # 3.6 s at 100 frames / s: (368 - 32) / 8 + 1 = 43 patches
    extractor = ASTFeatureExtractor(num_mel_bins=MELS_AST, max_length=frames)
    intents = load_spoken_intents().cast_column("audio", Audio(sampling_rate=16000))
    data = {split: (torch.tensor(np.asarray(extractor([a["array"] for a in intents[split]["audio"]],
                                                      sampling_rate=16000)["input_values"])),
                    torch.tensor(intents[split]["label"])) for split in ("train", "test")}
    names = intents["train"].label_names
    if load_from is not None:  # an AST this script trained and saved before: measure int8 only
        model = ASTForAudioClassification.from_pretrained(load_from).eval()
    else:
        set_seed(0)
        config = ASTConfig(hidden_size=96, num_hidden_layers=2, num_attention_heads=4, intermediate_size=192,
                           num_mel_bins=MELS_AST, patch_size=MELS_AST, max_length=frames,
                           frequency_stride=MELS_AST, time_stride=8,
                           hidden_dropout_prob=0.1 if augment else 0.0, attention_probs_dropout_prob=0.0,
                           num_labels=len(names), id2label=dict(enumerate(names)),
                           label2id={n: i for i, n in enumerate(names)})
        model = ASTForAudioClassification(config)
        started = time.perf_counter()
        train_ast(model, *data["train"], epochs, lr, augment, seed=0)
        print(f"  AST trained in {time.perf_counter() - started:.0f} s")
        if save_to is not None:
            model.save_pretrained(save_to)
    inputs = {split: {"input_values": data[split][0]} for split in ("train", "test")}
    labels = data["test"][1].numpy()
    return report(f"AST small ({len(labels)} test clips)", model, inputs["train"], inputs["test"], labels,
                  pooled=lambda m, batch: m.audio_spectrogram_transformer(**batch).pooler_output)


def main() -> None:
    parser = argparse.ArgumentParser()
    # One thread: on a busy shared machine two threads spin against each other (10x slower here).
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cnn-epochs", type=int, default=15)
    parser.add_argument("--w2v2-epochs", type=int, default=30)
    parser.add_argument("--w2v2-warmup-steps", type=int, default=300, help="log-mel regression steps first")
    parser.add_argument("--w2v2-lr", type=float, default=3e-3)
    parser.add_argument("--w2v2-train-conv", action="store_true", help="fine-tune the conv stack too")
    parser.add_argument("--ast-epochs", type=int, default=40)
    parser.add_argument("--ast-lr", type=float, default=1e-3)
    parser.add_argument("--no-ast-augment", action="store_true", help="train the AST without SpecAugment")
    parser.add_argument("--save-ast", type=Path, default=None, help="save the trained AST here")
    parser.add_argument("--load-ast", type=Path, default=None, help="measure an AST saved by --save-ast")
    parser.add_argument("--stages", action="store_true", help="print the Wav2Vec2's int8 error per stage")
    parser.add_argument("--save-w2v2", type=Path, default=None, help="save the trained Wav2Vec2 here")
    parser.add_argument("--load-w2v2", type=Path, default=None, help="measure a Wav2Vec2 saved by --save-w2v2")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()}")
    folder = Path(tempfile.mkdtemp())
    lines = ["| model | side | test accuracy | top-1 agreement with float32 | min logit cosine | min pooled cosine |",
             "|---|---|---|---|---|---|"]
    if args.cnn_epochs:
        lines += demo_cnn(folder, args.cnn_epochs)
    if args.w2v2_epochs:
        lines += small_wav2vec2(folder, args.w2v2_epochs, args.w2v2_warmup_steps, args.w2v2_lr,
                                not args.w2v2_train_conv, args.save_w2v2, args.stages, args.load_w2v2)
    if args.ast_epochs or args.load_ast:
        lines += small_ast(args.ast_epochs, args.ast_lr, not args.no_ast_augment, args.save_ast, args.load_ast)
    print("\n".join(lines))
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
