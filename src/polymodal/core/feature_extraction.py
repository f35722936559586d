"""``FeatureExtractionMixin``: ``preprocessor_config.json`` in and out, for audio feature
extractors and image processors alike (the file format is Transformers')."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError, ConfigError
from .hub import PushToHubMixin

logger = logging.getLogger(__name__)

FEATURE_EXTRACTOR_NAME = "preprocessor_config.json"
PROCESSOR_NAME = "processor_config.json"
_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder",
               "proxies", "_from_auto", "_from_pipeline", "trust_remote_code")


class FeatureExtractionMixin(PushToHubMixin):
    """Config handling shared by feature extractors: ``from_pretrained`` / ``save_pretrained`` of
    ``preprocessor_config.json``, ``to_dict`` / ``from_dict``. Unknown keys become attributes
    and are written back, so a load/save round trip loses nothing."""

    # Attributes recomputed from the others at construction; never written to JSON.
    _derived_keys: tuple[str, ...] = ("mel_filters", "window")

    def __init__(self, **kwargs):
        # Transformers does not keep processor_class in the extractor; the class name is
        # always written from the class itself.
        kwargs.pop("processor_class", None)
        kwargs.pop("feature_extractor_type", None)
        for key, value in kwargs.items():
            try:
                setattr(self, key, value)
            except AttributeError:
                raise ConfigError(f"Cannot set '{key}' on {type(self).__name__}; it is read-only.") from None

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def get_feature_extractor_dict(cls, pretrained_model_name_or_path, **kwargs) -> tuple[dict, dict]:
        """Read the extractor's dict from a folder, a hub id or a JSON file; return (dict, other kwargs)."""
        from .config import read_json
        from .hub import resolve_file

        hub = {k: kwargs.pop(k) for k in _HUB_KWARGS if k in kwargs}
        path = Path(str(pretrained_model_name_or_path)).expanduser()
        if path.is_file():
            return read_json(path), kwargs
        prefix = f"{hub['subfolder']}/" if hub.get("subfolder") else ""
        hub = {k: v for k, v in hub.items() if k in ("cache_dir", "local_files_only", "token", "revision")}
        # A processor_config.json may nest the extractor (newer Transformers); it wins, as there.
        path_or_id = pretrained_model_name_or_path
        processor_file = resolve_file(path_or_id, prefix + PROCESSOR_NAME, required=False, **hub)
        if processor_file is not None:
            nested = read_json(processor_file)
            for key in ("feature_extractor", "audio_processor"):
                if isinstance(nested.get(key), dict):
                    return dict(nested[key]), kwargs
        return read_json(resolve_file(path_or_id, prefix + FEATURE_EXTRACTOR_NAME, **hub)), kwargs

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """Load from a folder (or hub id, or JSON file); keyword arguments override loaded values."""
        config, kwargs = cls.get_feature_extractor_dict(pretrained_model_name_or_path, **kwargs)
        return cls.from_dict(config, **kwargs)

    @classmethod
    def from_dict(cls, feature_extractor_dict: dict[str, Any], **kwargs):
        """Build from a dict; ``kwargs`` override it. Pass ``return_unused_kwargs=True`` to get
        back the keyword arguments that were neither in the dict nor constructor parameters."""
        return_unused = kwargs.pop("return_unused_kwargs", False)
        params = dict(feature_extractor_dict)
        accepted = cls._init_parameters()
        unused = {}
        for key, value in kwargs.items():
            if key in params or key in accepted:
                params[key] = value
            else:
                unused[key] = value
        if unused and not return_unused:
            logger.debug("%s.from_dict ignored %s", cls.__name__, sorted(unused))
        try:
            extractor = cls(**params)
        except TypeError as exc:
            raise ConfigError(f"Cannot build {cls.__name__} from its config: {exc}.") from None
        return (extractor, unused) if return_unused else extractor

    @classmethod
    def _init_parameters(cls) -> set[str]:
        import inspect

        names = set()
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is not None:
                names.update(p for p in inspect.signature(init).parameters if p not in ("self", "kwargs"))
        return names

    @classmethod
    def from_json_file(cls, json_file):
        from .config import read_json

        return cls(**read_json(json_file))

    # -- saving ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        output = {k: copy.deepcopy(v) for k, v in self.__dict__.items()
                  if not k.startswith("_") and k not in self._derived_keys}
        output["feature_extractor_type"] = type(self).__name__
        return output

    def to_json_string(self) -> str:
        data = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in self.to_dict().items()}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def to_json_file(self, json_file_path) -> None:
        from .io import atomic_write_text

        atomic_write_text(json_file_path, self.to_json_string())

    def save_pretrained(self, save_directory, **kwargs) -> list[str]:
        """Write ``preprocessor_config.json`` into ``save_directory`` (created if needed)."""
        if kwargs.pop("push_to_hub", False):
            return self._save_and_push(save_directory, **kwargs)
        directory = Path(save_directory)
        if directory.is_file():
            raise CheckpointError(f"save_pretrained() needs a folder, but '{directory}' is a file.")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / FEATURE_EXTRACTOR_NAME
        self.to_json_file(path)
        return [str(path)]

    def __repr__(self):
        return f"{type(self).__name__} {self.to_json_string()}"
