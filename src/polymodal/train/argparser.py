"""``HfArgumentParser``: an ``argparse`` parser built from dataclasses (``TrainingArguments`` and yours).

Each field becomes ``--field_name`` (also ``--field-name``) with the field's type, default and
``metadata`` (``help``, ``choices``, ``aliases``…). Booleans take ``--flag``, ``--flag true/false``
and, when they default to True, ``--no_flag``. Lists take several values. Values can also come from a
dict, a JSON file, a YAML file or a ``<script>.args`` file, and the result is one instance per dataclass.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import types
import typing
from argparse import ArgumentDefaultsHelpFormatter, ArgumentParser, ArgumentTypeError
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_type_hints

from ..core.errors import ConfigError

_TRUE, _FALSE = ("yes", "true", "t", "y", "1"), ("no", "false", "f", "n", "0")


def string_to_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ArgumentTypeError(f"expected a truth value (yes/no, true/false, t/f, y/n, 1/0), got {value!r}")


def make_choice_type_function(choices: Iterable) -> typing.Callable[[str], Any]:
    """Map the command-line text back to the choice it spells (so Enum members and ints round-trip)."""
    by_text = {str(choice): choice for choice in choices}
    return lambda text: by_text.get(text, text)


def HfArg(*, aliases: str | list[str] | None = None, help: str | None = None, default=dataclasses.MISSING,
          default_factory=dataclasses.MISSING, metadata: dict | None = None, **kwargs) -> dataclasses.Field:
    """``dataclasses.field`` with ``help`` and ``aliases`` stored where the parser reads them."""
    metadata = dict(metadata or {})
    if aliases is not None:
        metadata["aliases"] = aliases
    if help is not None:
        metadata["help"] = help
    return dataclasses.field(metadata=metadata, default=default, default_factory=default_factory, **kwargs)


def _is_union(tp) -> bool:
    return typing.get_origin(tp) is Union or isinstance(tp, types.UnionType)


def _plain_type(name: str, tp):
    """``X | None`` → X; a union holding ``str`` → str (the command line gives text); ``Any`` → str."""
    if tp is Any:
        return str
    if not _is_union(tp):
        return tp
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(args) == 1:
        return args[0]
    if str in args:
        return str
    raise ConfigError(f"Field {name!r}: a command-line argument has one type; got {tp}. Use Optional[X] or add str.")


def _optional(tp) -> bool:
    return _is_union(tp) and type(None) in typing.get_args(tp)


def _default_kwargs(field: dataclasses.Field) -> dict:
    if field.default is not dataclasses.MISSING:
        return {"default": field.default}
    if field.default_factory is not dataclasses.MISSING:
        return {"default": field.default_factory()}
    return {"required": True}


def _json_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArgumentTypeError(f"expected a JSON object, got {text!r} ({exc.msg})") from None


class HfArgumentParser(ArgumentParser):
    """``HfArgumentParser(TrainingArguments)`` or ``HfArgumentParser((ModelArguments, TrainingArguments))``."""

    def __init__(self, dataclass_types=None, **kwargs):
        kwargs.setdefault("formatter_class", ArgumentDefaultsHelpFormatter)
        super().__init__(**kwargs)
        if dataclass_types is None:
            dataclass_types = []
        elif dataclasses.is_dataclass(dataclass_types):
            dataclass_types = [dataclass_types]
        self.dataclass_types = list(dataclass_types)
        for dtype in self.dataclass_types:
            self._add_dataclass_arguments(dtype)

    def _add_dataclass_arguments(self, dtype) -> None:
        if not (isinstance(dtype, type) and dataclasses.is_dataclass(dtype)):
            raise ConfigError(f"HfArgumentParser takes dataclass types; got {dtype!r}.")
        group = self.add_argument_group(dtype._argument_group_name) if hasattr(dtype, "_argument_group_name") else self
        try:
            hints = get_type_hints(dtype)
        except NameError as exc:
            raise ConfigError(f"Cannot resolve the field types of {dtype.__name__} ({exc}): declare the dataclass "
                              "and the types it uses at module level.") from None
        for field in dataclasses.fields(dtype):
            if field.init:
                self._add_field(group, field, hints[field.name])

    @staticmethod
    def _add_field(parser, field: dataclasses.Field, annotation) -> None:
        options = [f"--{field.name}"] + ([f"--{field.name.replace('_', '-')}"] if "_" in field.name else [])
        kwargs = dict(field.metadata)
        aliases = kwargs.pop("aliases", [])
        aliases = [aliases] if isinstance(aliases, str) else list(aliases)
        tp = _plain_type(field.name, annotation)
        origin = typing.get_origin(tp) or tp
        no_flag = None
        if origin is Literal or (isinstance(tp, type) and issubclass(tp, Enum)):
            choices = list(typing.get_args(tp)) if origin is Literal else [member.value for member in tp]
            kwargs.update(choices=choices, type=make_choice_type_function(choices), **_default_kwargs(field))
        elif tp is bool:
            no_flag = dict(kwargs)
            kwargs["type"] = string_to_bool
            if not _optional(annotation) or field.default not in (None, dataclasses.MISSING):
                # "--flag" alone means True; "--flag false" is accepted too.
                default = False if field.default is dataclasses.MISSING else field.default
                kwargs.update(default=default, nargs="?", const=True)
        elif isinstance(origin, type) and issubclass(origin, list):
            args = typing.get_args(tp)
            kwargs.update(type=args[0] if args else str, nargs="+", **_default_kwargs(field))
        elif isinstance(origin, type) and issubclass(origin, dict):
            kwargs.update(type=_json_value, **_default_kwargs(field))
        else:
            kwargs.update(type=tp, **_default_kwargs(field))
        parser.add_argument(*options, *aliases, **kwargs)
        if field.default is True and no_flag is not None:
            no_flag["default"] = False
            parser.add_argument(f"--no_{field.name}", f"--no-{field.name.replace('_', '-')}", action="store_false",
                                dest=field.name, **no_flag)

    # ------------------------------------------------------------------ parsing
    def parse_args_into_dataclasses(self, args=None, return_remaining_strings: bool = False,
                                    look_for_args_file: bool = True, args_filename=None, args_file_flag=None):
        """Parse the command line (``sys.argv[1:]`` by default) into one instance per dataclass.

        Arguments from ``<script>.args`` (``look_for_args_file``), ``args_filename`` and files named by
        ``args_file_flag`` come first, so the command line overrides them. Extra parser arguments come
        back as a ``Namespace``; unknown strings are an error unless ``return_remaining_strings``.
        """
        args = self._with_args_files(args, look_for_args_file, args_filename, args_file_flag)
        namespace, remaining = self.parse_known_args(args=args)
        outputs = []
        for dtype in self.dataclass_types:
            keys = {f.name for f in dataclasses.fields(dtype) if f.init}
            values = {k: v for k, v in vars(namespace).items() if k in keys}
            for key in keys:
                delattr(namespace, key)
            outputs.append(dtype(**values))
        if vars(namespace):
            outputs.append(namespace)
        if return_remaining_strings:
            return (*outputs, remaining)
        if remaining:
            raise ConfigError(f"Some specified arguments are not used by the HfArgumentParser: {remaining}")
        return tuple(outputs)

    def _with_args_files(self, args, look_for_args_file, args_filename, args_file_flag) -> list[str]:
        files: list[Path] = []
        if args_filename:
            files.append(Path(args_filename))
        elif look_for_args_file and sys.argv and sys.argv[0]:
            files.append(Path(sys.argv[0]).with_suffix(".args"))
        if args_file_flag:
            flag_parser = ArgumentParser()
            flag_parser.add_argument(args_file_flag, type=str, action="append")
            found, args = flag_parser.parse_known_args(args=args)
            files.extend(Path(p) for p in (vars(found).get(args_file_flag.lstrip("-")) or []))
        from_files = [word for path in files if path.is_file() for word in path.read_text().split()]
        return from_files + (list(args) if args is not None else sys.argv[1:])

    def parse_dict(self, args: dict[str, Any], allow_extra_keys: bool = False) -> tuple:
        """One instance per dataclass from a dict (no argparse involved); unknown keys are an error
        unless ``allow_extra_keys``."""
        unused = set(args)
        outputs = []
        for dtype in self.dataclass_types:
            keys = {f.name for f in dataclasses.fields(dtype) if f.init}
            values = {k: v for k, v in args.items() if k in keys}
            unused -= set(values)
            outputs.append(dtype(**values))
        if unused and not allow_extra_keys:
            raise ConfigError(f"Some keys are not used by the HfArgumentParser: {sorted(unused)}")
        return tuple(outputs)

    def parse_json_file(self, json_file: str | os.PathLike, allow_extra_keys: bool = False) -> tuple:
        data = json.loads(Path(json_file).read_text(encoding="utf-8"))
        return self.parse_dict(data, allow_extra_keys=allow_extra_keys)

    def parse_yaml_file(self, yaml_file: str | os.PathLike, allow_extra_keys: bool = False) -> tuple:
        try:
            import yaml
        except ImportError:
            raise ConfigError("parse_yaml_file needs PyYAML: pip install pyyaml.") from None
        return self.parse_dict(yaml.safe_load(Path(yaml_file).read_text(encoding="utf-8")),
                               allow_extra_keys=allow_extra_keys)
