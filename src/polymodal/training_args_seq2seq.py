"""``transformers.training_args_seq2seq``'s import path. The code is in :mod:`polymodal.train.trainer_seq2seq`."""

from .train.trainer_seq2seq import Seq2SeqTrainingArguments

__all__ = ["Seq2SeqTrainingArguments"]
