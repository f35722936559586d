"""polymodal: the speech and vision-language part of Transformers, smaller and faster.

Public names are imported on first use (PEP 562), so ``import polymodal`` costs little more
than importing torch's absence: nothing heavy is loaded until a class is touched. Static tools
read the same names from ``__init__.pyi`` (written by ``scripts/gen_public_api.py``).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Names that are not model-family classes (those come from models/auto.py's table).
_OTHER_NAMES: dict[str, str] = {
    "PretrainedConfig": "polymodal.core.config",
    "PreTrainedModel": "polymodal.core.modeling",
    "ModelOutput": "polymodal.core.outputs",
    "BatchFeature": "polymodal.core.batch",
    "FeatureExtractionMixin": "polymodal.core.feature_extraction",
    "SequenceFeatureExtractor": "polymodal.audio.features",
    "BatchEncoding": "polymodal.text.base",
    "PreTrainedTokenizerBase": "polymodal.text.base",
    "ProcessorMixin": "polymodal.text.processing",
    "BaseImageProcessor": "polymodal.vision.base",
    "load_audio": "polymodal.audio.io",
    "sample_frames": "polymodal.vision.video",
    "resample": "polymodal.audio.io",
    "AutoConfig": "polymodal.models.auto",
    "AutoModel": "polymodal.models.auto",
    "AutoModelForAudioClassification": "polymodal.models.auto",
    "AutoModelForCTC": "polymodal.models.auto",
    "AutoModelForZeroShotImageClassification": "polymodal.models.auto",
    "AutoModelForImageClassification": "polymodal.models.auto",  # vision backbones (issue 15)
    "AutoModelForMaskedImageModeling": "polymodal.models.auto",  # vision backbones (issue 15)
    "AutoModelForSpeechSeq2Seq": "polymodal.models.auto",  # encoder-decoders (issue 16)
    "AutoModelForSeq2SeqLM": "polymodal.models.auto",  # encoder-decoders (issue 16)
    "AutoModelForMaskedLM": "polymodal.models.auto",  # text encoders (issue 14)
    "AutoModelForSequenceClassification": "polymodal.models.auto",  # text encoders (issue 14)
    "AutoModelForTokenClassification": "polymodal.models.auto",  # text encoders (issue 14)
    "AutoModelForQuestionAnswering": "polymodal.models.auto",  # text encoders (issue 14)
    "AutoModelForMultipleChoice": "polymodal.models.auto",  # text encoders (issue 14)
    "PreTrainedTokenizerFast": "polymodal.text.fast",  # text encoders (issue 14)
    # --- generation (issue 13) ---
    "GenerationConfig": "polymodal.generation",
    "GenerationMixin": "polymodal.generation",
    "DynamicCache": "polymodal.generation",
    "EncoderDecoderCache": "polymodal.generation",
    "Cache": "polymodal.generation",
    "LogitsProcessor": "polymodal.generation",
    "LogitsProcessorList": "polymodal.generation",
    "StoppingCriteria": "polymodal.generation",
    "StoppingCriteriaList": "polymodal.generation",
    "MaxLengthCriteria": "polymodal.generation",
    "MaxTimeCriteria": "polymodal.generation",
    "EosTokenCriteria": "polymodal.generation",
    "StopStringCriteria": "polymodal.generation",
    "TemperatureLogitsWarper": "polymodal.generation",
    "TopKLogitsWarper": "polymodal.generation",
    "TopPLogitsWarper": "polymodal.generation",
    "TypicalLogitsWarper": "polymodal.generation",
    "EpsilonLogitsWarper": "polymodal.generation",
    "EtaLogitsWarper": "polymodal.generation",
    "MinPLogitsWarper": "polymodal.generation",
    "RepetitionPenaltyLogitsProcessor": "polymodal.generation",
    "NoRepeatNGramLogitsProcessor": "polymodal.generation",
    "NoBadWordsLogitsProcessor": "polymodal.generation",
    "SequenceBiasLogitsProcessor": "polymodal.generation",
    "MinLengthLogitsProcessor": "polymodal.generation",
    "MinNewTokensLengthLogitsProcessor": "polymodal.generation",
    "ForcedBOSTokenLogitsProcessor": "polymodal.generation",
    "ForcedEOSTokenLogitsProcessor": "polymodal.generation",
    "SuppressTokensLogitsProcessor": "polymodal.generation",
    "SuppressTokensAtBeginLogitsProcessor": "polymodal.generation",
    "InfNanRemoveLogitsProcessor": "polymodal.generation",
    "ExponentialDecayLengthPenalty": "polymodal.generation",
    "LogitNormalization": "polymodal.generation",
    "GenerateDecoderOnlyOutput": "polymodal.generation",
    "GenerateEncoderDecoderOutput": "polymodal.generation",
    "GenerateBeamDecoderOnlyOutput": "polymodal.generation",
    "GenerateBeamEncoderDecoderOutput": "polymodal.generation",
    "TextStreamer": "polymodal.generation",
    "TextIteratorStreamer": "polymodal.generation",
    "AutoModelForCausalLM": "polymodal.models.auto",
    # --- end generation ---
    "AutoFeatureExtractor": "polymodal.models.auto",
    "AutoImageProcessor": "polymodal.models.auto",
    "AutoTokenizer": "polymodal.models.auto",
    "AutoProcessor": "polymodal.models.auto",
    "pipeline": "polymodal.pipelines",
    "Trainer": "polymodal.train.trainer",
    "TrainingArguments": "polymodal.train.arguments",
    "DataCollatorWithPadding": "polymodal.train.collators",
    "DefaultDataCollator": "polymodal.train.collators",  # issue 15
    "default_data_collator": "polymodal.train.collators",  # issue 15
    "DataCollatorCTCWithPadding": "polymodal.train.collators",
    "DataCollatorForTokenClassification": "polymodal.train.collators",  # text encoders (issue 14)
    "DataCollatorForLanguageModeling": "polymodal.train.collators",  # text encoders (issue 14)
    "DataCollatorForMultipleChoice": "polymodal.train.collators",  # text encoders (issue 14)
    "DataCollatorForWholeWordMask": "polymodal.train.collators",  # text encoders (issue 14)
    "DataCollatorForSeq2Seq": "polymodal.train.collators",  # encoder-decoders (issue 16)
    "set_seed": "polymodal.train.trainer",
    # Trainer API (issue 10 part A): state, callbacks, integrations, trainer utils.
    "TrainerState": "polymodal.train.state",
    "TrainerControl": "polymodal.train.state",
    "TrainerCallback": "polymodal.train.callbacks",
    "DefaultFlowCallback": "polymodal.train.callbacks",
    "ProgressCallback": "polymodal.train.callbacks",
    "PrinterCallback": "polymodal.train.callbacks",
    "EarlyStoppingCallback": "polymodal.train.callbacks",
    "TensorBoardCallback": "polymodal.train.integrations",
    "enable_full_determinism": "polymodal.train.trainer_utils",
    "EvalPrediction": "polymodal.train.trainer_utils",
    "IntervalStrategy": "polymodal.train.trainer_utils",
    "SchedulerType": "polymodal.train.optimization",
    "get_scheduler": "polymodal.train.optimization",
    "get_constant_schedule": "polymodal.train.optimization",
    "get_constant_schedule_with_warmup": "polymodal.train.optimization",
    "get_linear_schedule_with_warmup": "polymodal.train.optimization",
    "get_cosine_schedule_with_warmup": "polymodal.train.optimization",
    "get_cosine_with_hard_restarts_schedule_with_warmup": "polymodal.train.optimization",
    "get_polynomial_decay_schedule_with_warmup": "polymodal.train.optimization",
    "get_inverse_sqrt_schedule": "polymodal.train.optimization",
    "get_wsd_schedule": "polymodal.train.optimization",
    "Adafactor": "polymodal.train.optimization",
    "AdafactorSchedule": "polymodal.train.optimization",
    "HfArgumentParser": "polymodal.train.argparser",
    "Seq2SeqTrainer": "polymodal.train.trainer_seq2seq",
    "Seq2SeqTrainingArguments": "polymodal.train.trainer_seq2seq",
}

_SUBMODULES = {"audio_utils", "core", "models", "pipelines", "train", "audio", "vision", "text", "nn", "generation",
               "metrics", "datasets"}
_SUBMODULES |= {"logging", "utils"}  # Trainer API (issue 10 part A): polymodal.logging, polymodal.utils.logging


def _module_for(name: str) -> str | None:
    if name in _OTHER_NAMES:
        return _OTHER_NAMES[name]
    from .models.auto import CLASS_MODULES

    return CLASS_MODULES.get(name)


def _public_names() -> list[str]:
    from .models.auto import CLASS_MODULES

    return sorted(set(_OTHER_NAMES) | set(CLASS_MODULES) | _SUBMODULES)


def __getattr__(name: str):
    if name == "__all__":  # computed, so it never drifts from the tables (``__init__.pyi`` spells it out)
        return _public_names()
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _module_for(name)
    if module is None:
        raise AttributeError(f"module 'polymodal' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_public_names()))
