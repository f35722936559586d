"""``ModelOutput``: a dataclass that also reads like a dict and a tuple.

``out.logits``, ``out["logits"]`` and ``out[0]`` all work. As in Transformers, fields that are
``None`` are left out of the key/tuple views, so ``out[0]`` is the loss only when a loss was
computed.
"""

from __future__ import annotations

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
        return tuple(v for v in (getattr(self, f.name) for f in fields(self)) if v is not None)

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
