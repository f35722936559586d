"""``pipeline("automatic-speech-recognition")`` for Whisper (encoder-decoder speech models).

Three ways through long audio, as in Transformers: up to 30 s is one ``generate`` call; longer
audio without ``chunk_length_s`` goes to Whisper's sequential long-form ``generate`` (timestamps
on, each window conditioned as the generation config says); with ``chunk_length_s`` the audio
is cut into overlapping chunks decoded independently and merged on their common tokens.
``return_timestamps=True`` adds ``chunks`` with segment times; ``return_timestamps="word"`` makes
the chunks words, timed by cross-attention alignment (``generate(return_token_timestamps=True)``,
which needs the checkpoint's ``alignment_heads``), in all three modes. Every clip and chunk is
decoded alone, so a result never depends on the other inputs of a batch.

Generation defaults are Transformers' for this pipeline (OpenAI's): ``num_beams=5`` and
``max_new_tokens=256`` unless the checkpoint's generation config or the call sets them (a set
``max_length`` also drops the ``max_new_tokens`` default).
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.errors import InvalidInputError
from .automatic_speech_recognition import chunk_bounds
from .base import Pipeline, audio_input

PIPELINE_DEFAULTS = {"max_new_tokens": 256, "num_beams": 5}
_SAMPLING = ("temperature", "top_k", "top_p", "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff")


class SpeechSeq2SeqPipeline(Pipeline):
    task = "automatic-speech-recognition"
    call_parameters = ("chunk_length_s", "stride_length_s", "return_timestamps", "return_language",
                       "generate_kwargs", "ignore_warning")

    def __call__(self, inputs, chunk_length_s: float | None = None, stride_length_s=None, return_timestamps=None,
                 return_language: bool | None = None, generate_kwargs: dict | None = None,
                 batch_size: int | None = None, ignore_warning: bool | None = None, **kwargs):
        """Transcribe one input (→ ``{"text"}``), a list (→ a list) or a stream (→ an iterator)."""
        settings = {**self._defaults}
        given = {"chunk_length_s": chunk_length_s, "stride_length_s": stride_length_s,
                 "return_timestamps": return_timestamps, "return_language": return_language}
        settings.update({k: v for k, v in given.items() if v is not None})
        generate = {**settings.pop("generate_kwargs", {}), **(generate_kwargs or {}), **kwargs}
        if "max_new_tokens" in generate and "max_length" in generate:
            raise InvalidInputError("Pass max_new_tokens or max_length in generate_kwargs, not both.")
        self._check_timestamps(settings.get("return_timestamps"))
        settings.pop("ignore_warning", None)  # Transformers' chunking warning: polymodal does not warn
        generate = self._with_defaults(generate)
        rate = self.feature_extractor.sampling_rate

        def process(items: list, first: int | None) -> list:
            return [self._transcribe(audio_input(item, rate, index=None if first is None else first + i,
                                                 mono_mix=True), settings, generate)
                    for i, item in enumerate(items)]

        return self.run(inputs, process, batch_size)

    def _check_timestamps(self, timestamps) -> None:
        if timestamps not in (None, False, True, "word"):
            raise InvalidInputError(
                f"return_timestamps={timestamps!r}: Whisper gives segment timestamps (True) or word-level "
                "timestamps ('word'), not characters.")
        if timestamps == "word" and getattr(self.model.generation_config, "alignment_heads", None) is None:
            raise InvalidInputError(
                "return_timestamps='word' (word-level timestamps) needs the cross-attention heads that follow the "
                "speech: set pipe.model.generation_config.alignment_heads = [[layer, head], ...] (OpenAI's "
                "checkpoints have them in generation_config.json; a fine-tuned model can reuse its base model's).")

    def _with_defaults(self, generate: dict) -> dict:
        """The pipeline's generation defaults, where neither the call nor the checkpoint sets a value."""
        already = {**self.model.generation_config.to_diff_dict(), **generate}
        added = {k: v for k, v in PIPELINE_DEFAULTS.items()
                 if k not in already and not (k == "max_new_tokens" and "max_length" in already)}
        if not already.get("do_sample"):
            added = {k: v for k, v in added.items() if k not in _SAMPLING}
        pad = getattr(self.tokenizer, "pad_token_id", None)
        if pad is not None and "pad_token_id" not in generate:
            added["pad_token_id"] = pad
        return {**generate, **added}

    # ------------------------------------------------------------------ one clip
    def _transcribe(self, audio: np.ndarray, settings: dict, generate: dict) -> dict:
        timestamps = settings.get("return_timestamps")
        timestamps = timestamps or getattr(self.model.generation_config, "return_timestamps", False)
        chunk_length_s = settings.get("chunk_length_s")
        if chunk_length_s:
            outputs = [self._generate(audio[start:end], timestamps, generate, settings.get("return_language"),
                                      stride=(end - start, left, right))
                       for start, end, left, right in self._chunks(len(audio), chunk_length_s,
                                                                   settings.get("stride_length_s"))]
        else:
            outputs = [self._generate(audio, timestamps, generate, settings.get("return_language"))]
        rate = self.feature_extractor.sampling_rate
        for output in outputs:
            if "stride" in output:
                output["stride"] = tuple(value / rate for value in output["stride"])
        time_precision = self.feature_extractor.chunk_length / self.model.config.max_source_positions
        text, optional = self.tokenizer._decode_asr(outputs, return_timestamps=timestamps,
                                                    return_language=settings.get("return_language"),
                                                    time_precision=time_precision)
        return {"text": text, **optional}

    def _chunks(self, length: int, chunk_length_s: float, stride_length_s):
        rate = self.feature_extractor.sampling_rate
        if stride_length_s is None:
            stride_length_s = chunk_length_s / 6
        if isinstance(stride_length_s, (int, float)):
            stride_length_s = [stride_length_s, stride_length_s]
        chunk_len = int(round(chunk_length_s * rate))
        left, right = (int(round(s * rate)) for s in stride_length_s)
        if chunk_len <= left + right:
            raise InvalidInputError(
                f"chunk_length_s={chunk_length_s} must be longer than the two strides together ({stride_length_s}).")
        return chunk_bounds(length, chunk_len, left, right)

    @torch.inference_mode()
    def _generate(self, audio: np.ndarray, timestamps, generate: dict, return_language=None, stride=None) -> dict:
        extractor = self.feature_extractor
        long_form = stride is None and len(audio) > extractor.n_samples
        options = {"truncation": False, "padding": "longest"} if long_form else {}
        features = extractor(audio, sampling_rate=extractor.sampling_rate, return_tensors="pt",
                             return_attention_mask=True, **options)
        input_features = features["input_features"].to(self.device, self.model.dtype)
        kwargs = dict(generate)
        if timestamps:
            kwargs["return_timestamps"] = True
        if timestamps == "word":  # token times come per segment, shifted to where each window starts
            kwargs["return_token_timestamps"] = kwargs["return_segments"] = True
        if return_language:  # generate() strips the prompt, language token included: read it from the segments
            kwargs["return_segments"] = True
        tokens = self.model.generate(input_features, attention_mask=features["attention_mask"].to(self.device),
                                     **kwargs)
        language, times = None, None
        if isinstance(tokens, dict):
            language = self._language_token(tokens.get("segments")) if return_language else None
            if timestamps == "word":
                times = [torch.cat([s["token_timestamps"] for s in row]) for row in tokens["segments"]]
            tokens = tokens["sequences"]
        tokens = tokens.cpu()
        if language is not None:
            tokens = torch.cat([torch.tensor([[language]], dtype=tokens.dtype), tokens], dim=-1)
        output = {"tokens": tokens}
        if times is not None:
            output["token_timestamps"] = times
        if stride is not None:
            output["stride"] = stride
        return output

    def _language_token(self, segments) -> int | None:
        if not segments or not segments[0]:
            return None
        result = segments[0][0]["result"]
        sequence = result["sequences"] if isinstance(result, dict) else result
        languages = set(getattr(self.model.generation_config, "lang_to_id", {}).values())
        return next((t for t in sequence.tolist() if t in languages), None)
