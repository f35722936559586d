"""``pipeline(task, model=…)``: the one-line inference entry point.

Supported tasks: "audio-classification", "automatic-speech-recognition",
"zero-shot-image-classification" and "zero-shot-audio-classification" (CLAP).
"""

from __future__ import annotations

import importlib
import os
import re

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
    # text encoders (issue 14)
    "text-classification": ("text_classification", "TextClassificationPipeline", "sequence_classification",
                            ("tokenizer",)),
    "token-classification": ("token_classification", "TokenClassificationPipeline", "token_classification",
                             ("tokenizer",)),
    "fill-mask": ("fill_mask", "FillMaskPipeline", "masked_lm", ("tokenizer",)),
    "zero-shot-classification": ("zero_shot_classification", "ZeroShotClassificationPipeline",
                                 "sequence_classification", ("tokenizer",)),
    "feature-extraction": ("feature_extraction", "FeatureExtractionPipeline", "model", ("tokenizer",)),
    "question-answering": ("question_answering", "QuestionAnsweringPipeline", "question_answering", ("tokenizer",)),
    # end text encoders
    # decoder language models (issue 13)
    "text-generation": ("text_generation", "TextGenerationPipeline", "causal_lm", ("tokenizer",)),
    # encoder-decoders (issue 16); "translation_xx_to_yy" is "translation" with that task name
    "text2text-generation": ("text2text_generation", "Text2TextGenerationPipeline", "seq2seq_lm", ("tokenizer",)),
    "summarization": ("text2text_generation", "SummarizationPipeline", "seq2seq_lm", ("tokenizer",)),
    "translation": ("text2text_generation", "TranslationPipeline", "seq2seq_lm", ("tokenizer",)),
    # vision backbones (issue 15)
    "image-classification": ("image_classification", "ImageClassificationPipeline", "image_classification",
                             ("image_processor",)),
}
_ALIASES = {"asr": "automatic-speech-recognition",
            "sentiment-analysis": "text-classification", "ner": "token-classification"}  # text: issue 14


def _load_model(task: str, role: str, model, torch_dtype, model_kwargs: dict):
    from ..models.auto import AutoConfig, class_for

    if not isinstance(model, (str, os.PathLike)):
        return model
    config = AutoConfig.from_pretrained(model)
    architectures = config.architectures or []
    if task == "automatic-speech-recognition" and "speech_seq2seq" in _roles(config.model_type):  # issue 16
        role = "speech_seq2seq"
    elif task == "automatic-speech-recognition" and (
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


def _load_part(part: str, source, image_use_fast: bool | None = None):
    from ..models import auto

    loader = {"feature_extractor": auto.AutoFeatureExtractor, "tokenizer": auto.AutoTokenizer,
              "image_processor": auto.AutoImageProcessor}[part]
    if part == "image_processor" and image_use_fast is not None:
        return loader.from_pretrained(source, use_fast=image_use_fast)
    return loader.from_pretrained(source)


def pipeline(task: str | None = None, model=None, config=None, feature_extractor=None, tokenizer=None, image_processor=None,
             processor=None, device=None, torch_dtype=None, dtype=None, batch_size: int | None = None,
             model_kwargs: dict | None = None, backend: str = "torch", **kwargs):
    """Build the pipeline for ``task`` from a checkpoint folder (or already-loaded parts).

    ``backend="onnxruntime"``: the forward pass on ONNX Runtime, exported on first use and cached
    beside the checkpoint (``polymodal.export.ort_model``). No ``task``: the model's config says it
    (``pipelines.task_inference``). ``pipeline_class=``: a subclass of the task's pipeline to build.
    """
    if task is None:
        task = _task_of_model(model)
    if backend != "torch":  # serving (issue 11)
        from ..export.ort_model import onnxruntime_pipeline

        return onnxruntime_pipeline(backend, model, lambda: pipeline(
            task, model=model, config=config, feature_extractor=feature_extractor, tokenizer=tokenizer,
            image_processor=image_processor, processor=processor, device=device, torch_dtype=torch_dtype,
            dtype=dtype, batch_size=batch_size, model_kwargs=model_kwargs, **kwargs))
    task = _ALIASES.get(task, task)
    if isinstance(task, str) and re.fullmatch(r"translation_[A-Za-z-]+_to_[A-Za-z-]+", task):  # issue 16
        translator = pipeline("translation", model=model, config=config, feature_extractor=feature_extractor,
                              tokenizer=tokenizer, image_processor=image_processor, processor=processor,
                              device=device, torch_dtype=torch_dtype, dtype=dtype, batch_size=batch_size,
                              model_kwargs=model_kwargs, **kwargs)
        translator.task = task  # selects task_specific_params["translation_xx_to_yy"] (T5's prefixes)
        return translator
    if task not in TASKS:
        raise ConfigError(f"Unknown task {task!r}; polymodal supports {sorted(TASKS)}.")
    module, class_name, role, parts = TASKS[task]
    # use_fast=False asks image pipelines for the bit-exact (Pillow) image path; tokenizers are always fast.
    image_use_fast = kwargs.pop("use_fast") if kwargs.get("use_fast") is False and "image_processor" in parts else None
    # pipelines: check every argument before loading anything; no model → the task's default hub id
    from .base import _check_init_kwargs

    pipeline_cls = getattr(importlib.import_module(f"{__name__}.{module}"), class_name)
    custom_cls = kwargs.pop("pipeline_class", None)
    if custom_cls is not None:
        from .base import Pipeline

        if not (isinstance(custom_cls, type) and issubclass(custom_cls, Pipeline)):
            raise ConfigError(f"pipeline_class={custom_cls!r} must be a Pipeline subclass (e.g. of {class_name}).")
        pipeline_cls = custom_cls
    _check_init_kwargs(pipeline_cls, {**kwargs, **{k: v for k, v in (model_kwargs or {}).items() if k == "device_map"}})
    if model is None:
        return _pipeline_from_default(task, config=config, feature_extractor=feature_extractor, tokenizer=tokenizer,
                                      image_processor=image_processor, processor=processor, device=device,
                                      torch_dtype=torch_dtype, dtype=dtype, batch_size=batch_size,
                                      model_kwargs=model_kwargs, pipeline_class=custom_cls,
                                      **({"use_fast": False} if image_use_fast is False else {}), **kwargs)
    source = model if isinstance(model, (str, os.PathLike)) else getattr(getattr(model, "config", None), "name_or_path", None)
    model = _load_model(task, role, model, torch_dtype or dtype, model_kwargs or {})
    if task == "automatic-speech-recognition" and getattr(model.config, "is_encoder_decoder", False) \
            and custom_cls is None:  # issue 16
        from .speech_seq2seq import SpeechSeq2SeqPipeline as pipeline_cls
    given = {"feature_extractor": feature_extractor, "tokenizer": tokenizer, "image_processor": image_processor}
    if processor is not None:
        for part in parts:
            given[part] = given[part] or getattr(processor, part, None)
    for part in parts:
        if isinstance(given[part], (str, os.PathLike)):
            given[part] = _load_part(part, given[part], image_use_fast)
        elif given[part] is None:
            if not source:
                raise ConfigError(f"pipeline('{task}') needs {part}=… when the model is not loaded from a folder.")
            given[part] = _load_part(part, source, image_use_fast)
    return pipeline_cls(model=model, processor=processor, device=device, batch_size=batch_size, **given, **kwargs)


def _task_of_model(model) -> str:
    from .task_inference import infer_task, task_from_config

    if model is None:
        raise ConfigError("pipeline() needs a task, a model, or both, e.g. pipeline('audio-classification') or "
                          "pipeline(model='path/to/checkpoint').")
    if isinstance(model, (str, os.PathLike)):
        return infer_task(model, TASKS)
    config = getattr(model, "config", None)
    task = task_from_config({"architectures": [type(model).__name__],
                             "model_type": getattr(config, "model_type", "")}) if config is not None else None
    if task is None:
        raise ConfigError(f"Cannot tell which task a {type(model).__name__} runs; pass the task, e.g. "
                          f"pipeline('<task>', model=model) with one of {sorted(TASKS)}.")
    return task


def _pipeline_from_default(task: str, **arguments):
    from ..core.errors import HubUnavailableError
    from .defaults import default_model, offline_default_error

    model_id = default_model(task)
    try:
        return pipeline(task, model=model_id, **arguments)
    except HubUnavailableError as error:
        raise offline_default_error(task, model_id, error) from None


def __getattr__(name: str):
    for module, class_name, _, _ in TASKS.values():
        if name == class_name:
            return getattr(importlib.import_module(f"{__name__}.{module}"), class_name)
    raise AttributeError(name)
