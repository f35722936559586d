"""Which pipeline task a checkpoint folder serves, from its config (``architectures``, ``model_type``).

Used by ``pipeline(model=folder)`` with no task (Transformers asks the hub for the model's
``pipeline_tag``; a local folder's config already says it), by ``polymodal serve`` and by the CLI.
"""

from __future__ import annotations

from ..core.errors import ConfigError

_TEXT_HEADS = (("ForQuestionAnswering", "question-answering"), ("ForTokenClassification", "token-classification"),
               ("ForMaskedLM", "fill-mask"), ("ForSequenceClassification", "text-classification"))
_ZERO_SHOT_IMAGE_TYPES = ("clip", "altclip", "align", "chinese_clip", "siglip", "x_clip")


def text_task(config: dict, architectures: list) -> str | None:
    """The NLP task of a text encoder's head (a model type with a masked-LM role is a text family)."""
    from ..models.auto import MODEL_TYPES

    if "masked_lm" not in MODEL_TYPES.get(str(config.get("model_type", "")), {}):
        return None
    for suffix, task in _TEXT_HEADS:
        if any(name.endswith(suffix) for name in architectures):
            return task
    return None  # a bare encoder: use task="feature-extraction"


def task_from_config(config: dict) -> str | None:
    """The task for a config dict, or None when it does not say."""
    architectures = config.get("architectures") or []
    model_type = str(config.get("model_type", ""))
    task = text_task(config, architectures)
    if task is not None:
        return task
    if any(name.endswith(("ForCausalLM", "LMHeadModel")) for name in architectures):
        return "text-generation"
    for name in architectures:
        if name.endswith("ForCTC") or (model_type == "whisper" and name.endswith("ForConditionalGeneration")):
            return "automatic-speech-recognition"
        if name.endswith(("ForSequenceClassification", "ForAudioClassification")):
            return "audio-classification"
        if name.endswith(("ForImageClassification", "ForImageClassificationWithTeacher")):
            return "image-classification"
    if model_type == "clap" or any(name.startswith("Clap") for name in architectures):
        return "zero-shot-audio-classification"
    if model_type in _ZERO_SHOT_IMAGE_TYPES:
        return "zero-shot-image-classification"
    return None


def infer_task(model_dir, tasks=None) -> str:
    """The pipeline task for a checkpoint folder; a clear error naming ``tasks`` when the config does not say."""
    from ..core.config import read_json
    from ..core.hub import resolve_file

    config = read_json(resolve_file(model_dir, "config.json"))
    task = task_from_config(config)
    if task is None:
        if tasks is None:
            from . import TASKS as tasks
        raise ConfigError(
            f"Cannot tell which task to run for '{model_dir}' (architectures {config.get('architectures') or 'missing'}"
            f", model_type {config.get('model_type') or 'missing'}); pass task=… (one of {sorted(tasks)})."
        )
    return task
