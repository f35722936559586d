"""``TrainingArguments``: the Trainer's settings, with Transformers' names and defaults.

Both the documented spellings (``evaluation_strategy``, ``warmup_ratio``, ``group_by_length``)
and Transformers 5's (``eval_strategy``, fractional ``warmup_steps``,
``train_sampling_strategy="group_by_length"``) are accepted.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ConfigError

_STRATEGIES = ("no", "steps", "epoch")
_SAMPLING = ("random", "sequential", "group_by_length")


@dataclass
class TrainingArguments:
    output_dir: str = "trainer_output"
    overwrite_output_dir: bool = False
    do_train: bool = False
    do_eval: bool = False
    do_predict: bool = False
    eval_strategy: str = "no"
    save_strategy: str = "steps"
    logging_strategy: str = "steps"
    eval_steps: float | None = None
    save_steps: float = 500
    logging_steps: float = 500
    logging_first_step: bool = False
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float = 1.0
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    num_train_epochs: float = 3.0
    max_steps: int = -1
    lr_scheduler_type: str = "linear"
    lr_scheduler_kwargs: dict | None = None
    warmup_ratio: float = 0.0
    warmup_steps: float = 0
    load_best_model_at_end: bool = False
    metric_for_best_model: str | None = None
    greater_is_better: bool | None = None
    group_by_length: bool = False
    length_column_name: str = "length"
    train_sampling_strategy: str = "random"
    gradient_checkpointing: bool = False
    fp16: bool = False
    bf16: bool = False
    seed: int = 42
    data_seed: int | None = None
    save_total_limit: int | None = None
    save_only_model: bool = False
    report_to: Any = "none"
    push_to_hub: bool = False
    hub_model_id: str | None = None
    hub_strategy: str = "every_save"
    hub_token: str | None = None
    hub_private_repo: bool | None = None
    remove_unused_columns: bool = True
    label_names: list[str] | None = None
    dataloader_num_workers: int = 0
    dataloader_drop_last: bool = False
    disable_tqdm: bool | None = None
    prediction_loss_only: bool = False
    eval_accumulation_steps: int | None = None
    run_name: str | None = None
    logging_dir: str | None = None
    use_cpu: bool = False
    no_cuda: bool = False
    local_rank: int = -1
    ddp_backend: str | None = None
    label_smoothing_factor: float = 0.0
    # Transformers' default on torch >= 2.8: one fused CPU kernel per step, no foreach temporaries.
    optim: str = "adamw_torch_fused"
    optim_args: str | None = None
    eval_delay: float = 0
    save_safetensors: bool = True
    skip_memory_metrics: bool = True
    full_determinism: bool = False
    eval_on_start: bool = False
    restore_callback_states_from_checkpoint: bool = False
    # Older spelling of eval_strategy, as in the documentation the guides were written against.
    evaluation_strategy: str | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.evaluation_strategy is not None:
            self.eval_strategy = self.evaluation_strategy
            self.evaluation_strategy = None
        for name in ("eval_strategy", "save_strategy", "logging_strategy"):
            value = str(getattr(self, name)).lower().replace("intervalstrategy.", "").replace("savestrategy.", "")
            allowed = _STRATEGIES + ("best",) if name == "save_strategy" else _STRATEGIES
            if value not in allowed:
                raise ConfigError(f"TrainingArguments.{name}={getattr(self, name)!r}; expected one of {allowed}.")
            setattr(self, name, value)
        if self.save_strategy == "best" and (self.eval_strategy == "no" or self.metric_for_best_model is None):
            raise ConfigError("save_strategy='best' saves when metric_for_best_model improves: set "
                              "metric_for_best_model (e.g. 'loss') and an eval_strategy.")
        if self.group_by_length:
            self.train_sampling_strategy = "group_by_length"
        if self.train_sampling_strategy not in _SAMPLING:
            raise ConfigError(f"train_sampling_strategy={self.train_sampling_strategy!r}; expected one of {_SAMPLING}.")
        if self.eval_strategy == "steps" and self.eval_steps is None:
            self.eval_steps = self.logging_steps
        self._check_optimisation()
        if self.hub_strategy not in ("every_save", "end"):
            raise ConfigError(f"hub_strategy={self.hub_strategy!r}; polymodal supports 'every_save' and 'end'.")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"TrainingArguments.{name} must be >= 1, got {getattr(self, name)}.")
        if not 0 <= self.warmup_ratio <= 1:
            raise ConfigError(f"warmup_ratio must be in [0, 1], got {self.warmup_ratio}.")
        if self.load_best_model_at_end:
            if self.eval_strategy == "no":
                raise ConfigError("load_best_model_at_end=True needs an eval_strategy other than 'no'.")
            if self.save_strategy not in (self.eval_strategy, "best"):
                raise ConfigError(
                    f"load_best_model_at_end=True needs save_strategy == eval_strategy (or 'best') "
                    f"(got {self.save_strategy!r} and {self.eval_strategy!r})."
                )
            if self.save_strategy == "steps" and self.save_steps >= 1 and self.eval_steps >= 1 \
                    and self.save_steps % self.eval_steps:
                raise ConfigError(f"load_best_model_at_end=True needs save_steps ({self.save_steps}) to be a multiple "
                                  f"of eval_steps ({self.eval_steps}), so every saved step was evaluated.")
            if self.metric_for_best_model is None:
                self.metric_for_best_model = "loss"
        if self.lr_scheduler_type == "reduce_lr_on_plateau" and self.metric_for_best_model is None:
            self.metric_for_best_model = "loss"
        if self.metric_for_best_model is not None and self.greater_is_better is None:
            self.greater_is_better = not self.metric_for_best_model.endswith("loss")
        if self.fp16 and self.bf16:
            raise ConfigError("Choose one of fp16=True and bf16=True, not both.")
        if self.data_seed is None:
            self.data_seed = self.seed
        from .integrations import normalize_report_to

        normalize_report_to(self.report_to)  # an unknown integration name fails here, naming it

    def _check_optimisation(self) -> None:
        from .optimization import OPTIMIZERS, scheduler_type

        self.lr_scheduler_type = scheduler_type(self.lr_scheduler_type).value  # a clear error for a typo
        if self.lr_scheduler_type == "reduce_lr_on_plateau" and self.eval_strategy == "no":
            raise ConfigError("lr_scheduler_type='reduce_lr_on_plateau' needs evaluations: set eval_strategy.")
        self.optim = str(self.optim).lower().replace("optimizernames.", "")
        if self.optim not in OPTIMIZERS:
            raise ConfigError(f"optim={self.optim!r} is not available in polymodal; use one of {OPTIMIZERS}.")
        self.lr_scheduler_kwargs = dict(self.lr_scheduler_kwargs or {})

    # Batch sizes and steps ----------------------------------------------------------
    @property
    def train_batch_size(self) -> int:
        return self.per_device_train_batch_size

    @property
    def eval_batch_size(self) -> int:
        return self.per_device_eval_batch_size

    def get_warmup_steps(self, num_training_steps: int) -> int:
        """``warmup_steps`` ≥ 1 is a step count; below 1 (or ``warmup_ratio``) a fraction of training."""
        if self.warmup_steps >= 1:
            return int(self.warmup_steps)
        ratio = self.warmup_steps if self.warmup_steps > 0 else self.warmup_ratio
        return math.ceil(num_training_steps * ratio)

    def interval(self, value: float, max_steps: int) -> int:
        """Steps given as a fraction (< 1) of training, as Transformers allows, become a count."""
        return max(1, math.ceil(value * max_steps)) if value < 1 else int(value)

    @property
    def device(self):
        import torch

        if not (self.use_cpu or self.no_cuda) and torch.cuda.is_available():
            rank = int(os.environ.get("LOCAL_RANK", 0))
            return torch.device("cuda", rank)
        return torch.device("cpu")

    @property
    def world_size(self) -> int:
        return int(os.environ.get("WORLD_SIZE", 1))

    @property
    def process_index(self) -> int:
        return int(os.environ.get("RANK", 0))

    @property
    def should_log(self) -> bool:
        return self.process_index == 0

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "evaluation_strategy"}

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)
