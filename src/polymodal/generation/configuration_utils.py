"""``GenerationConfig``: how ``generate()`` decodes, read from ``generation_config.json``.

Field names follow Transformers 5. As there, every field defaults to ``None`` ("not set"):
``generate()`` fills unset fields from the model's own generation config, then from
:data:`GLOBAL_DEFAULTS`. ``save_pretrained`` writes only the fields that are set.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError
from ..core.hub import resolve_file
from ..core.io import atomic_write_text

GENERATION_CONFIG_NAME = "generation_config.json"

# Applied last, to fields neither the caller nor the checkpoint set (Transformers 5's values).
GLOBAL_DEFAULTS: dict[str, Any] = {
    "max_length": 20,
    "min_length": 0,
    "do_sample": False,
    "use_cache": True,
    "early_stopping": False,
    "num_beams": 1,
    "num_beam_groups": 1,
    "temperature": 1.0,
    "top_k": 50,
    "top_p": 1.0,
    "typical_p": 1.0,
    "repetition_penalty": 1.0,
    "length_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "num_return_sequences": 1,
    "output_scores": False,
    "output_logits": False,
    "output_attentions": False,
    "output_hidden_states": False,
    "return_dict_in_generate": False,
    "remove_invalid_values": False,
    "renormalize_logits": False,
    "epsilon_cutoff": 0.0,
    "eta_cutoff": 0.0,
}

FIELDS = (
    # length
    "max_length", "max_new_tokens", "min_length", "min_new_tokens", "early_stopping", "max_time", "stop_strings",
    # strategy
    "do_sample", "num_beams", "num_beam_groups", "use_cache", "cache_implementation",
    # logits manipulation
    "temperature", "top_k", "top_p", "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff",
    "repetition_penalty", "encoder_repetition_penalty", "length_penalty", "no_repeat_ngram_size",
    "encoder_no_repeat_ngram_size", "bad_words_ids", "renormalize_logits", "forced_bos_token_id",
    "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens",
    "begin_suppress_tokens", "sequence_bias", "diversity_penalty", "guidance_scale",
    # outputs
    "num_return_sequences", "output_attentions", "output_hidden_states", "output_scores", "output_logits",
    "return_dict_in_generate",
    # special tokens
    "pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id",
)
_PROBABILITIES = ("top_p", "typical_p", "min_p")


class GenerationConfig:
    """Decoding parameters; unknown keys are kept (and written back) like a model config's."""

    def __init__(self, **kwargs):
        for name in FIELDS:
            setattr(self, name, kwargs.pop(name, None))
        kwargs.pop("transformers_version", None)
        # True when the values were derived from config.json rather than chosen for generation.
        self._from_model_config = bool(kwargs.pop("_from_model_config", False))
        kwargs.pop("_commit_hash", None)
        for key, value in kwargs.items():  # custom entries survive a round trip
            setattr(self, key, value)
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Reject values no decoding strategy accepts; the message names the field and the fix."""
        for name in ("max_length", "max_new_tokens"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ConfigError(f"{name} must be a positive int, got {value!r}. Ask for at least one new token.")
        for name in ("min_length", "min_new_tokens", "no_repeat_ngram_size", "top_k"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ConfigError(f"{name} must be a non-negative int, got {value!r}.")
        for name in ("num_beams", "num_return_sequences", "num_beam_groups"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be an int >= 1, got {value!r}.")
        if self.temperature is not None and not self.temperature > 0:
            raise ConfigError(
                f"temperature must be > 0, got {self.temperature!r}. For deterministic output use do_sample=False."
            )
        for name in _PROBABILITIES:
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value!r}.")
        for name in ("epsilon_cutoff", "eta_cutoff"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {value!r}.")
        if self.repetition_penalty is not None and not self.repetition_penalty > 0:
            raise ConfigError(f"repetition_penalty must be > 0, got {self.repetition_penalty!r}.")
        self._validate_beams()

    def _validate_beams(self) -> None:
        beams, groups = self.num_beams or 1, self.num_beam_groups or 1
        if groups > 1 and beams == 1:
            raise ConfigError(
                f"num_beam_groups={groups} needs beam search: set num_beams to a multiple of num_beam_groups "
                "(e.g. num_beams=4, num_beam_groups=2) or drop num_beam_groups."
            )
        if groups > 1:
            raise ConfigError("Group (diverse) beam search is not supported; drop num_beam_groups.")
        returns = self.num_return_sequences or 1
        if not self.do_sample and returns > beams:
            raise ConfigError(
                f"num_return_sequences={returns} is larger than num_beams={beams}: greedy/beam search can only "
                "return as many sequences as it has beams. Raise num_beams or set do_sample=True."
            )

    # ------------------------------------------------------------------ dict / json
    def to_dict(self) -> dict[str, Any]:
        """Every set (non-None) field, plus custom entries."""
        out = {k: copy.deepcopy(v) for k, v in self.__dict__.items() if not k.startswith("_") and v is not None}
        if self._from_model_config:
            out["_from_model_config"] = True
        return out

    def to_diff_dict(self) -> dict[str, Any]:
        return self.to_dict()

    def to_json_string(self, use_diff: bool = True) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs) -> "GenerationConfig":
        return cls(**{**config_dict, **kwargs})

    def update(self, **kwargs) -> dict[str, Any]:
        """Set the fields named in ``kwargs``; return the keys that are not generation fields."""
        unused = {}
        for key, value in kwargs.items():
            if hasattr(self, key) and not key.startswith("_"):
                setattr(self, key, value)
            else:
                unused[key] = value
        self.validate()
        return unused

    def copy(self) -> "GenerationConfig":
        return copy.deepcopy(self)

    def __eq__(self, other) -> bool:
        return isinstance(other, GenerationConfig) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"GenerationConfig {self.to_json_string()}"

    # ------------------------------------------------------------------ files
    def save_pretrained(self, save_directory: str | os.PathLike, config_file_name: str | None = None, **kwargs) -> None:
        directory = Path(save_directory)
        if directory.is_file():
            raise ConfigError(f"save_pretrained() needs a folder, but '{directory}' is a file.")
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_text(directory / (config_file_name or GENERATION_CONFIG_NAME), self.to_json_string())

    @classmethod
    def from_pretrained(cls, pretrained_model_name: str | os.PathLike, config_file_name: str | None = None, **kwargs):
        """Read ``generation_config.json`` from a folder or hub id; keyword arguments override it."""
        hub_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in ("cache_dir", "revision", "local_files_only", "token")}
        path = resolve_file(pretrained_model_name, config_file_name or GENERATION_CONFIG_NAME, **hub_kwargs)
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ConfigError(f"'{path}' is not valid JSON ({err}).") from err
        return cls.from_dict(data, **kwargs)

    @classmethod
    def from_model_config(cls, model_config) -> "GenerationConfig":
        """The generation fields a model config carries (special token ids, legacy decoding keys)."""
        data = model_config.to_dict() if not isinstance(model_config, dict) else dict(model_config)
        picked = {k: v for k, v in data.items() if k in FIELDS and v is not None}
        # Output switches of the model config are about forward(), not generate().
        for key in ("output_attentions", "output_hidden_states", "return_dict"):
            picked.pop(key, None)
        for name in ("decoder", "text_config"):  # composite models keep token ids in the decoder's config
            sub = data.get(name)
            if isinstance(sub, dict):
                for key in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"):
                    if picked.get(key) is None and sub.get(key) is not None:
                        picked[key] = sub[key]
        config = cls(**picked)
        config._from_model_config = True
        return config
