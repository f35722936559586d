"""Task adapters: how the server turns a request into a pipeline input and back.

A pipeline task plugs into the server through one :class:`TaskAdapter`: the parameters a request
may set (each with a validator, so a bad value is a 400 naming it before any work), how a request
body becomes one pipeline input (``decode``, run in a bounded thread pool), and how a batch of
inputs runs (``predict``: by default one pipeline call with ``batch_size=len(items)``, so the
pipeline's own padding/bucketing keeps each answer independent of its batch-mates).

A new task registers itself with ``register_adapter(TaskAdapter("text-classification", "text",
{"top_k": positive_int("top_k")}))``; see docs/serving.md.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.errors import ConfigError, InvalidInputError
from .limits import Limits, check_audio_header

Validator = Callable[[object], object]
MAX_LABELS = 256
MAX_LABEL_CHARS = 512


class ParameterError(InvalidInputError):
    """A request parameter with a bad value (answered 400, naming it)."""


# ----------------------------------------------------------------------------- validators


def positive_int(name: str, maximum: int = 10_000) -> Validator:
    def check(value):
        if isinstance(value, str) and value.strip().lstrip("+").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            raise ParameterError(f"Parameter {name}={value!r} is invalid; expected an integer from 1 to {maximum}.")
        return value
    return check


def positive_float(name: str, maximum: float = 3600.0, allow_zero: bool = False) -> Validator:
    def check(value):
        try:
            number = float(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
        except ValueError:
            number = None
        low_ok = number is not None and (number >= 0 if allow_zero else number > 0)
        if number is None or not math.isfinite(number) or not low_ok or number > maximum:
            low = "0 or more" if allow_zero else "more than 0"
            raise ParameterError(f"Parameter {name}={value!r} is invalid; expected a number {low} and at most "
                                 f"{maximum:g}.")
        return number
    return check


def choice(name: str, options: tuple) -> Validator:
    def check(value):
        for option in options:
            if value == option or (isinstance(value, str) and str(option).lower() == value.lower()):
                return option
        raise ParameterError(f"Parameter {name}={value!r} is invalid; expected one of {list(options)}.")
    return check


def stride(name: str) -> Validator:
    one = positive_float(name, allow_zero=True)

    def check(value):
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise ParameterError(f"Parameter {name}={value!r} is invalid; expected one number or [left, right].")
            return [one(v) for v in value]
        return one(value)
    return check


def labels(name: str) -> Validator:
    def check(value):
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if not isinstance(value, (list, tuple)) or not value:
            raise ParameterError(f"Parameter {name} must be a non-empty list of strings, got {value!r}.")
        if len(value) > MAX_LABELS:
            raise ParameterError(f"Parameter {name} has {len(value)} labels; at most {MAX_LABELS} are allowed.")
        clean = [v.strip() for v in value if isinstance(v, str)]
        if len(clean) != len(value) or not all(clean) or max(map(len, clean)) > MAX_LABEL_CHARS:
            raise ParameterError(f"Parameter {name} must hold non-empty strings of at most {MAX_LABEL_CHARS} "
                                 "characters.")
        return clean
    return check


def template(name: str) -> Validator:
    def check(value):
        if not isinstance(value, str) or "{}" not in value or len(value) > MAX_LABEL_CHARS:
            raise ParameterError(f"Parameter {name}={value!r} is invalid; expected a string with a '{{}}' where "
                                 "the label goes, e.g. 'This is a photo of {}.'.")
        return value
    return check


# ----------------------------------------------------------------------------- adapters


@dataclass
class TaskAdapter:
    """How one pipeline task is served. ``media`` is "audio", "image" or "text"."""

    task: str
    media: str
    parameters: dict[str, Validator] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    def check_parameters(self, params) -> dict:
        if not isinstance(params, dict):
            raise ParameterError(f"'parameters' must be a JSON object, got {type(params).__name__}.")
        unknown = sorted(set(params) - set(self.parameters))
        if unknown:
            raise ParameterError(f"Unknown parameter(s) {unknown} for {self.task}; allowed: "
                                 f"{sorted(self.parameters)}.")
        missing = [name for name in self.required if name not in params]
        if missing:
            raise ParameterError(f"Parameter(s) {missing} are required for {self.task}.")
        return {name: self.parameters[name](value) for name, value in params.items()}

    def json_inputs(self, inputs):
        """The ``inputs`` member of a JSON body → bytes (base64 files), samples or text."""
        if self.media == "text":
            if not isinstance(inputs, str) or not inputs:
                raise InvalidInputError("'inputs' must be a non-empty string of text.")
            return inputs
        if isinstance(inputs, str):
            try:
                return base64.b64decode(inputs.split(",", 1)[-1], validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInputError("'inputs' is not valid base64; encode the file's bytes with base64.") from None
        if self.media == "audio" and isinstance(inputs, list) and inputs and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in inputs):
            return inputs
        samples = " or a non-empty list of float samples at the model's sampling rate" if self.media == "audio" else ""
        raise InvalidInputError(f"'inputs' must be a base64 string of the file{samples}.")

    def decode(self, pipe, value, limits: Limits):
        """Bytes / samples / text → the pipeline's input, refusing over-limit audio before decoding."""
        if self.media == "audio":
            return _decode_audio(pipe, value, limits)
        if self.media == "image":
            return _decode_image(value, limits)
        if isinstance(value, (bytes, bytearray)):
            try:
                return bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInputError("The request body is not UTF-8 text.") from None
        return value

    def predict(self, pipe, items: list, params: dict) -> list:
        """One pipeline call for the whole batch (the pipeline pads/buckets it invariantly)."""
        results = pipe(items, batch_size=len(items), **params)
        return list(results)


def _decode_audio(pipe, value, limits: Limits):
    import numpy as np

    from ..pipelines.base import audio_input

    rate = pipe.feature_extractor.sampling_rate
    if isinstance(value, list):
        if len(value) > limits.max_samples:
            raise limits.too_long(len(value) / rate, len(value))
        array = np.asarray(value, dtype=np.float32)
        if not np.isfinite(array).all():
            raise InvalidInputError("'inputs' holds NaN or infinite samples.")
        return audio_input(array, rate)
    check_audio_header(value, rate, limits)
    return audio_input(value, rate, mono_mix=True)


def _decode_image(value, limits: Limits):
    import io
    import warnings

    import PIL.Image

    from ..vision.image_io import load_image
    from .limits import LimitError

    try:
        with warnings.catch_warnings():  # our own pixel limit below replaces Pillow's bomb warning
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            image = PIL.Image.open(io.BytesIO(value))  # lazy: only the header is read here
    except Exception as exc:  # Pillow raises UnidentifiedImageError, OSError, DecompressionBombError, ...
        raise InvalidInputError(f"The request body is not a readable image ({type(exc).__name__}). Send a PNG, "
                                "JPEG or other format Pillow can open.") from None
    if image.width * image.height > limits.max_image_pixels:
        raise LimitError(413, f"The image is {image.width}x{image.height} pixels; the limit is "
                         f"{limits.max_image_pixels} pixels (start the server with a larger --max-image-pixels).")
    try:
        image.load()
    except Exception as exc:
        raise InvalidInputError(f"The request body is not a readable image ({type(exc).__name__}); the file may "
                                "be truncated or corrupt.") from None
    return load_image(image)


_AUDIO_CLASSIFICATION = {"top_k": positive_int("top_k"),
                         "function_to_apply": choice("function_to_apply", ("softmax", "sigmoid", "none"))}
_ZERO_SHOT = {"candidate_labels": labels("candidate_labels"), "hypothesis_template": template("hypothesis_template")}

ADAPTERS: dict[str, TaskAdapter] = {}


def register_adapter(adapter: TaskAdapter) -> TaskAdapter:
    """Make ``adapter.task`` servable (a later registration for the same task replaces the earlier)."""
    if adapter.media not in ("audio", "image", "text"):
        raise ConfigError(f"TaskAdapter.media={adapter.media!r}; expected 'audio', 'image' or 'text'.")
    ADAPTERS[adapter.task] = adapter
    return adapter


class SpeechRecognitionAdapter(TaskAdapter):
    """Speech recognition: one pipeline call per batch of requests. With ``chunk_length_s`` the
    CTC pipeline puts the chunks of all the batch's clips through the model together (as many per
    pass as the batch has requests, and at least ``chunks_per_pass``), so a short request's
    chunks ride in a long one's last pass; each transcript equals the one its clip gets alone
    (the pipeline's bucketing keeps chunks batch-independent). Whisper decodes each clip and
    chunk on its own either way."""

    chunks_per_pass = 8  # a pass's size does not grow with the audio's length, only with the batch

    def predict(self, pipe, items: list, params: dict) -> list:
        size = max(len(items), self.chunks_per_pass) if params.get("chunk_length_s") else len(items)
        return list(pipe(items, batch_size=size, **params))


register_adapter(TaskAdapter("audio-classification", "audio", dict(_AUDIO_CLASSIFICATION)))
def _language(value):  # Whisper (issue 16): a code or name; the model names the known ones if it is not one
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise ParameterError(f"Parameter language={value!r} is invalid; expected a language code such as 'en'.")
    return value.strip()


register_adapter(SpeechRecognitionAdapter("automatic-speech-recognition", "audio", {
    "chunk_length_s": positive_float("chunk_length_s"), "stride_length_s": stride("stride_length_s"),
    # True: Whisper's segment timestamps; "word": CTC word offsets or Whisper's aligned words; "char": CTC
    "return_timestamps": choice("return_timestamps", (False, True, "char", "word")),
    "language": _language, "task": choice("task", ("transcribe", "translate"))}))
register_adapter(TaskAdapter("zero-shot-image-classification", "image", dict(_ZERO_SHOT), ("candidate_labels",)))
register_adapter(TaskAdapter("image-classification", "image", dict(_AUDIO_CLASSIFICATION)))  # issue 15
register_adapter(TaskAdapter("zero-shot-audio-classification", "audio", dict(_ZERO_SHOT), ("candidate_labels",)))


# --- NLP pipelines (issue 14): the request body is the text (for QA: the context) ---
class FillMaskAdapter(TaskAdapter):
    def predict(self, pipe, items: list, params: dict) -> list:
        results = pipe(items, batch_size=len(items), **params)
        return [results] if len(items) == 1 else list(results)  # the pipeline unwraps a one-text list


class QuestionAnsweringAdapter(TaskAdapter):
    def predict(self, pipe, items: list, params: dict) -> list:
        params = dict(params)
        question = params.pop("question")
        return list(pipe(question=[question] * len(items), context=items, batch_size=len(items), **params))


def _text(name: str) -> Validator:
    def check(value):
        if not isinstance(value, str) or not value.strip() or len(value) > 4096:
            raise ParameterError(f"Parameter {name} must be a non-empty string of at most 4096 characters.")
        return value
    return check


register_adapter(TaskAdapter("text-classification", "text", dict(_AUDIO_CLASSIFICATION)))
register_adapter(TaskAdapter("token-classification", "text", {"aggregation_strategy": choice(
    "aggregation_strategy", ("none", "simple", "first", "average", "max"))}))
register_adapter(FillMaskAdapter("fill-mask", "text", {"top_k": positive_int("top_k"), "targets": labels("targets")}))
register_adapter(TaskAdapter("zero-shot-classification", "text", {
    "candidate_labels": labels("candidate_labels"), "hypothesis_template": template("hypothesis_template"),
    "multi_label": choice("multi_label", (False, True))}, ("candidate_labels",)))
register_adapter(TaskAdapter("feature-extraction", "text"))
register_adapter(QuestionAnsweringAdapter("question-answering", "text", {
    "question": _text("question"), "top_k": positive_int("top_k"),
    "handle_impossible_answer": choice("handle_impossible_answer", (False, True))}, ("question",)))
# --- text generation (issue 13), streamed over server-sent events with stream=true (serving: issue 11) ---
class TextGenerationAdapter(TaskAdapter):
    """Prompts batched into one left-padded generate(); a streaming request runs alone with its streamer."""

    streams = True

    def check_parameters(self, params) -> dict:
        checked = super().check_parameters(params)
        if checked.get("stream") and (checked.get("num_beams", 1) > 1 or checked.get("num_return_sequences", 1) > 1):
            raise ParameterError("Parameter stream=true streams one sequence: it cannot be combined with num_beams > 1 "
                                 "or num_return_sequences > 1.")
        return checked

    def predict(self, pipe, items: list, params: dict) -> list:
        from .streaming import ClientGone

        params = dict(params)
        if not params.pop("stream", False):
            return list(pipe(items, batch_size=len(items), **params))
        results = []
        for item in items:  # each with its own streamer (one sequence per streamer)
            try:
                results.append(pipe(item.text, streamer=item.streamer(pipe.tokenizer), **params))
            except ClientGone:
                results.append(None)
        return results


register_adapter(TextGenerationAdapter("text-generation", "text", {
    "max_new_tokens": positive_int("max_new_tokens", 4096), "do_sample": choice("do_sample", (False, True)),
    "temperature": positive_float("temperature", 100.0), "top_k": positive_int("top_k", 100_000),
    "top_p": positive_float("top_p", 1.0), "num_beams": positive_int("num_beams", 16),
    "num_return_sequences": positive_int("num_return_sequences", 16),
    "repetition_penalty": positive_float("repetition_penalty", 100.0),
    "return_full_text": choice("return_full_text", (True, False)), "stream": choice("stream", (False, True))}))
# --- end text generation ---


# --- end NLP pipelines ---


def adapter_for(task: str) -> TaskAdapter:
    if task not in ADAPTERS:
        raise ConfigError(f"Cannot serve task {task!r}; servable tasks: {sorted(ADAPTERS)} (register a TaskAdapter "
                          "for a new one).")
    return ADAPTERS[task]


def infer_task(model_dir) -> str:
    """The task to serve for a checkpoint folder, from its config: the rule pipeline() uses too."""
    from ..pipelines.task_inference import infer_task as infer

    return infer(model_dir, tasks=ADAPTERS)
