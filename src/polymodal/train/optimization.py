"""Learning-rate schedules, ``get_scheduler``, ``Adafactor`` and the Trainer's ``optim=`` choices.

Every schedule is a ``LambdaLR`` whose factor (multiplied by the optimizer's initial ``lr``) is
Transformers' step for step; names and signatures are Transformers'.
"""

from __future__ import annotations

import math
import warnings
from enum import Enum
from functools import partial

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

from ..core.errors import ConfigError


class SchedulerType(str, Enum):
    LINEAR = "linear"
    COSINE = "cosine"
    COSINE_WITH_RESTARTS = "cosine_with_restarts"
    POLYNOMIAL = "polynomial"
    CONSTANT = "constant"
    CONSTANT_WITH_WARMUP = "constant_with_warmup"
    INVERSE_SQRT = "inverse_sqrt"
    REDUCE_ON_PLATEAU = "reduce_lr_on_plateau"
    COSINE_WITH_MIN_LR = "cosine_with_min_lr"
    COSINE_WARMUP_WITH_MIN_LR = "cosine_warmup_with_min_lr"
    WARMUP_STABLE_DECAY = "warmup_stable_decay"


# --------------------------------------------------------------------------- factors (step -> multiplier)
def _warmup(step: int, warmup: int) -> float:
    return step / max(1, warmup)


def _constant(step: int) -> float:
    return 1.0


def _constant_warmup(step: int, *, warmup: int) -> float:
    return _warmup(step, warmup) if step < warmup else 1.0


def _linear(step: int, *, warmup: int, total: int) -> float:
    if step < warmup:
        return _warmup(step, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def _progress(step: int, warmup: int, total: int) -> float:
    return (step - warmup) / max(1, total - warmup)


def _cosine(step: int, *, warmup: int, total: int, num_cycles: float, min_lr_rate: float = 0.0) -> float:
    if step < warmup:
        return _warmup(step, warmup)
    factor = 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * _progress(step, warmup, total)))
    return max(0.0, factor * (1 - min_lr_rate) + min_lr_rate)


def _cosine_hard_restarts(step: int, *, warmup: int, total: int, num_cycles: int) -> float:
    if step < warmup:
        return _warmup(step, warmup)
    progress = _progress(step, warmup, total)
    if progress >= 1.0:
        return 0.0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((num_cycles * progress) % 1.0))))


def _polynomial(step: int, *, warmup: int, total: int, lr_end: float, power: float, lr_init: float) -> float:
    if step < warmup:
        return _warmup(step, warmup)
    if step > total:
        return lr_end / lr_init  # LambdaLR multiplies by lr_init
    remaining = 1 - (step - warmup) / (total - warmup)
    return ((lr_init - lr_end) * remaining**power + lr_end) / lr_init


def _inverse_sqrt(step: int, *, warmup: int, timescale: int) -> float:
    if step < warmup:
        return _warmup(step, warmup)
    return 1.0 / math.sqrt((step + timescale - warmup) / timescale)


def _cosine_warmup_lr_rate(step: int, *, warmup: int, total: int, num_cycles: float, min_lr_rate: float,
                           warmup_lr_rate: float | None) -> float:
    # This schedule counts from step + 1 (the rate used by the first update is already > 0).
    if step < warmup:
        if warmup_lr_rate is None:
            return (step + 1.0) / max(1.0, warmup)
        return warmup_lr_rate + (1.0 - warmup_lr_rate) * step / max(1, warmup - 1)
    progress = (step - warmup + 1.0) / max(1.0, total - warmup)
    factor = 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * progress))
    return max(0.0, factor * (1 - min_lr_rate) + min_lr_rate)


_SHAPES = {
    "linear": lambda p: p,
    "cosine": lambda p: 0.5 * (1.0 - math.cos(math.pi * p)),
    "1-sqrt": lambda p: 1.0 - math.sqrt(1.0 - p),
}


def _wsd(step: int, *, warmup: int, stable: int, decay: int, warmup_type: str, decay_type: str,
         min_lr_ratio: float, num_cycles: float) -> float:
    if step < warmup:
        factor = _SHAPES[warmup_type](step / max(1, warmup))
    elif step < warmup + stable:
        return 1.0
    elif step < warmup + stable + decay:
        progress = (step - warmup - stable) / max(1, decay)
        if decay_type == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * progress))
        else:  # decay mirrors the warm-up shape: linear 1-p, 1-sqrt 1-sqrt(p)
            factor = 1.0 - progress if decay_type == "linear" else 1.0 - math.sqrt(progress)
    else:
        return min_lr_ratio
    return max(0.0, factor * (1.0 - min_lr_ratio) + min_lr_ratio)


# --------------------------------------------------------------------------- public schedules
def get_constant_schedule(optimizer: Optimizer, last_epoch: int = -1) -> LambdaLR:
    """The optimizer's learning rate, unchanged."""
    return LambdaLR(optimizer, _constant, last_epoch=last_epoch)


def get_constant_schedule_with_warmup(optimizer: Optimizer, num_warmup_steps: int, last_epoch: int = -1) -> LambdaLR:
    """Linear warm-up from 0 over ``num_warmup_steps``, then constant."""
    return LambdaLR(optimizer, partial(_constant_warmup, warmup=num_warmup_steps), last_epoch)


def get_linear_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, last_epoch=-1) -> LambdaLR:
    """Linear warm-up, then linear decay to 0 at ``num_training_steps``."""
    return LambdaLR(optimizer, partial(_linear, warmup=num_warmup_steps, total=num_training_steps), last_epoch)


def get_cosine_schedule_with_warmup(optimizer: Optimizer, num_warmup_steps: int, num_training_steps: int,
                                    num_cycles: float = 0.5, last_epoch: int = -1) -> LambdaLR:
    """Linear warm-up, then a cosine decay (``num_cycles=0.5``: half a wave, down to 0)."""
    fn = partial(_cosine, warmup=num_warmup_steps, total=num_training_steps, num_cycles=num_cycles)
    return LambdaLR(optimizer, fn, last_epoch)


def get_cosine_with_hard_restarts_schedule_with_warmup(optimizer: Optimizer, num_warmup_steps: int,
                                                       num_training_steps: int, num_cycles: int = 1,
                                                       last_epoch: int = -1) -> LambdaLR:
    """Linear warm-up, then ``num_cycles`` cosine decays, each restarting at the full rate."""
    fn = partial(_cosine_hard_restarts, warmup=num_warmup_steps, total=num_training_steps, num_cycles=num_cycles)
    return LambdaLR(optimizer, fn, last_epoch)


def get_polynomial_decay_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, lr_end=1e-7,
                                              power=1.0, last_epoch=-1) -> LambdaLR:
    """Linear warm-up, then ``(lr - lr_end) * remaining**power + lr_end`` down to ``lr_end``."""
    lr_init = optimizer.defaults["lr"]
    if not lr_init > lr_end:
        raise ConfigError(f"lr_end ({lr_end}) must be smaller than the optimizer's initial lr ({lr_init}).")
    fn = partial(_polynomial, warmup=num_warmup_steps, total=num_training_steps, lr_end=lr_end, power=power,
                 lr_init=lr_init)
    return LambdaLR(optimizer, fn, last_epoch)


def get_inverse_sqrt_schedule(optimizer: Optimizer, num_warmup_steps: int, timescale: int | None = None,
                              last_epoch: int = -1) -> LambdaLR:
    """Linear warm-up, then ``1 / sqrt((step + timescale - warmup) / timescale)``."""
    if timescale is None:
        timescale = num_warmup_steps or 10_000
    return LambdaLR(optimizer, partial(_inverse_sqrt, warmup=num_warmup_steps, timescale=timescale), last_epoch)


def _min_lr_rate(optimizer, min_lr, min_lr_rate) -> float:
    if min_lr is not None and min_lr_rate is not None:
        raise ConfigError("Give only one of min_lr and min_lr_rate (in lr_scheduler_kwargs).")
    if min_lr is not None:
        return min_lr / optimizer.defaults["lr"]
    if min_lr_rate is None:
        raise ConfigError("This schedule needs min_lr or min_lr_rate: pass lr_scheduler_kwargs={'min_lr': ...}.")
    return min_lr_rate


def get_cosine_with_min_lr_schedule_with_warmup(optimizer: Optimizer, num_warmup_steps: int, num_training_steps: int,
                                                num_cycles: float = 0.5, last_epoch: int = -1,
                                                min_lr: float | None = None, min_lr_rate: float | None = None):
    """Cosine decay to ``min_lr`` (or ``min_lr_rate`` × lr) instead of 0."""
    fn = partial(_cosine, warmup=num_warmup_steps, total=num_training_steps, num_cycles=num_cycles,
                 min_lr_rate=_min_lr_rate(optimizer, min_lr, min_lr_rate))
    return LambdaLR(optimizer, fn, last_epoch)


def get_cosine_with_min_lr_schedule_with_warmup_lr_rate(optimizer: Optimizer, num_warmup_steps: int,
                                                        num_training_steps: int, num_cycles: float = 0.5,
                                                        last_epoch: int = -1, min_lr: float | None = None,
                                                        min_lr_rate: float | None = None,
                                                        warmup_lr_rate: float | None = None):
    """Like the min-lr cosine, with warm-up starting at ``warmup_lr_rate`` (default 1/warmup)."""
    fn = partial(_cosine_warmup_lr_rate, warmup=num_warmup_steps, total=num_training_steps, num_cycles=num_cycles,
                 min_lr_rate=_min_lr_rate(optimizer, min_lr, min_lr_rate), warmup_lr_rate=warmup_lr_rate)
    return LambdaLR(optimizer, fn, last_epoch)


def get_wsd_schedule(optimizer: Optimizer, num_warmup_steps: int, num_decay_steps: int,
                     num_training_steps: int | None = None, num_stable_steps: int | None = None,
                     warmup_type: str = "linear", decay_type: str = "cosine", min_lr_ratio: float = 0,
                     num_cycles: float = 0.5, last_epoch: int = -1) -> LambdaLR:
    """Warm-up, stable, decay (``warmup_stable_decay``); the stable part defaults to what is left."""
    if num_training_steps is None and num_stable_steps is None:
        raise ConfigError("warmup_stable_decay needs num_training_steps or num_stable_steps.")
    for name, value in (("warmup_type", warmup_type), ("decay_type", decay_type)):
        if value not in _SHAPES:
            raise ConfigError(f"{name}={value!r}; expected one of {sorted(_SHAPES)}.")
    if num_stable_steps is None:
        num_stable_steps = num_training_steps - num_warmup_steps - num_decay_steps
    elif num_training_steps is not None:
        warnings.warn("get_wsd_schedule: both num_training_steps and num_stable_steps given; "
                      "num_stable_steps wins.", stacklevel=2)
    fn = partial(_wsd, warmup=num_warmup_steps, stable=num_stable_steps, decay=num_decay_steps,
                 warmup_type=warmup_type, decay_type=decay_type, min_lr_ratio=min_lr_ratio, num_cycles=num_cycles)
    return LambdaLR(optimizer, fn, last_epoch)


def get_reduce_on_plateau_schedule(optimizer: Optimizer, **kwargs) -> ReduceLROnPlateau:
    """torch's ``ReduceLROnPlateau`` (the Trainer steps it with the evaluation metric)."""
    return ReduceLROnPlateau(optimizer, **kwargs)


TYPE_TO_SCHEDULER_FUNCTION = {
    SchedulerType.LINEAR: get_linear_schedule_with_warmup,
    SchedulerType.COSINE: get_cosine_schedule_with_warmup,
    SchedulerType.COSINE_WITH_RESTARTS: get_cosine_with_hard_restarts_schedule_with_warmup,
    SchedulerType.POLYNOMIAL: get_polynomial_decay_schedule_with_warmup,
    SchedulerType.CONSTANT: get_constant_schedule,
    SchedulerType.CONSTANT_WITH_WARMUP: get_constant_schedule_with_warmup,
    SchedulerType.INVERSE_SQRT: get_inverse_sqrt_schedule,
    SchedulerType.REDUCE_ON_PLATEAU: get_reduce_on_plateau_schedule,
    SchedulerType.COSINE_WITH_MIN_LR: get_cosine_with_min_lr_schedule_with_warmup,
    SchedulerType.COSINE_WARMUP_WITH_MIN_LR: get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
    SchedulerType.WARMUP_STABLE_DECAY: get_wsd_schedule,
}


def scheduler_type(name) -> SchedulerType:
    try:
        return SchedulerType(name)
    except ValueError:
        names = ", ".join(repr(t.value) for t in SchedulerType)
        raise ConfigError(f"lr_scheduler_type={name!r} is not a known schedule; use one of {names}.") from None


def get_scheduler(name, optimizer: Optimizer, num_warmup_steps: int | None = None,
                  num_training_steps: int | None = None, scheduler_specific_kwargs: dict | None = None):
    """Any schedule above from its name (``SchedulerType`` value)."""
    kind = scheduler_type(name)
    fn = TYPE_TO_SCHEDULER_FUNCTION[kind]
    extra = dict(scheduler_specific_kwargs or {})
    if kind == SchedulerType.CONSTANT:
        return fn(optimizer)
    if kind == SchedulerType.REDUCE_ON_PLATEAU:
        return fn(optimizer, **extra)
    if num_warmup_steps is None:
        raise ConfigError(f"The {kind.value!r} schedule needs num_warmup_steps.")
    if kind == SchedulerType.CONSTANT_WITH_WARMUP:
        return fn(optimizer, num_warmup_steps=num_warmup_steps)
    if kind == SchedulerType.INVERSE_SQRT:
        return fn(optimizer, num_warmup_steps=num_warmup_steps, **extra)
    if num_training_steps is None and kind != SchedulerType.WARMUP_STABLE_DECAY:
        raise ConfigError(f"The {kind.value!r} schedule needs num_training_steps.")
    return fn(optimizer, num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps, **extra)


# --------------------------------------------------------------------------- Adafactor
class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern 2018, arXiv:1804.04235): second moments of matrices kept as a row and
    a column vector (sub-linear memory), update clipping, optional relative step size.

    With ``relative_step=True`` (default) the step size is ``min(1e-2, 1/sqrt(step))`` (or
    ``1e-6 * step`` with ``warmup_init``) and ``lr`` must be None; for an external schedule use
    ``Adafactor(params, lr=1e-3, scale_parameter=False, relative_step=False)``.
    """

    def __init__(self, params, lr=None, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8, beta1=None,
                 weight_decay=0.0, scale_parameter=True, relative_step=True, warmup_init=False):
        if lr is not None and relative_step:
            raise ConfigError("Adafactor: lr=... and relative_step=True exclude each other; "
                              "pass relative_step=False (and scale_parameter=False) to use a fixed lr.")
        if warmup_init and not relative_step:
            raise ConfigError("Adafactor: warmup_init=True needs relative_step=True.")
        defaults = dict(lr=lr, eps=eps, clip_threshold=clip_threshold, decay_rate=decay_rate, beta1=beta1,
                        weight_decay=weight_decay, scale_parameter=scale_parameter, relative_step=relative_step,
                        warmup_init=warmup_init)
        super().__init__(params, defaults)

    @staticmethod
    def _get_lr(group: dict, state: dict) -> float:
        step_size = group["lr"]
        if group["relative_step"]:
            ceiling = 1e-6 * state["step"] if group["warmup_init"] else 1e-2
            step_size = min(ceiling, 1.0 / math.sqrt(state["step"]))
        scale = max(group["eps"][1], state["RMS"]) if group["scale_parameter"] else 1.0
        return scale * step_size

    @staticmethod
    def _rms(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.norm(2) / (tensor.numel() ** 0.5)

    @staticmethod
    def _approx_sq_grad(row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        # Rank-1 reconstruction of 1/sqrt(v): rows normalised by their mean, times columns.
        row_factor = (row / row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
        return row_factor * col.unsqueeze(-2).rsqrt()

    def _init_state(self, state: dict, grad: torch.Tensor, factored: bool, first_moment: bool) -> None:
        state["step"] = 0
        if first_moment:
            state["exp_avg"] = torch.zeros_like(grad)
        if factored:
            state["exp_avg_sq_row"] = torch.zeros(grad.shape[:-1]).to(grad)
            state["exp_avg_sq_col"] = torch.zeros(grad.shape[:-2] + grad.shape[-1:]).to(grad)
        else:
            state["exp_avg_sq"] = torch.zeros_like(grad)
        state["RMS"] = 0

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, group)
        return loss

    def _update(self, p: torch.Tensor, group: dict) -> None:
        if p.grad.is_sparse:
            raise ConfigError("Adafactor does not support sparse gradients.")
        grad = p.grad.float() if p.grad.dtype in (torch.float16, torch.bfloat16) else p.grad
        state = self.state[p]
        factored, first_moment = grad.dim() >= 2, group["beta1"] is not None
        if not state:
            self._init_state(state, grad, factored, first_moment)
        else:  # moments follow the gradient's dtype/device (e.g. after loading a checkpoint)
            for key in ("exp_avg", "exp_avg_sq_row", "exp_avg_sq_col", "exp_avg_sq"):
                if key in state:
                    state[key] = state[key].to(grad)
        low_precision = p.dtype in (torch.float16, torch.bfloat16)
        weights = p.float() if low_precision else p
        state["step"] += 1
        state["RMS"] = self._rms(weights)
        lr = self._get_lr(group, state)
        beta2t = 1.0 - math.pow(state["step"], group["decay_rate"])
        update = grad**2 + group["eps"][0]
        if factored:
            state["exp_avg_sq_row"].mul_(beta2t).add_(update.mean(dim=-1), alpha=1.0 - beta2t)
            state["exp_avg_sq_col"].mul_(beta2t).add_(update.mean(dim=-2), alpha=1.0 - beta2t)
            update = self._approx_sq_grad(state["exp_avg_sq_row"], state["exp_avg_sq_col"]).mul_(grad)
        else:
            state["exp_avg_sq"].mul_(beta2t).add_(update, alpha=1.0 - beta2t)
            update = state["exp_avg_sq"].rsqrt().mul_(grad)
        update.div_((self._rms(update) / group["clip_threshold"]).clamp_(min=1.0)).mul_(lr)
        if first_moment:
            update = state["exp_avg"].mul_(group["beta1"]).add_(update, alpha=1 - group["beta1"])
        if group["weight_decay"] != 0:
            weights.add_(weights, alpha=-group["weight_decay"] * lr)
        weights.add_(-update)
        if low_precision:
            p.copy_(weights)


class AdafactorSchedule(LambdaLR):
    """A stand-in schedule for ``Adafactor(lr=None)``: reports the step size Adafactor computed
    (``initial_lr`` before the first step), so the Trainer can log a learning rate."""

    def __init__(self, optimizer: Adafactor, initial_lr: float = 0.0):
        for group in optimizer.param_groups:
            group["initial_lr"] = initial_lr
        super().__init__(optimizer, partial(_initial, initial_lr))
        for group in optimizer.param_groups:
            del group["initial_lr"]

    def get_lr(self):
        opt = self.optimizer
        lrs = [opt._get_lr(g, opt.state[g["params"][0]]) for g in opt.param_groups if g["params"][0].grad is not None]
        return lrs or self.base_lrs


def _initial(value: float, step: int) -> float:
    return value


def get_adafactor_schedule(optimizer: Adafactor, initial_lr: float = 0.0) -> AdafactorSchedule:
    return AdafactorSchedule(optimizer, initial_lr)


# --------------------------------------------------------------------------- optim= choices
OPTIMIZERS = ("adamw_torch", "adamw_torch_fused", "adafactor", "sgd", "adagrad", "rmsprop")


def _parse_optim_args(text: str | None) -> dict[str, str]:
    """``"momentum=0.9,nesterov=True"`` → ``{"momentum": "0.9", "nesterov": "True"}``."""
    if not text:
        return {}
    pairs = [item.split("=", 1) for item in text.replace(" ", "").split(",") if item]
    bad = [p[0] for p in pairs if len(p) != 2]
    if bad:
        raise ConfigError(f"optim_args={text!r}: expected 'key=value' pairs separated by commas.")
    return dict(pairs)


def _floats(extra: dict[str, str], keys: tuple[str, ...]) -> dict:
    return {k: float(extra[k]) for k in keys if k in extra}


def _flags(extra: dict[str, str], keys: tuple[str, ...]) -> dict:
    return {k: extra[k].lower() in ("true", "1", "yes") for k in keys if k in extra}


def get_optimizer_cls_and_kwargs(args) -> tuple[type, dict]:
    """The optimizer class and keyword arguments ``TrainingArguments.optim`` (+ ``optim_args``) name."""
    name = str(args.optim).lower().replace("optimizernames.", "")
    extra = _parse_optim_args(getattr(args, "optim_args", None))
    kwargs: dict = {"lr": args.learning_rate}
    adam = {"betas": (args.adam_beta1, args.adam_beta2), "eps": args.adam_epsilon}
    if name in ("adamw_torch", "adamw_torch_fused"):
        return torch.optim.AdamW, {**kwargs, **adam, **({"fused": True} if name == "adamw_torch_fused" else {})}
    if name == "adafactor":
        return Adafactor, {**kwargs, "scale_parameter": False, "relative_step": False}
    if name == "sgd":
        numbers = _floats(extra, ("momentum", "dampening", "weight_decay"))
        return torch.optim.SGD, {**kwargs, **numbers, **_flags(extra, ("nesterov",))}
    if name == "adagrad":
        return torch.optim.Adagrad, {**kwargs, **_floats(extra, ("lr_decay", "weight_decay", "eps"))}
    if name == "rmsprop":
        numbers = _floats(extra, ("momentum", "alpha", "eps", "weight_decay"))
        return torch.optim.RMSprop, {**kwargs, **numbers, **_flags(extra, ("centered",))}
    raise ConfigError(f"optim={args.optim!r} is not available in polymodal; use one of {OPTIMIZERS} "
                      "(or pass Trainer(optimizers=(your_optimizer, your_scheduler))).")
