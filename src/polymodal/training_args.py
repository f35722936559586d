"""``transformers.training_args``' import path. The code is in :mod:`polymodal.train.arguments`."""

from .train.arguments import TrainingArguments

__all__ = ["TrainingArguments"]
