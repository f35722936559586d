"""``Trainer``: the training loop of the audio-classification and ASR guides.

The loop is deliberately plain: one optimizer, one schedule, gradient accumulation, optional
bf16 autocast, and Transformers' callback events at the same moments as Transformers' Trainer
(``DefaultFlowCallback`` decides when to log, evaluate and save). Checkpoints resume exactly.
Under ``torchrun`` it runs data-parallel (DDP) with no change to the script.
"""

from __future__ import annotations

import inspect
import logging
import math
import re
import time
import warnings
from pathlib import Path

import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader

from ..core.errors import ConfigError
from ..core.hub import can_push_to_hub
from . import checkpoint as ckpt
from . import distributed
from .arguments import TrainingArguments
from .callbacks import CallbackHandler, DefaultFlowCallback, PrinterCallback, ProgressCallback, TrainerState
from .collators import DataCollatorWithPadding, default_data_collator
from .data import (
    LengthGroupedSampler,
    SeededRandomSampler,
    SequentialShardSampler,
    example_lengths,
    remove_unused_columns,
)
from .integrations import get_reporting_integration_callbacks
from .optimization import get_optimizer_cls_and_kwargs, get_scheduler
from .optimizer_state import prime_adam_state
from .state import ExportableState, TrainerControl
from .trainer_checkpoints import CheckpointMixin
from .trainer_evaluation import EvaluationMixin
from .trainer_utils import (
    EvalPrediction,
    LabelSmoother,
    PredictionOutput,
    TrainOutput,
    enable_full_determinism,
    set_seed,
)

__all__ = ["Trainer", "EvalPrediction", "PredictionOutput", "TrainOutput", "set_seed", "enable_full_determinism"]

logger = logging.getLogger("polymodal")


_NO_DECAY_PATTERNS = [re.compile(p) for p in (r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)")]


def _no_weight_decay_names(model: torch.nn.Module) -> set[str]:
    names = set()
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if isinstance(module, torch.nn.LayerNorm) or any(p.search(full.lower()) for p in _NO_DECAY_PATTERNS):
                names.add(full)
    return names


class Trainer(CheckpointMixin, EvaluationMixin):
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
        compute_loss_func=None,
    ):
        if model is None:
            if model_init is None:
                raise ConfigError("Trainer needs a model (or a model_init function).")
            model = model_init()
        self.args = args if args is not None else TrainingArguments()
        set_seed(self.args.seed, deterministic=self.args.full_determinism)
        self.processing_class = processing_class if processing_class is not None else tokenizer
        self.model = model
        self.train_dataset, self.eval_dataset = train_dataset, eval_dataset
        self.compute_metrics = compute_metrics
        self.preprocess_logits_for_metrics = preprocess_logits_for_metrics
        self.compute_loss_func = compute_loss_func
        self.label_smoother = self._label_smoother()
        self.optimizer, self.lr_scheduler = optimizers
        self.data_collator = data_collator or self._default_collator()
        self.device = self.args.device
        self.skipped_nonfinite = 0
        self._warned_blank = False
        self._hub_blocker = can_push_to_hub() if self.args.push_to_hub else None
        if self._hub_blocker is not None:
            logger.warning("push_to_hub=True, but uploads are not possible now (%s): working offline. Checkpoints "
                           "are saved in '%s'; call trainer.push_to_hub() once online.", self._hub_blocker,
                           self.args.output_dir)
        if self.args.fp16 and not torch.cuda.is_available():
            raise ConfigError("fp16=True needs a CUDA GPU. On CPU use bf16=True (this CPU supports bfloat16).")
        if self.args.gradient_checkpointing:
            self.model.gradient_checkpointing_enable()
        self.model.to(self.device)
        # Transformers' order: flow control, reporting integrations, the user's callbacks, then progress.
        stock = [DefaultFlowCallback, *get_reporting_integration_callbacks(self.args.report_to)]
        self.callback_handler = CallbackHandler(stock + list(callbacks or []), self.model, self.processing_class,
                                                self.optimizer, self.lr_scheduler)
        self.add_callback(PrinterCallback if self.args.disable_tqdm else ProgressCallback)
        self.state = TrainerState(is_local_process_zero=distributed.is_main(),
                                  is_world_process_zero=distributed.is_main())
        self.control = TrainerControl()
        self.control = self.callback_handler.on_init_end(self.args, self.state, self.control)

    @property
    def tokenizer(self):
        return self.processing_class

    # ------------------------------------------------------------------ callbacks
    def add_callback(self, callback) -> None:
        """Add a callback (a class or an instance)."""
        self.callback_handler.add_callback(callback)

    def pop_callback(self, callback):
        """Remove a callback (a class: its first instance) and return it; None when absent."""
        return self.callback_handler.pop_callback(callback)

    def remove_callback(self, callback) -> None:
        """Remove a callback (a class: its first instance)."""
        self.callback_handler.remove_callback(callback)

    @property
    def callbacks(self) -> list:
        return self.callback_handler.callbacks

    def _event(self, name: str, **kwargs) -> None:
        self.control = getattr(self.callback_handler, name)(self.args, self.state, self.control, **kwargs)

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
        # An explicit generator: without one, every new epoch iterator draws its base seed from the
        # global torch RNG, which shifts dropout/SpecAugment draws after a mid-epoch resume.
        return DataLoader(dataset, batch_size=args.train_batch_size, sampler=sampler,
                          collate_fn=self.data_collator, num_workers=args.dataloader_num_workers,
                          drop_last=args.dataloader_drop_last, generator=torch.Generator())

    def get_eval_dataloader(self, dataset=None) -> DataLoader:
        dataset = self._prepare(dataset if dataset is not None else self.eval_dataset)
        if dataset is None:
            raise ConfigError("evaluate() needs an eval_dataset (given to Trainer or to evaluate()).")
        return DataLoader(dataset, batch_size=self.args.eval_batch_size, shuffle=False,
                          collate_fn=self.data_collator, num_workers=self.args.dataloader_num_workers,
                          generator=torch.Generator().manual_seed(self.args.seed))

    # ------------------------------------------------------------------ optimisation
    def create_optimizer_and_scheduler(self, num_training_steps: int) -> None:
        self.create_optimizer()
        self.create_scheduler(num_training_steps, self.optimizer)
        self._warmup_steps = self.args.get_warmup_steps(num_training_steps)
        self.callback_handler.optimizer, self.callback_handler.lr_scheduler = self.optimizer, self.lr_scheduler

    def create_optimizer(self):
        """The ``optim=`` optimizer over two groups: weight decay, and none for biases and norms."""
        if self.optimizer is None:
            decay, no_decay = [], []
            no_decay_names = _no_weight_decay_names(self.model)
            for name, param in self.model.named_parameters():
                if param.requires_grad:
                    (no_decay if name in no_decay_names else decay).append(param)
            groups = [{"params": decay, "weight_decay": self.args.weight_decay},
                      {"params": no_decay, "weight_decay": 0.0}]
            cls, kwargs = get_optimizer_cls_and_kwargs(self.args)
            self.optimizer = cls(groups, **kwargs)
        return self.optimizer

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        if self.lr_scheduler is None:
            args = self.args
            self.lr_scheduler = get_scheduler(args.lr_scheduler_type, optimizer or self.optimizer,
                                              num_warmup_steps=args.get_warmup_steps(num_training_steps),
                                              num_training_steps=num_training_steps,
                                              scheduler_specific_kwargs=args.lr_scheduler_kwargs)
        return self.lr_scheduler

    def _autocast(self):
        device_type = self.device.type
        dtype = torch.bfloat16 if self.args.bf16 else torch.float16
        return torch.autocast(device_type, dtype=dtype, enabled=self.args.bf16 or self.args.fp16)

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def _label_smoother(self) -> LabelSmoother | None:
        factor = self.args.label_smoothing_factor
        if not factor:
            return None
        if not 0 < factor < 1:
            raise ConfigError(f"label_smoothing_factor must be in [0, 1), got {factor}.")
        if "CTC" in type(self.model).__name__:
            raise ConfigError("label_smoothing_factor does not apply to CTC models (their loss is not per-position "
                              "cross-entropy); set it to 0.")
        if getattr(getattr(self.model, "config", None), "problem_type", None) == "multi_label_classification":
            warnings.warn("Label smoothing is not compatible with multi-label classification; it is off for this run.",
                          stacklevel=3)
            return None
        return LabelSmoother(epsilon=factor)

    def compute_loss(self, model, inputs, return_outputs: bool = False, num_items_in_batch=None):
        """The model's own loss, or label smoothing / ``compute_loss_func(outputs, labels)`` over its outputs."""
        custom = self.label_smoother is not None or self.compute_loss_func is not None
        labels = inputs.pop("labels") if custom and "labels" in inputs else None
        outputs = model(**inputs)
        if self.compute_loss_func is not None:
            loss = self.compute_loss_func(outputs, labels, num_items_in_batch=num_items_in_batch)
        elif labels is not None:
            name = type(getattr(model, "module", model)).__name__
            loss = self.label_smoother(outputs, labels, shift_labels=name.endswith(("ForCausalLM", "LMHeadModel")))
        else:
            loss = outputs["loss"] if isinstance(outputs, dict) else outputs[0]
        if loss is None:
            raise ConfigError("The model returned no loss: does the dataset have a 'label'/'labels' column?")
        return (loss, outputs) if return_outputs else loss

    def _loss_kwargs(self, num_items_in_batch) -> dict:
        """``num_items_in_batch`` for ``compute_loss`` only if it takes it: subclasses written for
        Transformers 4 (the Trainer page's example) override ``compute_loss(model, inputs, return_outputs)``."""
        params = inspect.signature(self.compute_loss).parameters
        takes = "num_items_in_batch" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
        return {"num_items_in_batch": num_items_in_batch} if takes else {}

    def training_step(self, model, inputs, num_items_in_batch=None) -> torch.Tensor:
        """Forward and backward on one micro-batch; returns the detached loss divided by the number of
        micro-batches in this optimizer step (Transformers' signature, so subclasses can override it)."""
        model.train()
        with self._autocast():
            loss, self._last_outputs = self.compute_loss(model, self._to_device(inputs), return_outputs=True,
                                                         **self._loss_kwargs(num_items_in_batch))
        if not torch.isfinite(loss):
            self.skipped_nonfinite += 1
            return torch.zeros((), device=loss.device)
        loss = loss / self.current_gradient_accumulation_steps
        loss.backward()
        return loss.detach()

    # ------------------------------------------------------------------ the loop
    def train(self, resume_from_checkpoint: str | bool | None = None, trial=None, ignore_keys_for_eval=None,
              **kwargs) -> TrainOutput:
        if kwargs:
            raise TypeError(f"train() got unexpected keyword arguments: {', '.join(kwargs)}.")
        if trial is not None:
            raise ConfigError("Hyper-parameter search trials are not supported by polymodal's Trainer.")
        args = self.args
        self._ignore_keys_for_eval = ignore_keys_for_eval
        distributed.setup(args)
        if args.eval_strategy != "no" and self.eval_dataset is None:
            raise ConfigError(f"eval_strategy={args.eval_strategy!r} needs an eval_dataset: pass "
                              "Trainer(eval_dataset=...) or set eval_strategy='no'.")
        if distributed.is_main():
            ckpt.remove_stale_temporaries(args.output_dir)
        model = distributed.wrap(self.model, self.device)
        loader = self.get_train_dataloader()
        self.callback_handler.train_dataloader = loader
        gas = args.gradient_accumulation_steps
        updates_per_epoch = max(1, math.ceil(len(loader) / gas))
        max_steps = args.max_steps if args.max_steps > 0 else math.ceil(args.num_train_epochs * updates_per_epoch)
        num_epochs = math.ceil(max_steps / updates_per_epoch)
        self.create_optimizer_and_scheduler(max_steps)
        self._new_state(max_steps, num_epochs)

        start_epoch, skip_batches = 0, 0
        self._total_loss = 0.0  # summed step losses of the whole run (a resumed run continues the sum)
        resume = self._resume_path(resume_from_checkpoint)
        if resume is not None:
            start_epoch, skip_batches = self._load_checkpoint(resume, updates_per_epoch, len(loader))
        prime_adam_state(self.optimizer)  # before any activation: keeps peak RSS down (optimizer_state.py)
        self._interval_loss, self._last_logged, started = 0.0, self.state.global_step, time.time()
        self.model.zero_grad(set_to_none=True)
        self._event("on_train_begin")
        if args.eval_on_start:
            self.evaluate(ignore_keys=ignore_keys_for_eval)
        for epoch in range(start_epoch, num_epochs):
            self._run_epoch(model, loader, epoch, skip_batches)
            skip_batches = 0
            if self.control.should_training_stop:
                break
        return self._finish_training(started)

    def _new_state(self, max_steps: int, num_epochs: int) -> None:
        exportable = [c for c in self.callbacks + [self.control] if isinstance(c, ExportableState)]
        self.state = TrainerState(max_steps=max_steps, num_train_epochs=num_epochs,
                                  train_batch_size=self.args.train_batch_size, stateful_callbacks=exportable,
                                  is_local_process_zero=distributed.is_main(),
                                  is_world_process_zero=distributed.is_main())
        self.state.compute_steps(self.args, max_steps)

    def _run_epoch(self, model, loader: DataLoader, epoch: int, skip_batches: int) -> None:
        gas = self.args.gradient_accumulation_steps
        self._event("on_epoch_begin")
        loader.sampler.set_epoch(epoch)
        loader.generator.manual_seed(self.args.seed + epoch)  # worker seeds: a function of the epoch only
        # On resume, the sampler drops the examples already seen this epoch (no decoding of them).
        loader.sampler.skip = skip_batches * self.args.train_batch_size
        batches_in_epoch = len(loader)
        if skip_batches == 0:
            # Transformers' train loader has no generator: each epoch's iterator takes its base seed
            # from the global RNG (one int64 draw) before the first batch. Taking the same draw keeps
            # dropout's random stream, and so every step's loss, identical to Transformers' (measured:
            # wav2vec2-base, 3 steps, bit-equal losses; without it they differ by ~5e-3). A mid-epoch
            # resume skips it: the restored RNG state was saved after it.
            torch.empty((), dtype=torch.int64).random_()
        for step, batch in enumerate(loader, start=skip_batches):
            if step % gas == 0:
                self._event("on_step_begin")
            update_size = min(gas, batches_in_epoch - (step - step % gas))
            self.current_gradient_accumulation_steps = update_size  # a short last step averages over fewer
            self._last_outputs = None
            loss = self.training_step(model, batch)
            self._interval_loss += loss.item()
            if (step % gas) + 1 < update_size:
                self._event("on_substep_end")
            else:
                grad_norm = self._optimizer_step()
                self.state.global_step += 1
                self.state.epoch = epoch + (step + 1) / batches_in_epoch
                self._check_blank_ctc(self._last_outputs)
                self._event("on_step_end")
                self._maybe_log_save_evaluate(grad_norm)
            if self.control.should_epoch_stop or self.control.should_training_stop:
                break
        self._event("on_epoch_end")
        self._maybe_log_save_evaluate(None)

    def _optimizer_step(self) -> float:
        grad_norm = 0.0
        if self.args.max_grad_norm and self.args.max_grad_norm > 0:
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.max_grad_norm))
        self._event("on_pre_optimizer_step")
        self.optimizer.step()
        self._event("on_optimizer_step")
        self._step_lr = self._get_learning_rate()  # the rate this update used (what gets logged)
        if not isinstance(self.lr_scheduler, ReduceLROnPlateau):  # that one steps on evaluation metrics
            self.lr_scheduler.step()
        self.model.zero_grad(set_to_none=True)
        return grad_norm

    def _get_learning_rate(self) -> float:
        if isinstance(self.lr_scheduler, ReduceLROnPlateau):
            return self.optimizer.param_groups[0]["lr"]
        rate = self.lr_scheduler.get_last_lr()[0]
        return rate.item() if torch.is_tensor(rate) else rate

    def _maybe_log_save_evaluate(self, grad_norm: float | None) -> None:
        if self.control.should_log and self.state.global_step > self._last_logged:
            self._log_train(grad_norm)
        metrics = None
        if self.control.should_evaluate:
            metrics = self.evaluate(ignore_keys=self._ignore_keys_for_eval)
            if isinstance(self.lr_scheduler, ReduceLROnPlateau):
                name = self.args.metric_for_best_model
                self.lr_scheduler.step(metrics[name if name.startswith("eval_") else f"eval_{name}"])
            new_best = self._determine_best_metric(metrics)
            if self.args.save_strategy == "best":
                self.control.should_save = new_best
        if self.control.should_save:
            self._save_checkpoint()
            self._event("on_save")

    def _log_train(self, grad_norm: float | None) -> None:
        steps = self.state.global_step - self._last_logged
        logs = {"loss": self._interval_loss / steps}
        if grad_norm is not None:
            logs["grad_norm"] = grad_norm
        logs["learning_rate"] = self._step_lr
        self._total_loss += self._interval_loss
        self._interval_loss, self._last_logged = 0.0, self.state.global_step
        if self.skipped_nonfinite:
            logs["skipped_nonfinite"] = self.skipped_nonfinite
            warnings.warn(f"{self.skipped_nonfinite} training step(s) had a NaN/inf loss and were skipped "
                          "(check the learning rate, labels and inputs).", stacklevel=2)
        self.log(logs)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Record ``logs`` in ``state.log_history`` (with epoch and step) and pass them to the callbacks."""
        if self.state.epoch is not None:
            logs["epoch"] = self.state.epoch
        self.state.log_history.append({**logs, "step": self.state.global_step})
        self._event("on_log", logs=logs)

    def _check_blank_ctc(self, outputs) -> None:
        """Warn once when a CTC model emits only blanks after warm-up (it usually means a broken setup)."""
        if self._warned_blank or self.state.global_step <= max(self._warmup_steps, 1):
            return
        logits = getattr(outputs, "logits", None) if outputs is not None else None
        pad = getattr(self.model.config, "pad_token_id", None)
        if logits is None or pad is None or logits.dim() != 3 or "CTC" not in type(self.model).__name__:
            return
        if bool((logits.argmax(-1) == pad).all()):
            self._warned_blank = True
            warnings.warn(
                "The CTC model predicts only the blank (pad) token after warm-up. Usual causes: learning rate too "
                "high or too low, too few training steps, labels not padded with -100, pad_token_id/vocab_size not "
                "matching the tokenizer, or audio not normalised / at the wrong sampling rate.", stacklevel=2)

    def _finish_training(self, started: float) -> TrainOutput:
        args = self.args
        self._total_loss += self._interval_loss
        self._interval_loss = 0.0
        runtime = time.time() - started
        steps = max(self.state.global_step, 1)
        # train_loss is the mean step loss of the whole run, also after a resume (Transformers
        # averages only the steps of the last train() call).
        metrics = {"train_runtime": round(runtime, 4), "train_loss": self._total_loss / steps,
                   "train_steps_per_second": round(steps / max(runtime, 1e-9), 3),
                   "total_flos": self.state.total_flos}
        self.log(dict(metrics))
        metrics["epoch"] = self.state.epoch
        if args.load_best_model_at_end and self.state.best_model_checkpoint:
            best = Path(self.state.best_model_checkpoint)
            state = type(self.model).from_pretrained(best).state_dict()
            self.model.load_state_dict(state)
            logger.info("Loaded the best model from %s (%s=%s).", best, args.metric_for_best_model,
                        self.state.best_metric)
        self._event("on_train_end")
        distributed.barrier()
        return TrainOutput(self.state.global_step, metrics["train_loss"], metrics)
