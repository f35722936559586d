"""``Trainer``: the training loop of the audio-classification and ASR guides.

The loop is deliberately plain: one optimizer (AdamW), one schedule (linear warm-up/decay by
default), gradient accumulation, optional bf16 autocast, evaluation/saving/logging on
"steps" or "epoch", best-model tracking, checkpoint rotation and exact resumption. Under
``torchrun`` it runs data-parallel (DDP) with no change to the script.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..core.errors import CheckpointError, ConfigError
from . import checkpoint as ckpt
from . import distributed
from .arguments import TrainingArguments
from .collators import DataCollatorWithPadding, default_data_collator
from .data import (LengthGroupedSampler, SeededRandomSampler, SequentialShardSampler, example_lengths,
                   remove_unused_columns)

logger = logging.getLogger("polymodal")


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


@dataclass
class EvalPrediction:
    """What ``compute_metrics`` receives; unpacks as ``predictions, label_ids``."""

    predictions: Any
    label_ids: Any
    inputs: Any = None

    def __iter__(self):
        return iter((self.predictions, self.label_ids))

    def __getitem__(self, index):
        return (self.predictions, self.label_ids)[index]


class PredictionOutput(NamedTuple):
    predictions: Any
    label_ids: Any
    metrics: dict[str, float] | None


class TrainOutput(NamedTuple):
    global_step: int
    training_loss: float
    metrics: dict[str, float]


def _pad_concat(arrays: list[np.ndarray], pad_value=-100) -> np.ndarray:
    """Concatenate batches along dim 0, padding dim 1 when sequence lengths differ (CTC logits)."""
    if arrays[0].ndim < 2 or len({a.shape[1:] for a in arrays}) == 1:
        return np.concatenate(arrays)
    width = max(a.shape[1] for a in arrays)
    out = np.full((sum(len(a) for a in arrays), width, *arrays[0].shape[2:]), pad_value, dtype=arrays[0].dtype)
    start = 0
    for a in arrays:
        out[start:start + len(a), : a.shape[1]] = a
        start += len(a)
    return out


def _schedule(name: str, warmup: int, total: int) -> Callable[[int], float]:
    def linear(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    def cosine(step):
        if step < warmup:
            return step / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    def constant_with_warmup(step):
        return step / max(1, warmup) if step < warmup else 1.0

    return {"linear": linear, "cosine": cosine, "constant": lambda step: 1.0,
            "constant_with_warmup": constant_with_warmup}[name]


# Parameters that get no weight decay: biases and normalisation weights (Transformers' rule).
_NO_DECAY_PATTERNS = [re.compile(p) for p in (r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)")]


def _no_weight_decay_names(model: torch.nn.Module) -> set[str]:
    names = set()
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if isinstance(module, torch.nn.LayerNorm) or any(p.search(full.lower()) for p in _NO_DECAY_PATTERNS):
                names.add(full)
    return names


class Trainer:
    def __init__(
        self,
        model=None,
        args: TrainingArguments | None = None,
        data_collator=None,
        train_dataset=None,
        eval_dataset=None,
        processing_class=None,
        model_init=None,
        compute_metrics=None,
        callbacks=None,
        optimizers=(None, None),
        preprocess_logits_for_metrics=None,
        tokenizer=None,  # the documented older name of processing_class
    ):
        if model is None:
            if model_init is None:
                raise ConfigError("Trainer needs a model (or a model_init function).")
            model = model_init()
        self.args = args if args is not None else TrainingArguments()
        set_seed(self.args.seed)
        self.processing_class = processing_class if processing_class is not None else tokenizer
        self.model = model
        self.train_dataset, self.eval_dataset = train_dataset, eval_dataset
        self.compute_metrics = compute_metrics
        self.preprocess_logits_for_metrics = preprocess_logits_for_metrics
        self.callbacks = list(callbacks or [])
        self.optimizer, self.lr_scheduler = optimizers
        self.data_collator = data_collator or self._default_collator()
        self.device = self.args.device
        self.state: dict[str, Any] = {"log_history": [], "global_step": 0, "epoch": 0.0,
                                      "best_metric": None, "best_model_checkpoint": None}
        self.skipped_nonfinite = 0
        self._warned_blank = False
        if self.args.push_to_hub:
            logger.warning("push_to_hub=True: polymodal cannot push to the Hugging Face Hub offline. "
                           "Models are saved locally in '%s'; upload that folder yourself.", self.args.output_dir)
        if self.args.fp16 and not torch.cuda.is_available():
            raise ConfigError("fp16=True needs a CUDA GPU. On CPU use bf16=True (this CPU supports bfloat16).")
        if self.args.gradient_checkpointing:
            self.model.gradient_checkpointing_enable()
        self.model.to(self.device)

    @property
    def tokenizer(self):
        return self.processing_class

    # ------------------------------------------------------------------ data
    def _default_collator(self):
        if self.processing_class is not None and hasattr(self.processing_class, "pad"):
            return DataCollatorWithPadding(self.processing_class)
        return default_data_collator

    def _prepare(self, dataset):
        if dataset is None:
            return None
        if isinstance(dataset, dict) or type(dataset).__name__.endswith("DatasetDict"):
            splits = list(dataset.keys())
            raise ConfigError(
                f"Got a dict of splits {splits}; pass one split, e.g. train_dataset=data['train'] "
                "and eval_dataset=data['test']."
            )
        return remove_unused_columns(dataset, self.model) if self.args.remove_unused_columns else dataset

    def _input_name(self) -> str:
        return getattr(self.model, "main_input_name", "input_values")

    def get_train_dataloader(self) -> DataLoader:
        if self.train_dataset is None:
            raise ConfigError("Trainer.train() needs a train_dataset.")
        dataset = self._prepare(self.train_dataset)
        args, rank, world = self.args, distributed.rank(), distributed.world_size()
        if args.train_sampling_strategy == "group_by_length":
            lengths = example_lengths(self.train_dataset, args.length_column_name, self._input_name())
            batch = args.train_batch_size * args.gradient_accumulation_steps
            sampler = LengthGroupedSampler(lengths, batch, args.data_seed, rank, world)
        elif args.train_sampling_strategy == "sequential":
            sampler = SequentialShardSampler(len(dataset), args.data_seed, rank, world)
        else:
            sampler = SeededRandomSampler(len(dataset), args.data_seed, rank, world)
        return DataLoader(dataset, batch_size=args.train_batch_size, sampler=sampler,
                          collate_fn=self.data_collator, num_workers=args.dataloader_num_workers,
                          drop_last=args.dataloader_drop_last)

    def get_eval_dataloader(self, dataset=None) -> DataLoader:
        dataset = self._prepare(dataset if dataset is not None else self.eval_dataset)
        if dataset is None:
            raise ConfigError("evaluate() needs an eval_dataset (given to Trainer or to evaluate()).")
        return DataLoader(dataset, batch_size=self.args.eval_batch_size, shuffle=False,
                          collate_fn=self.data_collator, num_workers=self.args.dataloader_num_workers)

    # ------------------------------------------------------------------ optimisation
    def create_optimizer_and_scheduler(self, num_training_steps: int) -> None:
        args = self.args
        if self.optimizer is None:
            decay, no_decay = [], []
            no_decay_names = _no_weight_decay_names(self.model)
            for name, param in self.model.named_parameters():
                if param.requires_grad:
                    (no_decay if name in no_decay_names else decay).append(param)
            groups = [{"params": decay, "weight_decay": args.weight_decay},
                      {"params": no_decay, "weight_decay": 0.0}]
            self.optimizer = torch.optim.AdamW(groups, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2),
                                               eps=args.adam_epsilon)
        if self.lr_scheduler is None:
            warmup = args.get_warmup_steps(num_training_steps)
            fn = _schedule(args.lr_scheduler_type, warmup, num_training_steps)
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, fn)
        self._warmup_steps = args.get_warmup_steps(num_training_steps)

    def _autocast(self):
        device_type = self.device.type
        dtype = torch.bfloat16 if self.args.bf16 else torch.float16
        return torch.autocast(device_type, dtype=dtype, enabled=self.args.bf16 or self.args.fp16)

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def compute_loss(self, model, inputs, return_outputs: bool = False):
        outputs = model(**inputs)
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs[0]
        if loss is None:
            raise ConfigError("The model returned no loss: does the dataset have a 'label'/'labels' column?")
        return (loss, outputs) if return_outputs else loss

    def training_step(self, model, inputs, scale: float) -> tuple[torch.Tensor, Any]:
        model.train()
        with self._autocast():
            loss, outputs = self.compute_loss(model, self._to_device(inputs), return_outputs=True)
        if not torch.isfinite(loss):
            self.skipped_nonfinite += 1
            return torch.zeros((), device=loss.device), outputs
        (loss * scale).backward()
        return loss.detach() * scale, outputs

    # ------------------------------------------------------------------ the loop
    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs) -> TrainOutput:
        args = self.args
        distributed.setup(args)
        model = distributed.wrap(self.model, self.device)
        loader = self.get_train_dataloader()
        gas = args.gradient_accumulation_steps
        updates_per_epoch = max(1, math.ceil(len(loader) / gas))
        max_steps = args.max_steps if args.max_steps > 0 else math.ceil(args.num_train_epochs * updates_per_epoch)
        num_epochs = math.ceil(max_steps / updates_per_epoch)
        self.create_optimizer_and_scheduler(max_steps)
        self.state.update(max_steps=max_steps, num_train_epochs=num_epochs, train_batch_size=args.train_batch_size,
                          logging_steps=args.logging_steps, eval_steps=args.eval_steps, save_steps=args.save_steps)

        start_epoch, skip_batches = 0, 0
        resume = self._resume_path(resume_from_checkpoint)
        if resume is not None:
            start_epoch, skip_batches = self._load_checkpoint(resume, updates_per_epoch, len(loader))

        progress = self._progress(max_steps)
        interval_loss, logged_steps, total_loss, started = 0.0, self.state["global_step"], 0.0, time.time()
        self.model.zero_grad(set_to_none=True)
        for epoch in range(start_epoch, num_epochs):
            loader.sampler.set_epoch(epoch)
            # On resume, the sampler drops the examples already seen this epoch (no decoding of them).
            loader.sampler.skip = skip_batches * args.train_batch_size
            batches_in_epoch = len(loader)
            for step, batch in enumerate(loader, start=skip_batches):
                in_update = (step % gas) + 1
                update_size = min(gas, batches_in_epoch - (step - step % gas))
                loss, outputs = self.training_step(model, batch, 1.0 / update_size)
                interval_loss += loss.item()
                if in_update < update_size:
                    continue
                grad_norm = self._optimizer_step()
                self.state["global_step"] += 1
                self.state["epoch"] = epoch + (step + 1) / batches_in_epoch
                progress.update(1)
                self._check_blank_ctc(outputs)
                gs = self.state["global_step"]
                if self._due("logging", gs, max_steps) or (gs == 1 and args.logging_first_step):
                    total_loss += interval_loss
                    self._log_train(interval_loss / (gs - logged_steps), grad_norm, progress)
                    interval_loss, logged_steps = 0.0, gs
                self._maybe_evaluate_and_save("steps", gs, max_steps)
                if gs >= max_steps:
                    break
            skip_batches = 0
            self._maybe_evaluate_and_save("epoch", self.state["global_step"], max_steps)
            if self.state["global_step"] >= max_steps:
                break
        progress.close()
        total_loss += interval_loss
        return self._finish_training(total_loss, started)

    def _optimizer_step(self) -> float:
        grad_norm = 0.0
        if self.args.max_grad_norm and self.args.max_grad_norm > 0:
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.max_grad_norm))
        self.optimizer.step()
        self._step_lr = self.lr_scheduler.get_last_lr()[0]  # the rate this update used (what gets logged)
        self.lr_scheduler.step()
        self.model.zero_grad(set_to_none=True)
        return grad_norm

    def _due(self, kind: str, step: int, max_steps: int) -> bool:
        strategy = getattr(self.args, f"{kind}_strategy")
        if strategy != "steps":
            return False
        every = getattr(self.args, f"{kind}_steps")
        return bool(every) and step % self.args.interval(every, max_steps) == 0

    def _maybe_evaluate_and_save(self, when: str, step: int, max_steps: int) -> None:
        args = self.args
        if when == "epoch":
            due_eval, due_save = args.eval_strategy == "epoch", args.save_strategy == "epoch"
        else:
            due_eval, due_save = self._due("eval", step, max_steps), self._due("save", step, max_steps)
        metrics = self.evaluate() if due_eval and self.eval_dataset is not None else None
        if due_save:
            self._save_checkpoint(metrics)
        elif metrics is not None:
            self._track_best(metrics, None)

    def _log_train(self, loss: float, grad_norm: float, progress) -> None:
        logs = {"loss": round(loss, 4), "grad_norm": grad_norm,
                "learning_rate": self._step_lr, "epoch": round(self.state["epoch"], 4)}
        if self.skipped_nonfinite:
            logs["skipped_nonfinite"] = self.skipped_nonfinite
            warnings.warn(f"{self.skipped_nonfinite} training step(s) had a NaN/inf loss and were skipped "
                          "(check the learning rate, labels and inputs).", stacklevel=2)
        self.log(logs, progress)

    def log(self, logs: dict[str, float], progress=None) -> None:
        entry = {**logs, "step": self.state["global_step"]}
        self.state["log_history"].append(entry)
        if distributed.is_main():
            writer = progress.write if progress is not None and hasattr(progress, "write") else print
            writer(str({k: v for k, v in logs.items()}))
        for callback in self.callbacks:
            if hasattr(callback, "on_log"):
                callback.on_log(self.args, self.state, None, logs=logs)

    def _progress(self, total: int):
        from tqdm.auto import tqdm

        disable = bool(self.args.disable_tqdm) or not distributed.is_main()
        bar = tqdm(total=total, initial=self.state["global_step"], disable=disable, desc="train", dynamic_ncols=True)
        bar.write = tqdm.write
        return bar

    def _check_blank_ctc(self, outputs) -> None:
        """Warn once when a CTC model emits only blanks after warm-up (it usually means a broken setup)."""
        if self._warned_blank or self.state["global_step"] <= max(self._warmup_steps, 1):
            return
        logits = getattr(outputs, "logits", None)
        pad = getattr(self.model.config, "pad_token_id", None)
        if logits is None or pad is None or logits.dim() != 3 or "CTC" not in type(self.model).__name__:
            return
        if bool((logits.argmax(-1) == pad).all()):
            self._warned_blank = True
            warnings.warn(
                "The CTC model predicts only the blank (pad) token after warm-up. Usual causes: learning rate too "
                "high or too low, too few training steps, labels not padded with -100, pad_token_id/vocab_size not "
                "matching the tokenizer, or audio not normalised / at the wrong sampling rate.", stacklevel=2)

    def _finish_training(self, total_loss: float, started: float) -> TrainOutput:
        args = self.args
        if args.load_best_model_at_end and self.state["best_model_checkpoint"]:
            best = Path(self.state["best_model_checkpoint"])
            state = type(self.model).from_pretrained(best).state_dict()
            self.model.load_state_dict(state)
            logger.info("Loaded the best model from %s (%s=%s).", best, args.metric_for_best_model,
                        self.state["best_metric"])
        runtime = time.time() - started
        steps = max(self.state["global_step"], 1)
        metrics = {"train_runtime": round(runtime, 4), "train_loss": total_loss / steps,
                   "train_steps_per_second": round(steps / max(runtime, 1e-9), 3), "epoch": self.state["epoch"]}
        self.log(metrics)
        distributed.barrier()
        return TrainOutput(self.state["global_step"], metrics["train_loss"], metrics)

    # ------------------------------------------------------------------ checkpoints
    def _resume_path(self, resume) -> Path | None:
        if resume in (None, False):
            return None
        if resume is True:
            found = ckpt.sorted_checkpoints(self.args.output_dir)
            if not found:
                raise CheckpointError(f"resume_from_checkpoint=True but '{self.args.output_dir}' has no checkpoint-N folder.")
            return found[-1]
        path = Path(resume)
        if not (path / ckpt.TRAINER_STATE).is_file():
            raise CheckpointError(f"'{path}' is not a complete Trainer checkpoint (no {ckpt.TRAINER_STATE}).")
        return path

    def _load_checkpoint(self, folder: Path, updates_per_epoch: int, batches_per_epoch: int) -> tuple[int, int]:
        from ..core.modeling import load_checkpoint_files

        weights = load_checkpoint_files(folder, allow_pickle=False, hub_kwargs={})
        self.model.load_state_dict(self.model._fix_checkpoint_keys(weights))
        meta = ckpt.load_training_state(folder, self.optimizer, self.lr_scheduler)
        saved = ckpt.read_json_state(folder)
        for key in ("global_step", "epoch", "best_metric", "best_model_checkpoint", "log_history"):
            self.state[key] = saved.get(key, self.state.get(key))
        step = self.state["global_step"]
        epoch = step // updates_per_epoch
        skip = (step % updates_per_epoch) * self.args.gradient_accumulation_steps
        logger.info("Resuming from %s at step %d (epoch %d, skipping %d batches).", folder, step, epoch, skip)
        del meta
        return epoch, min(skip, batches_per_epoch)

    def _save_checkpoint(self, metrics: dict | None) -> None:
        folder = Path(self.args.output_dir) / f"{ckpt.PREFIX}-{self.state['global_step']}"
        if metrics is not None:
            self._track_best(metrics, folder)
        if distributed.is_main():
            ckpt.save_checkpoint(folder, self.model, self.optimizer, self.lr_scheduler, self._json_state(),
                                 {}, self.args.save_only_model, self.processing_class)
            best = self.state["best_model_checkpoint"]
            ckpt.rotate_checkpoints(self.args.output_dir, self.args.save_total_limit, Path(best) if best else None)
        distributed.barrier()

    def _track_best(self, metrics: dict, folder: Path | None) -> None:
        name = self.args.metric_for_best_model
        if name is None:
            return
        key = name if name.startswith("eval_") else f"eval_{name}"
        if key not in metrics:
            raise ConfigError(f"metric_for_best_model={name!r} but evaluation returned only {sorted(metrics)}.")
        value, best = metrics[key], self.state["best_metric"]
        better = best is None or (value > best if self.args.greater_is_better else value < best)
        if better:
            self.state["best_metric"] = value
            if folder is not None:
                self.state["best_model_checkpoint"] = str(folder)

    def _json_state(self) -> dict:
        keys = ("global_step", "epoch", "max_steps", "num_train_epochs", "train_batch_size", "logging_steps",
                "eval_steps", "save_steps", "best_metric", "best_model_checkpoint", "log_history")
        state = {k: self.state.get(k) for k in keys}
        state.update(is_local_process_zero=distributed.is_main(), is_world_process_zero=distributed.is_main(),
                     total_flos=0.0)
        return state

    def save_model(self, output_dir: str | None = None) -> None:
        output_dir = output_dir or self.args.output_dir
        if distributed.is_main():
            self.model.save_pretrained(output_dir)
            if self.processing_class is not None and hasattr(self.processing_class, "save_pretrained"):
                self.processing_class.save_pretrained(output_dir)
        distributed.barrier()

    def push_to_hub(self, *args, **kwargs) -> None:
        logger.warning("push_to_hub(): polymodal cannot push to the Hugging Face Hub offline. The model is saved in "
                       "'%s'; upload that folder with huggingface-cli when you have network access.", self.args.output_dir)
        self.save_model()

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        output = self._prediction_loop(self.get_eval_dataloader(eval_dataset), metric_key_prefix)
        self.log(output.metrics)
        for callback in self.callbacks:
            if hasattr(callback, "on_evaluate"):
                callback.on_evaluate(self.args, self.state, None, metrics=output.metrics)
        return output.metrics

    def predict(self, test_dataset, ignore_keys=None, metric_key_prefix: str = "test") -> PredictionOutput:
        return self._prediction_loop(self.get_eval_dataloader(test_dataset), metric_key_prefix)

    @torch.no_grad()
    def _prediction_loop(self, loader: DataLoader, prefix: str) -> PredictionOutput:
        model = self.model
        model.eval()
        losses, preds, labels, count, started = [], [], [], 0, time.time()
        for batch in loader:
            batch = self._to_device(batch)
            with self._autocast():
                outputs = model(**batch)
            size = len(next(v for v in batch.values() if isinstance(v, torch.Tensor)))
            count += size
            loss = outputs.get("loss") if isinstance(outputs, dict) else None
            if loss is not None:
                losses.append(float(loss) * size)
            if not self.args.prediction_loss_only:
                logits = outputs["logits"] if "logits" in outputs else outputs[1 if loss is not None else 0]
                if self.preprocess_logits_for_metrics is not None:
                    logits = self.preprocess_logits_for_metrics(logits, batch.get("labels"))
                preds.append(logits.float().cpu().numpy())
                if batch.get("labels") is not None:
                    labels.append(batch["labels"].cpu().numpy())
        predictions = _pad_concat(preds) if preds else None
        label_ids = _pad_concat(labels) if labels else None
        metrics: dict[str, float] = {}
        if self.compute_metrics is not None and predictions is not None and label_ids is not None:
            metrics.update(self.compute_metrics(EvalPrediction(predictions=predictions, label_ids=label_ids)))
        if losses:
            metrics["loss"] = sum(losses) / count
        runtime = time.time() - started
        metrics.update(runtime=round(runtime, 4), samples_per_second=round(count / max(runtime, 1e-9), 3),
                       steps_per_second=round(len(loader) / max(runtime, 1e-9), 3))
        if self.state.get("epoch"):
            metrics["epoch"] = self.state["epoch"]
        metrics = {(k if k.startswith(f"{prefix}_") or k == "epoch" else f"{prefix}_{k}"): v for k, v in metrics.items()}
        return PredictionOutput(predictions, label_ids, metrics)
