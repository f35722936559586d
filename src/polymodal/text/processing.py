"""``ProcessorMixin``: one object holding a model's preprocessing components.

A processor names its components in ``attributes`` (``feature_extractor``,
``image_processor``, ``tokenizer``) and their default classes in ``<attribute>_class``::

    class CLIPProcessor(ProcessorMixin):
        attributes = ["image_processor", "tokenizer"]
        image_processor_class = "CLIPImageProcessor"
        tokenizer_class = "CLIPTokenizer"

``from_pretrained`` loads each component from the same folder through its own class;
``save_pretrained`` writes each component's files plus ``processor_config.json`` the way
Transformers 5 does (non-tokenizer components nested in it, ``processor_class`` set), so a
folder saved by either library loads in the other. ``__call__`` sends each keyword to the
components that accept it and merges their outputs into one ``BatchFeature``.
"""

from __future__ import annotations

import inspect
import json
import logging
from pathlib import Path

from ..core.errors import CheckpointError, InvalidInputError
from ..core.hub import PushToHubMixin
from ..core.io import atomic_write_text

logger = logging.getLogger(__name__)

PROCESSOR_NAME = "processor_config.json"
_HUB_KWARGS = ("cache_dir", "revision", "token", "local_files_only")

# Keywords a tokenizer call takes (Transformers' TextKwargs).
TEXT_KWARGS = frozenset({
    "text_pair", "text_target", "text_pair_target", "add_special_tokens", "padding", "truncation", "max_length",
    "stride", "is_split_into_words", "pad_to_multiple_of", "padding_side", "return_token_type_ids",
    "return_attention_mask", "return_overflowing_tokens", "return_special_tokens_mask", "return_offsets_mapping",
    "return_length", "verbose", "return_tensors", "split_special_tokens",
})
# Transformers' AudioKwargs: what a feature extractor call takes.
AUDIO_KWARGS = frozenset({"sampling_rate", "padding", "max_length", "truncation", "pad_to_multiple_of",
                          "return_attention_mask", "return_tensors", "device"})
_MODALITY_OF = {"tokenizer": "text", "image_processor": "images", "feature_extractor": "audio"}


def _modality(attribute: str) -> str:
    for key, modality in _MODALITY_OF.items():
        if key in attribute:
            return modality
    return attribute


def _call_parameters(component, fallback: frozenset) -> set[str]:
    """Keyword names a component's ``__call__`` accepts (the fallback when it takes **kwargs)."""
    valid = getattr(component, "valid_kwargs", None)
    if callable(valid):
        return set(valid())
    try:
        params = inspect.signature(component.__call__).parameters
    except (TypeError, ValueError):
        return set(fallback)
    names = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names | set(fallback)


class ProcessorMixin(PushToHubMixin):
    """Base of the processors: named components, loading/saving, call routing, decoding."""

    attributes: list[str] = []
    feature_extractor_class = None
    image_processor_class = None
    tokenizer_class = None

    def __init__(self, *args, **kwargs):
        self.chat_template = kwargs.pop("chat_template", None)
        unknown = [k for k in kwargs if k not in self.attributes]
        if unknown:
            raise InvalidInputError(f"{type(self).__name__} got unexpected arguments {unknown}; "
                                    f"it takes {self.attributes}.")
        for value, name in zip(args, self.attributes):
            if name in kwargs:
                raise InvalidInputError(f"{type(self).__name__} got two values for '{name}'.")
            kwargs[name] = value
        missing = [name for name in self.attributes if kwargs.get(name) is None]
        if missing or len(args) > len(self.attributes):
            raise InvalidInputError(
                f"{type(self).__name__} needs {len(self.attributes)} components ({', '.join(self.attributes)}); "
                f"missing: {missing or 'none'}, got {len(args)} positional arguments."
            )
        for name in self.attributes:
            setattr(self, name, kwargs[name])

    # ------------------------------------------------------------------ loading
    @classmethod
    def _component_class(cls, attribute: str, path: str, hub: dict):
        from ..models.auto import _base_class_name, get_class

        default = getattr(cls, f"{attribute}_class", None)
        if isinstance(default, (tuple, list)):
            default = next((name for name in default if name), None)
        if _modality(attribute) == "text":
            # The folder's tokenizer_config.json may name another tokenizer (AutoTokenizer's rule).
            from ..core.config import read_json
            from ..core.hub import resolve_file

            config_file = resolve_file(path, "tokenizer_config.json", required=False, **hub)
            named = read_json(config_file).get("tokenizer_class") if config_file else None
            if named:
                try:
                    return get_class(_base_class_name(named))
                except Exception:
                    logger.warning("tokenizer_class %r is unknown to polymodal; using %s.", named, default)
        if default is None:
            raise CheckpointError(f"{cls.__name__} does not say which class its '{attribute}' is.")
        return get_class(_base_class_name(default)) if isinstance(default, str) else default

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """Load every component from one folder (or hub id); kwargs go to every component."""
        path = str(pretrained_model_name_or_path)
        hub = {k: kwargs[k] for k in _HUB_KWARGS if k in kwargs}
        components = []
        for attribute in cls.attributes:
            klass = cls._component_class(attribute, path, hub)
            components.append(klass.from_pretrained(path, **kwargs))
        processor_kwargs = cls._saved_processor_kwargs(path, hub)
        return cls(*components, **processor_kwargs)

    @classmethod
    def _saved_processor_kwargs(cls, path: str, hub: dict) -> dict:
        """Extra ``__init__`` arguments stored in processor_config.json (beyond the components)."""
        from ..core.config import read_json
        from ..core.hub import resolve_file

        config_file = resolve_file(path, PROCESSOR_NAME, required=False, **hub)
        if not config_file:
            return {}
        saved = read_json(config_file)
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "args", "kwargs", *cls.attributes}
        return {k: v for k, v in saved.items() if k in accepted}

    # ------------------------------------------------------------------ saving
    def to_dict(self) -> dict:
        """processor_config.json's content: non-tokenizer components nested, plus processor_class."""
        output = {}
        for attribute in self.attributes:
            component = getattr(self, attribute)
            if _modality(attribute) != "text" and hasattr(component, "to_dict"):
                output[attribute] = component.to_dict()
        output["processor_class"] = type(self).__name__
        return output

    def to_json_string(self) -> str:
        def plain(value):
            return value.tolist() if hasattr(value, "tolist") else value

        data = {k: ({kk: plain(vv) for kk, vv in v.items()} if isinstance(v, dict) else plain(v))
                for k, v in self.to_dict().items()}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def save_pretrained(self, save_directory, push_to_hub: bool = False, **kwargs) -> list[str]:
        """Write each component's files and ``processor_config.json`` (atomically)."""
        if push_to_hub:
            return self._save_and_push(save_directory, **kwargs)
        directory = Path(save_directory)
        if directory.is_file():
            raise InvalidInputError(f"save_pretrained() needs a folder; '{directory}' is a file.")
        directory.mkdir(parents=True, exist_ok=True)
        written: list[str] = []
        for attribute in self.attributes:
            component = getattr(self, attribute)
            if _modality(attribute) == "text" and hasattr(component, "_set_processor_class"):
                component._set_processor_class(type(self).__name__)
            # preprocessor_config.json too: Transformers 4 reads only that file.
            written.extend(component.save_pretrained(directory) or [])
        config_file = directory / PROCESSOR_NAME
        atomic_write_text(config_file, self.to_json_string())
        return [*map(str, written), str(config_file)]

    # ------------------------------------------------------------------ calling
    def _route_kwargs(self, kwargs: dict) -> dict[str, dict]:
        """Split call keywords per modality; one valid for several goes to each (as Transformers)."""
        valid = {}
        for attribute in self.attributes:
            component = getattr(self, attribute)
            modality = _modality(attribute)
            fallback = TEXT_KWARGS if modality == "text" else AUDIO_KWARGS if modality == "audio" else frozenset()
            valid[modality] = _call_parameters(component, fallback) - {"self", "text", "images", "audio",
                                                                        "raw_speech"}
        routed = {modality: {} for modality in ("text", "images", "audio", "videos")}
        tokenizer = getattr(self, "tokenizer", None)
        for key, value in getattr(tokenizer, "init_kwargs", {}).items():
            if key in TEXT_KWARGS and key != "return_tensors":
                routed["text"][key] = getattr(tokenizer, key, value)
        common = dict(kwargs.pop("common_kwargs", None) or {})
        for modality in routed:
            routed[modality].update(common)
            routed[modality].update(kwargs.pop(f"{modality}_kwargs", None) or {})
        for key, value in kwargs.items():
            targets = [m for m, names in valid.items() if key in names]
            if not targets:
                logger.warning("Keyword argument `%s` is not valid for %s and is ignored.", key, type(self).__name__)
            for modality in targets:
                routed[modality][key] = value
        return routed

    def __call__(self, images=None, text=None, videos=None, audio=None, **kwargs):
        """Run each component on its input and merge the outputs into one ``BatchFeature``."""
        from ..core.batch import BatchFeature

        if images is None and text is None and audio is None and videos is None:
            raise InvalidInputError(f"{type(self).__name__} needs at least one of text=, images= or audio=.")
        return_tensors = kwargs.get("return_tensors")
        routed = self._route_kwargs(dict(kwargs))
        data = {}
        if text is not None:
            data.update(self._component("tokenizer")(text, **routed["text"]))
        if images is not None:
            data.update(self._component("image_processor")(images, **routed["images"]))
        if audio is not None:
            data.update(self._component("feature_extractor")(audio, **routed["audio"]))
        return BatchFeature(data, tensor_type=return_tensors)

    def _component(self, attribute: str):
        component = getattr(self, attribute, None)
        if component is None:
            raise InvalidInputError(f"{type(self).__name__} has no {attribute}; it holds {self.attributes}.")
        return component

    def batch_decode(self, *args, **kwargs):
        """Forwarded to the tokenizer's ``batch_decode``."""
        return self._component("tokenizer").batch_decode(*args, **kwargs)

    def decode(self, *args, **kwargs):
        """Forwarded to the tokenizer's ``decode``."""
        return self._component("tokenizer").decode(*args, **kwargs)

    @property
    def model_input_names(self) -> list[str]:
        names: list[str] = []
        for attribute in self.attributes:
            for name in getattr(getattr(self, attribute), "model_input_names", []):
                if name not in names:
                    names.append(name)
        return names

    def __repr__(self) -> str:
        parts = "\n".join(f"- {a}: {getattr(self, a)!r}" for a in self.attributes)
        return f"{type(self).__name__}:\n{parts}"
