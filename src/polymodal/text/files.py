"""Loading and saving a tokenizer: ``tokenizer_config.json``, ``special_tokens_map.json``, vocabularies."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.config import read_json
from ..core.errors import CheckpointError, InvalidInputError
from ..core.hub import PushToHubMixin, resolve_file
from ..core.io import atomic_write_text
from .special_tokens import _token_content

TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"
_HUB_KWARGS = ("cache_dir", "revision", "token", "local_files_only")
# tokenizer_config.json keys that describe files or provenance, never __init__ arguments
_NON_INIT_KEYS = ("tokenizer_class", "auto_map", "init_inputs", "name_or_path", "_commit_hash",
                  "special_tokens_map_file", "tokenizer_file", "fast_tokenizer_files", "backend",
                  "files_loaded", "is_local", "local_files_only")


class TokenizerFilesMixin(PushToHubMixin):
    """``from_pretrained`` / ``save_pretrained``; a subclass writes its vocabulary in ``save_vocabulary``."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *init_inputs, **kwargs):
        """Load from a folder (or hub id) holding ``tokenizer.json`` and/or the legacy vocabulary files."""
        path = str(pretrained_model_name_or_path)
        hub = {k: kwargs.pop(k) for k in _HUB_KWARGS if k in kwargs}
        for unused in ("force_download", "proxies", "subfolder", "trust_remote_code", "_from_auto",
                       "_from_pipeline", "use_fast"):
            kwargs.pop(unused, None)
        if Path(path).is_file():  # Transformers' legacy single-file form (vocab.txt / tokenizer.json)
            key = "tokenizer_file" if path.endswith(TOKENIZER_FILE) else "vocab_file"
            return cls(*init_inputs, **{key: path, **kwargs})
        files = {key: resolve_file(path, name, required=False, **hub) for key, name in cls.vocab_files_names.items()}
        config_path = resolve_file(path, TOKENIZER_CONFIG_FILE, required=False, **hub)
        config = read_json(config_path) if config_path else {}
        for key in _NON_INIT_KEYS:
            config.pop(key, None)
        init_kwargs = {**config, **kwargs}
        if "added_tokens_decoder" not in config:
            map_path = resolve_file(path, SPECIAL_TOKENS_MAP_FILE, required=False, **hub)
            for key, value in (read_json(map_path) if map_path else {}).items():
                if key not in kwargs:
                    init_kwargs[key] = _token_content(value) if key in cls.SPECIAL_TOKENS_ATTRIBUTES else value
            init_kwargs["added_tokens_decoder"] = cls._legacy_added_tokens(files, path, hub)
        for key, value in list(init_kwargs.items()):
            if key in cls.SPECIAL_TOKENS_ATTRIBUTES and isinstance(value, dict):
                init_kwargs[key] = _token_content(value)
        present = {key: value for key, value in files.items() if value}
        cls._check_files(path, present)
        init_kwargs.update({k: v for k, v in present.items() if kwargs.get(k) is None})
        init_kwargs["name_or_path"] = path
        return cls(*init_inputs, **init_kwargs)

    @classmethod
    def _legacy_added_tokens(cls, files: dict, path: str, hub: dict) -> dict:
        """Without ``added_tokens_decoder`` in the config, take ``tokenizer.json``'s added tokens."""
        tokenizer_file = files.get("tokenizer_file")
        if not tokenizer_file:
            return {}
        data = _read_tokenizer_json(tokenizer_file)
        return {int(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in data.get("added_tokens", [])}

    @classmethod
    def _check_files(cls, path: str, present: dict):
        if not present:
            wanted = " or ".join(f"'{name}'" for name in cls.vocab_files_names.values())
            raise CheckpointError(
                f"'{path}' has no tokenizer files: {cls.__name__} needs {wanted}. "
                "Point to a folder written by save_pretrained() (or a Transformers checkpoint folder)."
            )

    # ------------------------------------------------------------------ saving
    def _config_to_save(self) -> dict:
        config = {k: v for k, v in self.init_kwargs.items()
                  if k not in self.vocab_files_names and k not in ("added_tokens_decoder", "vocab", "merges")}
        for key in list(config):
            if key in self.SPECIAL_TOKENS_ATTRIBUTES or key.startswith("_"):
                config.pop(key)
            elif key in self.__dict__:  # the current value of an init option (e.g. do_lower_case)
                config[key] = self.__dict__[key]
        config.update(self.special_tokens_map)
        if self._extra_special_tokens:
            config["extra_special_tokens"] = self.extra_special_tokens
        config.pop("additional_special_tokens", None)
        config["model_max_length"] = self.model_max_length
        config["padding_side"] = self.padding_side
        config["truncation_side"] = self.truncation_side
        config["clean_up_tokenization_spaces"] = self.clean_up_tokenization_spaces
        config["model_input_names"] = list(self.model_input_names)
        config["tokenizer_class"] = type(self).__name__.removesuffix("Fast")
        if self._processor_class is not None:
            config["processor_class"] = self._processor_class
        return {k: v for k, v in config.items() if _jsonable(v)}

    def save_pretrained(self, save_directory, legacy_format=None, filename_prefix=None, push_to_hub=False,
                        **kwargs) -> tuple[str, ...]:
        """Write ``tokenizer_config.json``, ``special_tokens_map.json`` and the vocabulary files.

        Every file is written to a temporary name and renamed, so a crash leaves no half file.
        """
        if push_to_hub:
            return self._save_and_push(save_directory, legacy_format=legacy_format, filename_prefix=filename_prefix,
                                       **kwargs)
        directory = Path(save_directory)
        if directory.is_file():
            raise InvalidInputError(f"save_pretrained() needs a folder; '{directory}' is a file.")
        directory.mkdir(parents=True, exist_ok=True)
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        config = self._config_to_save()
        config_file = directory / f"{prefix}{TOKENIZER_CONFIG_FILE}"
        atomic_write_text(config_file, json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        map_file = directory / f"{prefix}{SPECIAL_TOKENS_MAP_FILE}"
        special = dict(self.special_tokens_map)
        if self._extra_special_tokens:
            special["additional_special_tokens"] = self.extra_special_tokens
        atomic_write_text(map_file, json.dumps(special, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        vocab_files = self.save_vocabulary(str(directory), filename_prefix=filename_prefix)
        return (str(config_file), str(map_file), *vocab_files)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        raise NotImplementedError


def _jsonable(value) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def _read_tokenizer_json(path) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"'{path}' is not valid JSON ({exc.msg} at line {exc.lineno}); re-create it with save_pretrained()."
        ) from None
    except UnicodeDecodeError:
        raise CheckpointError(f"'{path}' is not UTF-8 text; expected a tokenizer.json file.") from None
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise CheckpointError(f"'{path}' has no 'model' section; it is not a tokenizers-library tokenizer.json.")
    return data
