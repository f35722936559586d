"""``text2text-generation``, ``summarization`` and ``translation`` pipelines (encoder-decoder models).

Transformers 5.x dropped these pipelines; they are built here from the documented behaviour
(Transformers 4.x): the input text, with the model's task prefix (``config.prefix`` or the
``task_specific_params`` of the task, e.g. T5's ``"summarize: "``), is encoded and
``model.generate`` writes the output; each input gets a list of ``{"generated_text"}`` /
``{"summary_text"}`` / ``{"translation_text"}`` (``num_return_sequences`` of them), and a list of
inputs with one sequence each gets a flat list. ``return_tensors=True`` gives
``{"…_token_ids"}`` instead.

Generation settings come, in rising priority, from the pipeline default ``max_new_tokens=256``
(only when the checkpoint has no ``generation_config.json``), the task's
``task_specific_params``, arguments given to ``pipeline(...)`` and arguments of the call.
``translation_xx_to_yy`` picks T5's ``task_specific_params["translation_xx_to_yy"]``.

Inputs of a batch are padded on the right and the encoder masks the padding, so a text's
output does not depend on the other texts of its batch.
"""

from __future__ import annotations

import warnings

import torch

from ..core.errors import InvalidInputError
from .base import check_batch_size
from .text_base import TextPipeline, check_text

PIPELINE_DEFAULTS = {"max_new_tokens": 256}
_OWN_KEYS = ("return_tensors", "return_text", "clean_up_tokenization_spaces", "truncation", "stop_sequence",
             "src_lang", "tgt_lang")
_GENERATION_KEYS = ("max_length", "min_length", "max_new_tokens", "min_new_tokens", "num_beams", "do_sample",
                    "temperature", "top_k", "top_p", "length_penalty", "no_repeat_ngram_size", "early_stopping",
                    "num_return_sequences", "repetition_penalty", "forced_bos_token_id", "bad_words_ids",
                    "decoder_start_token_id", "eos_token_id", "pad_token_id", "generation_config", "streamer")


class Text2TextGenerationPipeline(TextPipeline):
    task = "text2text-generation"
    return_name = "generated"
    call_parameters = (*_OWN_KEYS, *_GENERATION_KEYS)

    def __call__(self, inputs, batch_size: int | None = None, **kwargs):
        options = {**self._defaults, **kwargs}
        own = {k: options.pop(k) for k in _OWN_KEYS if k in options}
        if own.get("src_lang") is not None or own.get("tgt_lang") is not None:
            self._check_languages(own)
        generate_kwargs = self._generate_kwargs(options, own)
        size = check_batch_size(batch_size) or self.batch_size
        if size > 1 and self.tokenizer.pad_token_id is None:
            raise InvalidInputError("Batching texts needs a pad token, and this tokenizer has none; set one or "
                                    "use batch_size=1.")

        def process(items: list, first: int | None) -> list:
            texts = [check_text(item, None if first is None else first + i) for i, item in enumerate(items)]
            return self.sorted_batches(texts, size, lambda group: self._generate(group, own, generate_kwargs),
                                       self.approx_length)

        results = self.run(inputs, process, batch_size)
        if isinstance(inputs, (list, tuple)) and all(len(r) == 1 for r in results):
            return [r[0] for r in results]  # Transformers flattens one-sequence results of a list
        return results

    # ------------------------------------------------------------------ settings
    def task_params(self) -> dict:
        """``config.task_specific_params[task]`` (T5 keeps its prefixes and beam settings there)."""
        params = getattr(self.model.config, "task_specific_params", None) or {}
        return dict(params.get(self.task, {}))

    def prefix(self) -> str:
        return self.task_params().get("prefix", getattr(self.model.config, "prefix", None)) or ""

    def _generate_kwargs(self, options: dict, own: dict) -> dict:
        unknown = sorted(set(options) - set(_GENERATION_KEYS))
        if unknown:
            raise InvalidInputError(
                f"Unknown argument(s) {unknown} for the {self.task} pipeline; it takes generate() arguments "
                f"({', '.join(_GENERATION_KEYS[:8])}, …) and {', '.join(_OWN_KEYS)}.")
        config = self.model.generation_config
        defaults = {} if not getattr(config, "_from_model_config", False) else dict(PIPELINE_DEFAULTS)
        task = {k: v for k, v in self.task_params().items() if k != "prefix"}
        merged = {**defaults, **task, **options}
        if ("max_length" in task or "max_length" in options) and "max_new_tokens" not in {**task, **options}:
            merged.pop("max_new_tokens", None)  # a set max_length wins over the pipeline's default
        stop = own.get("stop_sequence")
        if stop is not None:
            ids = self.tokenizer.encode(stop, add_special_tokens=False)
            if not ids:
                raise InvalidInputError(f"stop_sequence={stop!r} encodes to no tokens.")
            merged["eos_token_id"] = ids[0]
        return merged

    def _check_languages(self, own: dict) -> None:
        raise InvalidInputError(f"src_lang/tgt_lang are for translation models with language codes; "
                                f"{type(self.tokenizer).__name__} has none.")

    def check_inputs(self, input_length: int, generate_kwargs: dict) -> None:
        """Hook for the task's warnings (summary longer than the text, translation too short)."""

    # ------------------------------------------------------------------ steps
    @torch.inference_mode()
    def _generate(self, texts: list[str], own: dict, generate_kwargs: dict) -> list[list[dict]]:
        prefix = self.prefix()
        truncation = own.get("truncation", False)
        options = {}
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if truncation and limit and (getattr(self.tokenizer, "model_max_length", None) or 10**9) > limit:
            options["max_length"] = limit  # the tokenizer knows no limit: cut at the encoder's
        encoding = self.tokenizer([prefix + t for t in texts], padding=len(texts) > 1, truncation=truncation,
                                  return_tensors="pt", **options)
        input_ids = encoding["input_ids"]
        self._check_length(input_ids, truncation)
        self.check_inputs(input_ids.shape[1], generate_kwargs)
        mask = encoding.get("attention_mask")
        output = self.model.generate(input_ids=input_ids.to(self.device),
                                     attention_mask=None if mask is None else mask.to(self.device),
                                     **generate_kwargs)
        sequences = output if isinstance(output, torch.Tensor) else output["sequences"]
        per_text = sequences.shape[0] // len(texts)
        rows = sequences.view(len(texts), per_text, -1).tolist()
        return [[self._record(row, own) for row in rows[i]] for i in range(len(texts))]

    def _record(self, ids: list[int], own: dict) -> dict:
        if own.get("return_tensors"):
            return {f"{self.return_name}_token_ids": torch.tensor(ids)}
        text = self.tokenizer.decode(ids, skip_special_tokens=True,
                                     clean_up_tokenization_spaces=own.get("clean_up_tokenization_spaces"))
        return {f"{self.return_name}_text": text}

    def _check_length(self, input_ids: torch.Tensor, truncation) -> None:
        """Text longer than a learned position table is an error (T5's relative positions have none)."""
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit and not truncation and input_ids.shape[1] > limit:
            raise InvalidInputError(
                f"The input is {input_ids.shape[1]} tokens; this model's encoder reads at most {limit}. Pass "
                "truncation=True to cut it (the end is dropped), or split the text.")


class SummarizationPipeline(Text2TextGenerationPipeline):
    task = "summarization"
    return_name = "summary"

    def check_inputs(self, input_length: int, generate_kwargs: dict) -> None:
        config = self.model.generation_config
        min_length = generate_kwargs.get("min_length", config.min_length) or 0
        max_length = generate_kwargs.get("max_length", config.max_length)
        if max_length is not None and max_length < min_length:
            warnings.warn(f"Your min_length={min_length} must be smaller than your max_length={max_length}.",
                          UserWarning, stacklevel=4)
        if max_length is not None and "max_new_tokens" not in generate_kwargs and input_length < max_length:
            warnings.warn(f"max_length={max_length} is longer than the input ({input_length} tokens); a summary is "
                          f"usually shorter, e.g. max_length={input_length // 2}.", UserWarning, stacklevel=4)


class TranslationPipeline(Text2TextGenerationPipeline):
    task = "translation"
    return_name = "translation"

    def check_inputs(self, input_length: int, generate_kwargs: dict) -> None:
        max_length = generate_kwargs.get("max_length", self.model.generation_config.max_length)
        if max_length is not None and "max_new_tokens" not in generate_kwargs and input_length > 0.9 * max_length:
            warnings.warn(f"The input is {input_length} tokens and max_length={max_length}; the translation may be "
                          "cut short: raise max_length.", UserWarning, stacklevel=4)
