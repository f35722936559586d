"""``transformers.hf_argparser``'s import path. The code is in :mod:`polymodal.train.argparser`."""

from .train.argparser import HfArg, HfArgumentParser, make_choice_type_function, string_to_bool

__all__ = ["HfArg", "HfArgumentParser", "make_choice_type_function", "string_to_bool"]
