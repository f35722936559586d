"""``pipeline(task, model=…)``: the one-line inference entry point.

Supported tasks: "audio-classification", "automatic-speech-recognition",
"zero-shot-image-classification" and "zero-shot-audio-classification" (CLAP).
"""

from __future__ import annotations

import importlib
import os

from ..core.errors import ConfigError

# task -> (module, pipeline class, auto-model role, preprocessing parts to load)
TASKS = {
    "audio-classification": ("audio_classification", "AudioClassificationPipeline", "audio_classification",
                             ("feature_extractor",)),
    "automatic-speech-recognition": ("automatic_speech_recognition", "AutomaticSpeechRecognitionPipeline", "ctc",
                                     ("feature_extractor", "tokenizer")),
    "zero-shot-image-classification": ("zero_shot_image_classification", "ZeroShotImageClassificationPipeline",
                                       "zero_shot_image_classification", ("image_processor", "tokenizer")),
    "zero-shot-audio-classification": ("zero_shot_audio_classification", "ZeroShotAudioClassificationPipeline",
                                       "zero_shot_audio_classification", ("feature_extractor", "tokenizer")),
    # vision backbones (issue 15)
    "image-classification": ("image_classification", "ImageClassificationPipeline", "image_classification",
                             ("image_processor",)),
}
_ALIASES = {"asr": "automatic-speech-recognition"}


def _load_model(task: str, role: str, model, torch_dtype, model_kwargs: dict):
    from ..models.auto import AutoConfig, class_for

    if model is None:
        raise ConfigError(
            f"pipeline('{task}') needs model=<folder>: polymodal has no default hub model and works offline. "
            "Pass the path of a checkpoint folder (config.json + model.safetensors)."
        )
    if not isinstance(model, (str, os.PathLike)):
        return model
    config = AutoConfig.from_pretrained(model)
    architectures = config.architectures or []
    if task == "automatic-speech-recognition" and (
        role not in _roles(config.model_type) or (architectures and not any("CTC" in a for a in architectures))
    ):
        raise ConfigError(
            f"'{model}' holds a {', '.join(architectures) or config.model_type} model; the speech-recognition "
            "pipeline needs a CTC model (e.g. Wav2Vec2ForCTC)."
        )
    model_cls = class_for(config.model_type, role, f"'{model}/config.json'")
    kwargs = dict(model_kwargs)
    if torch_dtype is not None:
        kwargs["torch_dtype"] = torch_dtype
    return model_cls.from_pretrained(model, config=config, **kwargs)


def _roles(model_type: str) -> set[str]:
    from ..models.auto import MODEL_TYPES

    return set(MODEL_TYPES.get(model_type, {}))


def _load_part(part: str, source):
    from ..models import auto

    loader = {"feature_extractor": auto.AutoFeatureExtractor, "tokenizer": auto.AutoTokenizer,
              "image_processor": auto.AutoImageProcessor}[part]
    return loader.from_pretrained(source)


def pipeline(task: str, model=None, config=None, feature_extractor=None, tokenizer=None, image_processor=None,
             processor=None, device=None, torch_dtype=None, dtype=None, batch_size: int | None = None,
             model_kwargs: dict | None = None, **kwargs):
    """Build the pipeline for ``task`` from a checkpoint folder (or already-loaded parts)."""
    task = _ALIASES.get(task, task)
    if task not in TASKS:
        raise ConfigError(f"Unknown task {task!r}; polymodal supports {sorted(TASKS)}.")
    module, class_name, role, parts = TASKS[task]
    source = model if isinstance(model, (str, os.PathLike)) else getattr(getattr(model, "config", None), "name_or_path", None)
    model = _load_model(task, role, model, torch_dtype or dtype, model_kwargs or {})
    given = {"feature_extractor": feature_extractor, "tokenizer": tokenizer, "image_processor": image_processor}
    if processor is not None:
        for part in parts:
            given[part] = given[part] or getattr(processor, part, None)
    for part in parts:
        if isinstance(given[part], (str, os.PathLike)):
            given[part] = _load_part(part, given[part])
        elif given[part] is None:
            if not source:
                raise ConfigError(f"pipeline('{task}') needs {part}=… when the model is not loaded from a folder.")
            given[part] = _load_part(part, source)
    pipeline_cls = getattr(importlib.import_module(f"{__name__}.{module}"), class_name)
    return pipeline_cls(model=model, processor=processor, device=device, batch_size=batch_size, **given, **kwargs)


def __getattr__(name: str):
    for module, class_name, _, _ in TASKS.values():
        if name == class_name:
            return getattr(importlib.import_module(f"{__name__}.{module}"), class_name)
    raise AttributeError(name)
