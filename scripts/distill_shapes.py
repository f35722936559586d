"""Knowledge distillation on the bundled shapes set: does a MobileNetV2 student trained from
scratch learn more with a teacher? (the README's numbers)

The recipe is the distillation guide's (shared/seeds/002/tasks/knowledge_distillation_for_image_classification.md):
a teacher fine-tuned on the task (here a small ResNet trained on the shapes), a MobileNetV2 student
from scratch, loss ``(1 - λ)·CE + λ·T²·KL(teacher ‖ student)`` with T=5, λ=0.5, against the same
student trained on the labels alone. Every run is seeded; the table lists test accuracy.

    python scripts/distill_shapes.py                 # ~6 minutes on 2 idle CPU threads
    python scripts/distill_shapes.py --epochs 5 --seeds 0
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from polymodal import (
    ConvNextImageProcessor,
    DefaultDataCollator,
    MobileNetV2Config,
    MobileNetV2ForImageClassification,
    ResNetConfig,
    ResNetForImageClassification,
    Trainer,
    TrainingArguments,
)
from polymodal.datasets import load_shapes

IMAGE_SIZE = 48  # the images' own size: MobileNetV2 needs it (at 32 px its last map is 1x1)


class ImageDistilTrainer(Trainer):
    """The guide's Trainer subclass (student, temperature and λ as constructor arguments)."""

    def __init__(self, *args, teacher_model=None, student_model=None, temperature=5.0, lambda_param=0.5, **kwargs):
        super().__init__(*args, model=student_model, **kwargs)
        self.teacher, self.student = teacher_model, student_model
        self.loss_function = nn.KLDivLoss(reduction="batchmean")
        self.teacher.to(self.args.device).eval()
        self.temperature, self.lambda_param = temperature, lambda_param

    def compute_loss(self, student, inputs, return_outputs=False, num_items_in_batch=None):
        student_output = self.student(**inputs)
        with torch.no_grad():
            teacher_output = self.teacher(**inputs)
        soft_teacher = F.softmax(teacher_output.logits / self.temperature, dim=-1)
        soft_student = F.log_softmax(student_output.logits / self.temperature, dim=-1)
        distillation_loss = self.loss_function(soft_student, soft_teacher) * self.temperature**2
        loss = (1.0 - self.lambda_param) * student_output.loss + self.lambda_param * distillation_loss
        return (loss, student_output) if return_outputs else loss


def compute_metrics(eval_pred):
    predictions, labels = eval_pred
    return {"accuracy": float((np.argmax(predictions, axis=1) == labels).mean())}


def data():
    processor = ConvNextImageProcessor(size={"shortest_edge": IMAGE_SIZE})
    shapes = load_shapes().rename_column("label", "labels")
    processed = shapes.map(lambda batch: processor(batch["image"]), batched=True, remove_columns=["image"])
    return processed, shapes["train"].features["labels"].names


def arguments(output_dir: str, epochs: int, seed: int, lr: float, max_grad_norm: float = 1.0) -> TrainingArguments:
    return TrainingArguments(output_dir=output_dir, num_train_epochs=epochs, per_device_train_batch_size=16,
                             max_grad_norm=max_grad_norm,
                             learning_rate=lr, weight_decay=0.01, warmup_ratio=0.1, logging_strategy="no",
                             eval_strategy="no", save_strategy="no", seed=seed, report_to="none",
                             disable_tqdm=True)


def student(num_labels: int, seed: int) -> MobileNetV2ForImageClassification:
    torch.manual_seed(seed)
    config = MobileNetV2Config(depth_multiplier=0.35, classifier_dropout_prob=0.2, image_size=IMAGE_SIZE)
    config.num_labels = num_labels
    return MobileNetV2ForImageClassification(config)


def train_teacher(args, names, processed, collator, tmp: str):
    if args.teacher_dir and os.path.isdir(args.teacher_dir):
        teacher = ResNetForImageClassification.from_pretrained(args.teacher_dir)
    else:
        torch.manual_seed(0)
        teacher = ResNetForImageClassification(ResNetConfig(
            embedding_size=32, hidden_sizes=[64, 128, 256], depths=[2, 2, 2], layer_type="basic",
            num_labels=len(names), id2label=dict(enumerate(names))))
        Trainer(model=teacher, args=arguments(f"{tmp}/teacher", args.teacher_epochs, 0, 2e-3),
                train_dataset=processed["train"], data_collator=collator).train()
        if args.teacher_dir:
            teacher.save_pretrained(args.teacher_dir)
    trainer = Trainer(model=teacher, args=arguments(f"{tmp}/teacher", 1, 0, 2e-3), data_collator=collator,
                      compute_metrics=compute_metrics)
    return teacher.eval(), trainer.evaluate(processed["test"])["eval_accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--teacher-epochs", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-grad-norm", type=float, default=0.0,
                        help="students' gradient clipping (0: off, the default here; the Trainer's default is 1.0)")
    parser.add_argument("--teacher-dir", default=None,
                        help="reuse the teacher saved here by an earlier run (trained and saved there if absent)")
    parser.add_argument("--student-images", type=int, default=None,
                        help="train the students on this many images (the teacher always sees the full set)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    processed, names = data()
    collator = DefaultDataCollator()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        teacher, teacher_acc = train_teacher(args, names, processed, collator, tmp)
        print(f"teacher ResNet: test accuracy {teacher_acc:.3f} ({time.perf_counter() - start:.0f} s)", flush=True)
        student_train = processed["train"]
        if args.student_images:
            student_train = student_train.shuffle(seed=0).select(range(args.student_images))
        for seed in args.seeds:
            for distil in (False, True):
                start = time.perf_counter()
                model = student(len(names), seed)
                common = dict(args=arguments(f"{tmp}/student", args.epochs, seed, 1e-3, args.max_grad_norm),
                              train_dataset=student_train, data_collator=collator,
                              compute_metrics=compute_metrics)
                if distil:
                    trainer = ImageDistilTrainer(student_model=model, teacher_model=teacher, temperature=5.0,
                                                 lambda_param=0.5, **common)
                else:
                    trainer = Trainer(model=model, **common)
                trainer.train()
                acc = trainer.evaluate(processed["test"])["eval_accuracy"]
                rows.append((seed, distil, acc))
                print(f"student seed {seed} {'with' if distil else 'without'} distillation: {acc:.3f} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
    images = args.student_images or len(processed["train"])
    print(f"\n| student (MobileNetV2 x0.35, from scratch, {images} images, {args.epochs} epochs) "
          f"| test accuracy (seeds {args.seeds}) | mean |")
    print("|---|---|---|")
    for distil in (False, True):
        accs = [a for _, d, a in rows if d == distil]
        label = "with distillation (T=5, λ=0.5)" if distil else "labels only"
        print(f"| {label} | {', '.join(f'{a:.3f}' for a in accs)} | {np.mean(accs):.3f} |")
    print(f"| teacher (ResNet, {args.teacher_epochs} epochs) | {teacher_acc:.3f} | |")



if __name__ == "__main__":
    main()
