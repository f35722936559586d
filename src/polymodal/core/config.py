"""``PretrainedConfig``: model hyper-parameters read from and written to ``config.json``.

Subclasses declare their fields as annotated class attributes with Transformers' names and
defaults, like a dataclass::

    class Wav2Vec2Config(PretrainedConfig):
        model_type = "wav2vec2"
        hidden_size: int = 768

Keys a class does not declare are kept as attributes and written back on save, so a
load/save round trip never loses information. Nested configs (CLIP's ``text_config``) are
named in ``sub_configs`` and become config objects.
"""

from __future__ import annotations

import contextvars
import copy
import json
import os
import warnings
from pathlib import Path
from typing import Any, ClassVar

from .errors import ConfigError
from .hub import PushToHubMixin, resolve_file
from .io import atomic_write_text

CONFIG_NAME = "config.json"

# Keys Transformers keeps on every config; written by to_dict() so its loader sees the usual shape.
_BASE_DEFAULTS: dict[str, Any] = {
    "architectures": None,
    "id2label": None,
    "label2id": None,
    "problem_type": None,
    "return_dict": True,
    "output_hidden_states": False,
    "output_attentions": False,
    "dtype": None,
    "pad_token_id": None,
    "bos_token_id": None,
    "eos_token_id": None,
    "tie_word_embeddings": True,
    "is_encoder_decoder": False,
}

_PROBLEM_TYPES = (None, "regression", "single_label_classification", "multi_label_classification")

# Keys any Transformers config may carry (4.x base attributes and generation settings): passing one
# in code is not a typo even when the family does not use it.
_KNOWN_KEYS = frozenset("""
    use_cache torchscript pruned_heads tie_encoder_decoder is_decoder add_cross_attention tokenizer_class prefix
    sep_token_id decoder_start_token_id task_specific_params finetuning_task cross_attention_hidden_size
    chunk_size_feed_forward use_bfloat16 tf_legacy_loss output_scores return_dict_in_generate max_length
    min_length do_sample early_stopping temperature top_k top_p typical_p repetition_penalty length_penalty
    no_repeat_ngram_size encoder_no_repeat_ngram_size bad_words_ids num_return_sequences diversity_penalty
    num_beams num_beam_groups forced_bos_token_id forced_eos_token_id remove_invalid_values
    exponential_decay_length_penalty suppress_tokens begin_suppress_tokens attn_implementation
    _attn_implementation name_or_path _name_or_path transformers_version _commit_hash num_labels model_type
    rope_theta rope_scaling rope_parameters num_hidden_layers layer_types sliding_window
""".split())
# Configs read from a file keep unknown keys silently (they round-trip); only code gets the typo warning.
_FROM_FILE: contextvars.ContextVar[bool] = contextvars.ContextVar("polymodal_config_from_file", default=False)

# Size fields: an int that must be positive (a count named num_* may be 0) and below a sane limit,
# so a typo like hidden_size=10**9 fails here, naming the field, instead of allocating 32 GB.
_SIZE_LIMIT = 2 ** 20
_LARGE_LIMIT = 2 ** 26  # vocabularies and position tables
_LARGE_FIELDS = ("vocab_size", "max_position_embeddings", "max_source_positions", "max_target_positions")
_ZERO_OK = ("num_hidden_layers", "num_adapter_layers", "num_labels", "fusion_num_hidden_layers")


def _is_size_field(name: str) -> bool:
    return name.endswith(("_size", "_dim", "_stride", "_kernel", "_heads")) or name.startswith("num_") \
        or name in _LARGE_FIELDS or name in ("conv_dim", "conv_kernel", "conv_stride", "depths")


def _mutable_default(value):
    return copy.deepcopy(value) if isinstance(value, (list, dict, set)) else value


class PretrainedConfig(PushToHubMixin):
    model_type: ClassVar[str] = ""
    # name -> config class of nested configs (e.g. {"text_config": CLIPTextConfig})
    sub_configs: ClassVar[dict[str, type]] = {}
    # Transformers' aliases (e.g. {"num_attention_heads": "encoder_attention_heads"})
    attribute_map: ClassVar[dict[str, str]] = {}

    def __init__(self, **kwargs):
        kwargs = self._rename_legacy(dict(kwargs))
        for name, default in self.field_defaults().items():
            value = kwargs.pop(name, default)
            object.__setattr__(self, name, _mutable_default(value))
        num_labels = kwargs.pop("num_labels", None)
        self._name_or_path = str(kwargs.pop("name_or_path", kwargs.pop("_name_or_path", "")))
        kwargs.pop("transformers_version", None)
        kwargs.pop("_commit_hash", None)
        for key, value in kwargs.items():  # unknown keys are kept
            setattr(self, key, value)
        self._warn_unknown(kwargs)
        self._init_sub_configs()
        self._init_labels(num_labels)
        if self.problem_type not in _PROBLEM_TYPES:
            raise ConfigError(f"problem_type={self.problem_type!r} is not one of {_PROBLEM_TYPES[1:]}.")
        self._validate_sizes()
        self.validate()

    def _warn_unknown(self, kwargs: dict) -> None:
        """A keyword the class does not declare, given in code, is most likely a typo (``hiden_size=``)."""
        if _FROM_FILE.get():
            return
        unknown = sorted(k for k in kwargs if k not in _KNOWN_KEYS and k not in type(self).attribute_map)
        if not unknown:
            return
        import difflib

        fields = list(self.field_defaults())
        hints = [f"{k!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(k, fields, n=1))
                 else repr(k) for k in unknown]
        warnings.warn(
            f"{type(self).__name__} got unknown keyword(s) {', '.join(hints)}; they are kept as attributes and saved, "
            "but no part of the model reads them. Check the spelling.",
            UserWarning, stacklevel=4,
        )

    def _validate_sizes(self) -> None:
        """Every declared size field (``hidden_size``, ``num_attention_heads``, ``conv_kernel`` …) is a
        positive int below a sane limit; the error names the field."""
        for name in self.field_defaults():
            if _is_size_field(name):
                _check_size(type(self).__name__, name, getattr(self, name, None))

    # ----------------------------------------------------------------- fields
    @classmethod
    def field_defaults(cls) -> dict[str, Any]:
        """Declared fields and their defaults, base class first."""
        defaults = dict(_BASE_DEFAULTS)
        for klass in reversed(cls.__mro__):
            for name in klass.__dict__.get("__annotations__", {}):
                if name.startswith("_") or name in ("model_type", "sub_configs", "attribute_map"):
                    continue
                if name in klass.__dict__:
                    defaults[name] = klass.__dict__[name]
                elif name not in defaults:
                    defaults[name] = None
        return defaults

    def validate(self) -> None:
        """Subclasses check their fields here and raise ConfigError naming the field."""

    @staticmethod
    def _rename_legacy(kwargs: dict) -> dict:
        if "torch_dtype" in kwargs:  # Transformers 4.x name of `dtype`
            legacy = kwargs.pop("torch_dtype")
            kwargs.setdefault("dtype", legacy)
        dtype = kwargs.get("dtype")
        if dtype is not None and not isinstance(dtype, str):
            kwargs["dtype"] = str(dtype).replace("torch.", "")
        return kwargs

    def _init_sub_configs(self) -> None:
        for name, klass in self.sub_configs.items():
            value = getattr(self, name, None)
            if value is None:
                value = klass()
            elif isinstance(value, dict):
                value = klass(**value)
            elif not isinstance(value, PretrainedConfig):
                raise ConfigError(f"{name} must be a dict or {klass.__name__}, got {type(value).__name__}.")
            object.__setattr__(self, name, value)

    def _init_labels(self, num_labels: int | None) -> None:
        if self.id2label is None:
            self.num_labels = num_labels if num_labels is not None else 2
            return
        self.id2label = {int(k): v for k, v in self.id2label.items()}
        if num_labels is not None and num_labels != len(self.id2label):
            raise ConfigError(
                f"num_labels={num_labels} does not match id2label, which has {len(self.id2label)} entries."
            )
        if self.label2id is None:
            self.label2id = {v: k for k, v in self.id2label.items()}
        else:
            self.label2id = {k: int(v) for k, v in self.label2id.items()}

    # ----------------------------------------------------------------- attributes
    def __getattr__(self, name):
        # Only called when normal lookup fails: follow Transformers' aliases.
        target = type(self).attribute_map.get(name)
        if target is not None:
            return getattr(self, target)
        raise AttributeError(f"{type(self).__name__} has no attribute '{name}'")

    def __setattr__(self, name, value):
        name = type(self).attribute_map.get(name, name)
        object.__setattr__(self, name, value)

    @property
    def num_labels(self) -> int:
        return len(self.id2label) if self.id2label is not None else 0

    @num_labels.setter
    def num_labels(self, n: int) -> None:
        if not isinstance(n, int) or n < 0:
            raise ConfigError(f"num_labels must be a non-negative int, got {n!r}.")
        if self.id2label is None or len(self.id2label) != n:
            self.id2label = {i: f"LABEL_{i}" for i in range(n)}
            self.label2id = {f"LABEL_{i}": i for i in range(n)}

    @property
    def name_or_path(self) -> str:
        return self._name_or_path

    @name_or_path.setter
    def name_or_path(self, value) -> None:
        self._name_or_path = str(value)

    @property
    def torch_dtype(self):
        """Transformers 4.x name of ``dtype``, as a ``torch.dtype`` (or None)."""
        if self.dtype is None:
            return None
        import torch

        return getattr(torch, self.dtype)

    @torch_dtype.setter
    def torch_dtype(self, value) -> None:
        self.dtype = None if value is None else str(value).replace("torch.", "")

    @property
    def use_return_dict(self) -> bool:
        return self.return_dict

    # ----------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if key.startswith("_"):
                continue
            if isinstance(value, PretrainedConfig):
                value = value.to_dict()
            out[key] = copy.deepcopy(value)
        if out.get("id2label") is not None:
            out["id2label"] = {str(k): v for k, v in out["id2label"].items()}
        if self.model_type:
            out["model_type"] = self.model_type
        return out

    def to_diff_dict(self) -> dict[str, Any]:
        return self.to_dict()

    def to_json_string(self, use_diff: bool = True) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, path: str | os.PathLike, use_diff: bool = True) -> None:
        atomic_write_text(path, self.to_json_string())

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs) -> None:
        if push_to_hub:
            return self._save_and_push(save_directory, **kwargs)
        directory = Path(save_directory)
        if directory.is_file():
            raise ConfigError(f"save_pretrained() needs a folder, but '{directory}' is a file.")
        directory.mkdir(parents=True, exist_ok=True)
        self.to_json_file(directory / CONFIG_NAME)

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs) -> "PretrainedConfig":
        return_unused = kwargs.pop("return_unused_kwargs", False)
        data = dict(config_dict)
        data.pop("model_type", None)
        labels = {k: kwargs.pop(k) for k in ("id2label", "label2id", "num_labels") if k in kwargs}
        overrides = [k for k in kwargs if k not in cls.field_defaults() and k not in data and k not in _KNOWN_KEYS]
        if overrides:
            warnings.warn(f"{cls.__name__}.from_pretrained/from_dict got unknown override(s) {sorted(overrides)}; "
                          "they are kept as attributes but no part of the model reads them. Check the spelling.",
                          UserWarning, stacklevel=3)
        data.update(kwargs)
        token = _FROM_FILE.set(True)
        try:
            config = cls(**data)
        finally:
            _FROM_FILE.reset(token)
        config._override_labels(**labels)
        return (config, {}) if return_unused else config

    def _override_labels(self, id2label=None, label2id=None, num_labels=None) -> None:
        """Apply label overrides given to from_pretrained (they win over the saved ones)."""
        if id2label is not None:
            self.id2label = {int(k): v for k, v in id2label.items()}
            self.label2id = {k: int(v) for k, v in label2id.items()} if label2id else {v: k for k, v in self.id2label.items()}
            if num_labels is not None and num_labels != len(self.id2label):
                raise ConfigError(f"num_labels={num_labels} does not match id2label, which has {len(self.id2label)} entries.")
        elif num_labels is not None:
            self.num_labels = num_labels
        elif label2id is not None:
            self.label2id = {k: int(v) for k, v in label2id.items()}
            self.id2label = {v: k for k, v in self.label2id.items()}

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> "PretrainedConfig":
        return cls.from_dict(read_json(path))

    @classmethod
    def get_config_dict(cls, path_or_id, **kwargs) -> tuple[dict[str, Any], dict[str, Any]]:
        hub_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _HUB_KWARGS}
        if Path(str(path_or_id)).is_file():
            path = str(path_or_id)
        else:
            path = resolve_file(path_or_id, CONFIG_NAME, **hub_kwargs)
        return read_json(path), kwargs

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> "PretrainedConfig":
        """Read ``config.json`` from a folder (or hub id); keyword arguments override its values."""
        config_dict, overrides = cls.get_config_dict(pretrained_model_name_or_path, **kwargs)
        found = config_dict.get("model_type")
        if cls.model_type and found and found != cls.model_type:
            # e.g. loading a CLIPVisionConfig from a full CLIP checkpoint: take the nested part.
            nested = cls._find_nested(config_dict)
            if nested is None:
                raise ConfigError(
                    f"{pretrained_model_name_or_path} holds a '{found}' config, not '{cls.model_type}'. "
                    "Use AutoConfig.from_pretrained() to load whatever the folder holds."
                )
            config_dict = nested
        config = cls.from_dict(config_dict, **overrides)
        config.name_or_path = str(pretrained_model_name_or_path)
        return config

    @classmethod
    def _find_nested(cls, config_dict):
        for value in config_dict.values():
            if isinstance(value, dict) and value.get("model_type") == cls.model_type:
                return value
        return None

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            setattr(self, key, value)

    def copy(self) -> "PretrainedConfig":
        return copy.deepcopy(self)

    def __eq__(self, other) -> bool:
        return isinstance(other, PretrainedConfig) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.to_json_string()}"


def _check_size(owner: str, name: str, value) -> None:
    if value is None:
        return  # unset: a family default applies
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    limit = _LARGE_LIMIT if name in _LARGE_FIELDS else _SIZE_LIMIT
    minimum = 0 if name in _ZERO_OK else 1
    for item in values:
        if isinstance(item, float) and item.is_integer():
            item = int(item)  # 768.0 from a hand-written JSON
        if isinstance(item, (str, bool, float)):
            raise ConfigError(f"{owner}: {name}={value!r} must be an int (or a list of ints), not "
                              f"{type(item).__name__}.")
        if not isinstance(item, int):
            return  # nested structures are the family's to check
        if item < minimum:
            raise ConfigError(f"{owner}: {name}={value!r} must be {'non-negative' if minimum == 0 else 'positive'}"
                              f"{' in every entry' if len(values) > 1 or isinstance(value, (list, tuple)) else ''}.")
        if item > limit:
            raise ConfigError(f"{owner}: {name}={value!r} is absurdly large (limit {limit:,}); check the value — "
                              "a model that size would not fit in memory.")


_HUB_KWARGS = ("cache_dir", "revision", "token", "local_files_only", "force_download", "proxies",
               "subfolder", "use_auth_token", "trust_remote_code")


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON object, with an error that names the file and the position of a syntax error."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"File not found: '{path}'.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"'{path}' is not UTF-8 text; expected a JSON file.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"'{path}' is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}. "
            "Fix or re-create the file (save_pretrained() writes a valid one)."
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"'{path}' must hold a JSON object, found {type(data).__name__}.")
    return data
