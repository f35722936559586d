"""``ModelOutput``: a dataclass that also reads like a dict and a tuple.

``out.logits``, ``out["logits"]`` and ``out[0]`` all work. As in Transformers, fields that are
``None`` are left out of the key/tuple views, so ``out[0]`` is the loss only when a loss was
computed.
"""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Any


class ModelOutput(OrderedDict):
    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                super().__setitem__(f.name, value)

    def __getitem__(self, key):
        if isinstance(key, str):
            return super().__getitem__(key)
        return self.to_tuple()[key]

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        object.__setattr__(self, key, value)

    def __setattr__(self, name, value):
        if name in self.keys() or value is not None:
            super().__setitem__(name, value)
        object.__setattr__(self, name, value)

    def to_tuple(self) -> tuple[Any, ...]:
        # Nested outputs (a contrastive model's tower outputs) become tuples too, as Transformers does.
        values = (getattr(self, f.name) for f in fields(self))
        return tuple(v.to_tuple() if isinstance(v, ModelOutput) else v for v in values if v is not None)

    def __reduce__(self):
        return type(self), tuple(getattr(self, f.name) for f in fields(self))


def output_dataclass(cls):
    """Decorator for output classes: a dataclass whose fields all default to None."""
    for name in cls.__dict__.get("__annotations__", {}):
        if name not in cls.__dict__:
            setattr(cls, name, None)
    return dataclass(cls, eq=False)


@output_dataclass
class BaseModelOutput(ModelOutput):
    last_hidden_state: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class BaseModelOutputWithPooling(ModelOutput):
    last_hidden_state: Any = None
    pooler_output: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class SequenceClassifierOutput(ModelOutput):
    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class CausalLMOutput(ModelOutput):
    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


# --------------------------------------------------------------------------- output switches, once
_SWITCHES = ("output_attentions", "output_hidden_states", "return_dict")


def model_forward(forward):
    """Decorator for a model's ``forward``: the output switches are handled here, once.

    ``output_attentions`` / ``output_hidden_states`` / ``return_dict`` left as ``None`` (by
    position or by keyword) take the config's value, as in Transformers. The body always builds
    and returns a :class:`ModelOutput`; when ``return_dict`` is false the caller gets
    ``out.to_tuple()`` instead. Positions are looked up once, at decoration time, so the wrapper
    costs a few attribute reads per call.
    """
    names = list(inspect.signature(forward).parameters)[1:]  # without self
    slots = {name: names.index(name) for name in _SWITCHES if name in names}

    @functools.wraps(forward)
    def wrapper(self, *args, **kwargs):
        config = self.config
        if len(args) > min(slots.values(), default=len(names)):
            args = list(args)
        values = {}
        for name, index in slots.items():
            if index < len(args):
                if args[index] is None:
                    args[index] = getattr(config, name, name == "return_dict")
                values[name] = args[index]
            else:
                value = kwargs.get(name)
                if value is None:
                    value = kwargs[name] = getattr(config, name, name == "return_dict")
                values[name] = value
        out = forward(self, *args, **kwargs)
        if not values.get("return_dict", True) and isinstance(out, ModelOutput):
            return out.to_tuple()
        return out

    return wrapper


def resolve_output_flags(config, output_attentions=None, output_hidden_states=None, return_dict=None):
    """The three switches with ``None`` filled from ``config`` (for code that is not a ``forward``)."""
    return (
        config.output_attentions if output_attentions is None else output_attentions,
        config.output_hidden_states if output_hidden_states is None else output_hidden_states,
        config.return_dict if return_dict is None else return_dict,
    )
