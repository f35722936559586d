"""``transformers.optimization``'s import path (``from polymodal.optimization import Adafactor``).
Nothing lives here: the code is in :mod:`polymodal.train.optimization`."""

from .train.optimization import (
    Adafactor,
    AdafactorSchedule,
    SchedulerType,
    get_adafactor_schedule,
    get_constant_schedule,
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_cosine_with_hard_restarts_schedule_with_warmup,
    get_cosine_with_min_lr_schedule_with_warmup,
    get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
    get_inverse_sqrt_schedule,
    get_linear_schedule_with_warmup,
    get_polynomial_decay_schedule_with_warmup,
    get_reduce_on_plateau_schedule,
    get_scheduler,
    get_wsd_schedule,
)

__all__ = [
    "Adafactor", "AdafactorSchedule", "SchedulerType", "get_adafactor_schedule", "get_constant_schedule",
    "get_constant_schedule_with_warmup", "get_cosine_schedule_with_warmup",
    "get_cosine_with_hard_restarts_schedule_with_warmup", "get_cosine_with_min_lr_schedule_with_warmup",
    "get_cosine_with_min_lr_schedule_with_warmup_lr_rate", "get_inverse_sqrt_schedule",
    "get_linear_schedule_with_warmup", "get_polynomial_decay_schedule_with_warmup", "get_reduce_on_plateau_schedule",
    "get_scheduler", "get_wsd_schedule",
]
