"""``GenerationMixin``: the one ``generate()`` loop for decoders and encoder-decoders.

A model opts in by inheriting ``GenerationMixin`` (first in its bases, so that
``save_pretrained``/``from_pretrained`` also write/read ``generation_config.json``) and by
following the model contract in ``docs/generation.md``.

The loop keeps the sequence, attention mask and position ids in buffers sized for the final
length and hands the model views of them, so a step costs one forward plus a few small
kernels — no ``torch.cat`` of the growing sequence, mask or cache.
"""

from __future__ import annotations

import copy
import inspect
import warnings

import torch

from ..core.errors import InvalidInputError
from .beam_search import beam_search
from .cache import DynamicCache, EncoderDecoderCache
from .configuration_utils import GLOBAL_DEFAULTS, GenerationConfig
from .logits_process import (
    EpsilonLogitsWarper,
    EtaLogitsWarper,
    ExponentialDecayLengthPenalty,
    ForcedBOSTokenLogitsProcessor,
    ForcedEOSTokenLogitsProcessor,
    InfNanRemoveLogitsProcessor,
    LogitNormalization,
    LogitsProcessorList,
    MinLengthLogitsProcessor,
    MinNewTokensLengthLogitsProcessor,
    MinPLogitsWarper,
    NoBadWordsLogitsProcessor,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    SequenceBiasLogitsProcessor,
    SuppressTokensAtBeginLogitsProcessor,
    SuppressTokensLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)
from .outputs import GenerateDecoderOnlyOutput, GenerateEncoderDecoderOutput
from .stopping_criteria import (
    EosTokenCriteria,
    MaxLengthCriteria,
    MaxTimeCriteria,
    StoppingCriteriaList,
    StopStringCriteria,
)

# Model inputs generate() understands besides the main input; the rest go to forward() as is.
_ENCODER_SKIP_PREFIXES = ("decoder_", "cross_attn", "use_cache", "past_key_values")


class GenerationMixin:
    """Adds ``generate()`` and ``generation_config`` to a model with a language-modeling head."""

    # ------------------------------------------------------------------ generation_config
    @property
    def generation_config(self) -> GenerationConfig:
        config = self.__dict__.get("_generation_config")
        if config is None:
            config = GenerationConfig.from_model_config(self.config)
            self.__dict__["_generation_config"] = config
        return config

    @generation_config.setter
    def generation_config(self, value: GenerationConfig) -> None:
        self.__dict__["_generation_config"] = value

    @classmethod
    def can_generate(cls) -> bool:
        return True

    def save_pretrained(self, save_directory, *args, **kwargs):
        super().save_pretrained(save_directory, *args, **kwargs)
        self.generation_config.save_pretrained(save_directory)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        loaded = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        hub = {k: kwargs[k] for k in ("cache_dir", "revision", "local_files_only", "token") if k in kwargs}
        try:
            model.generation_config = GenerationConfig.from_pretrained(pretrained_model_name_or_path, **hub)
        except OSError:  # no generation_config.json: derived from config.json on first use
            pass
        return loaded

    # ------------------------------------------------------------------ the hook models may override
    def prepare_inputs_for_generation(
        self,
        input_ids,
        past_key_values=None,
        attention_mask=None,
        inputs_embeds=None,
        position_ids=None,
        **kwargs,
    ) -> dict:
        """Inputs of one forward: only the positions the cache has not seen yet.

        ``input_ids`` is the whole sequence so far (prompt + generated). For encoder-decoders
        it is the decoder sequence and ``kwargs`` carries ``encoder_outputs``.
        """
        seen = past_key_values.get_seq_length() if past_key_values is not None else 0
        inputs = {"past_key_values": past_key_values, "use_cache": kwargs.pop("use_cache", True)}
        if self.config.is_encoder_decoder:
            inputs["decoder_input_ids"] = input_ids[:, seen:]
            inputs["attention_mask"] = attention_mask
        elif inputs_embeds is not None and seen == 0:
            inputs["inputs_embeds"] = inputs_embeds
            inputs["attention_mask"] = attention_mask
        else:
            inputs["input_ids"] = input_ids[:, seen:]
            inputs["attention_mask"] = attention_mask
        if position_ids is not None:
            inputs["position_ids"] = position_ids[:, seen:]
        inputs.update(kwargs)
        return inputs

    def _reorder_cache_for_beams(self, cache, beam_idx: torch.Tensor):
        hook = getattr(self, "_reorder_cache", None)
        if hook is not None:
            return hook(cache, beam_idx)
        if isinstance(cache, EncoderDecoderCache):
            # Beam search only moves rows within a batch item's own beams, and those rows hold the
            # same encoder output (it was repeated per beam), so their cross-attention keys/values
            # are equal: only the self-attention history needs moving. Reordering the cross cache
            # too (as Transformers does) copies layers x 2 x beams x heads x source x dim floats per
            # step — 400 MB for T5-small on 8 x 512 tokens with 4 beams.
            cache.self_attention_cache.reorder_cache(beam_idx)
            return cache
        cache.reorder_cache(beam_idx)
        return cache

    # ------------------------------------------------------------------ generate
    @torch.no_grad()
    def generate(
        self,
        inputs: torch.Tensor | None = None,
        generation_config: GenerationConfig | None = None,
        logits_processor: LogitsProcessorList | None = None,
        stopping_criteria: StoppingCriteriaList | None = None,
        prefix_allowed_tokens_fn=None,
        streamer=None,
        tokenizer=None,
        **kwargs,
    ):
        """Generate token ids; see ``docs/generation.md`` for every argument."""
        if prefix_allowed_tokens_fn is not None:
            raise InvalidInputError("prefix_allowed_tokens_fn is not supported; use bad_words_ids or sequence_bias.")
        config, model_kwargs = self._prepare_generation_config(generation_config, kwargs)
        inputs, input_name, model_kwargs = self._prepare_main_input(inputs, config, model_kwargs)
        pad_id, eos = self._prepare_special_tokens(config, inputs.device)
        if "attention_mask" not in model_kwargs and input_name in ("input_ids", "inputs_embeds"):
            model_kwargs["attention_mask"] = self._infer_attention_mask(inputs, pad_id, eos)
        elif "attention_mask" not in model_kwargs and self.config.is_encoder_decoder:
            model_kwargs.pop("attention_mask", None)

        if self.config.is_encoder_decoder:
            input_ids, model_kwargs = self._prepare_encoder_decoder(inputs, input_name, config, model_kwargs)
        elif input_name == "inputs_embeds":
            input_ids = inputs.new_empty((inputs.shape[0], 0), dtype=torch.long)
            model_kwargs["inputs_embeds"] = inputs
        else:
            input_ids = inputs
        prompt_len = input_ids.shape[1]
        embeds_len = inputs.shape[1] if input_name == "inputs_embeds" else 0
        self._prepare_lengths(config, prompt_len, embeds_len)
        if not self.config.is_encoder_decoder and "attention_mask" in model_kwargs:
            self._check_padding_side(model_kwargs["attention_mask"])
        if not self.config.is_encoder_decoder and self._accepts("position_ids"):
            model_kwargs["position_ids"] = self._initial_position_ids(model_kwargs.get("attention_mask"), input_ids, embeds_len)

        expand = config.num_beams if config.num_beams > 1 else config.num_return_sequences
        input_ids, model_kwargs = _expand_inputs(input_ids, model_kwargs, expand)
        if config.use_cache and "past_key_values" not in model_kwargs:
            model_kwargs["past_key_values"] = cache = self._new_cache(config.max_length + embeds_len)
            if (expand > 1 and getattr(self, "_shares_cross_attention_rows", False)
                    and not (config.output_attentions or model_kwargs.get("output_attentions"))):
                cache.cross_group = expand
        model_kwargs["use_cache"] = config.use_cache
        for flag in ("output_attentions", "output_hidden_states"):
            if getattr(config, flag):
                model_kwargs[flag] = True
        if self._accepts("logits_to_keep"):
            model_kwargs["logits_to_keep"] = 1  # only the last position's logits are used

        processors = self._get_logits_processor(config, prompt_len, model_kwargs, logits_processor)
        criteria = self._get_stopping_criteria(config, tokenizer, stopping_criteria)
        if config.num_beams > 1:
            if streamer is not None:
                raise InvalidInputError("streamer works with greedy decoding and sampling only (num_beams=1).")
            return beam_search(self, input_ids, processors, criteria, config, pad_id, eos, model_kwargs)
        if streamer is not None:
            streamer.put(input_ids.cpu())
        return self._sample(input_ids, processors, criteria, config, pad_id, eos, streamer, model_kwargs)

    # ------------------------------------------------------------------ preparation
    def _prepare_generation_config(self, generation_config, kwargs):
        """Caller's arguments > ``generation_config`` > the model's > global defaults."""
        base = copy.deepcopy(generation_config if generation_config is not None else self.generation_config)
        for key, value in self.generation_config.to_dict().items():
            if getattr(base, key, None) is None:
                setattr(base, key, value)
        for key, value in GLOBAL_DEFAULTS.items():
            if getattr(base, key, None) is None:
                setattr(base, key, value)
        model_kwargs = base.update(**kwargs)
        if base.max_new_tokens is not None and "max_length" in kwargs and kwargs["max_length"] is not None:
            warnings.warn("Both max_new_tokens and max_length were given; max_new_tokens wins.", stacklevel=3)
        _validate_strategy(base)
        return base, model_kwargs

    def _prepare_main_input(self, inputs, config, model_kwargs):
        name = self.main_input_name if self.config.is_encoder_decoder else "input_ids"
        if inputs is not None and name in model_kwargs:
            raise InvalidInputError(f"generate() got the prompt twice: positionally and as {name}=. Pass it once.")
        if inputs is None:
            inputs = model_kwargs.pop(name, None)
        if inputs is None and not self.config.is_encoder_decoder and model_kwargs.get("inputs_embeds") is not None:
            return model_kwargs.pop("inputs_embeds"), "inputs_embeds", model_kwargs
        if inputs is None:
            bos = config.bos_token_id
            if self.config.is_encoder_decoder or bos is None:
                raise InvalidInputError(
                    f"generate() needs a prompt: pass {name}= (a (batch, length) tensor)"
                    + ("." if self.config.is_encoder_decoder else " or set bos_token_id to start from BOS.")
                )
            batch = model_kwargs["attention_mask"].shape[0] if "attention_mask" in model_kwargs else 1
            inputs = torch.full((batch, 1), bos, dtype=torch.long, device=self.device)
        if not isinstance(inputs, torch.Tensor):
            raise InvalidInputError(f"{name} must be a torch tensor, got {type(inputs).__name__}. Tokenize with return_tensors='pt'.")
        if name == "input_ids":
            inputs = _check_input_ids(inputs)
        return inputs.to(self.device), name, model_kwargs

    def _prepare_special_tokens(self, config, device):
        eos = config.eos_token_id
        eos = None if eos is None else torch.as_tensor([eos] if isinstance(eos, int) else list(eos), device=device)
        pad = config.pad_token_id
        if pad is None and eos is not None:
            pad = int(eos[0])  # Transformers' choice: finished rows are filled with the first EOS id
            config.pad_token_id = pad
        return pad, eos

    def _infer_attention_mask(self, inputs, pad_id, eos):
        """1 everywhere unless the prompt visibly contains padding (pad id present and != EOS)."""
        ones = torch.ones(inputs.shape[:2], dtype=torch.long, device=inputs.device)
        if pad_id is None or inputs.dim() != 2 or inputs.is_floating_point():
            return ones
        if eos is not None and bool((eos == pad_id).any()):
            return ones
        if not bool((inputs == pad_id).any()):
            return ones
        return inputs.ne(pad_id).long()

    def _prepare_encoder_decoder(self, inputs, input_name, config, model_kwargs):
        if "encoder_outputs" not in model_kwargs:
            encoder = self.get_encoder()
            accepted = set(inspect.signature(encoder.forward).parameters)
            encoder_kwargs = {
                k: v for k, v in model_kwargs.items()
                if k in accepted and not k.startswith(_ENCODER_SKIP_PREFIXES) and v is not None
            }
            encoder_kwargs[input_name] = inputs
            encoder_kwargs["return_dict"] = True
            model_kwargs["encoder_outputs"] = encoder(**encoder_kwargs)
            for key in list(model_kwargs):
                if key in accepted and key not in ("attention_mask", "output_attentions", "output_hidden_states"):
                    model_kwargs.pop(key)
        start = config.decoder_start_token_id
        if start is None:
            start = config.bos_token_id
        decoder_input_ids = model_kwargs.pop("decoder_input_ids", None)
        batch = inputs.shape[0]
        if start is None:
            if decoder_input_ids is None:
                raise InvalidInputError("generate() needs decoder_start_token_id (or bos_token_id) in the generation config, or decoder_input_ids.")
            return decoder_input_ids.to(self.device), model_kwargs
        start_column = torch.full((batch, 1), start, dtype=torch.long, device=self.device)
        if decoder_input_ids is None:
            return start_column, model_kwargs
        decoder_input_ids = decoder_input_ids.to(self.device)
        if decoder_input_ids.shape[1] == 0 or bool((decoder_input_ids[:, 0] != start).any()):
            decoder_input_ids = torch.cat([start_column, decoder_input_ids], dim=-1)
            if "decoder_attention_mask" in model_kwargs:
                mask = model_kwargs["decoder_attention_mask"]
                model_kwargs["decoder_attention_mask"] = torch.cat([mask.new_ones((batch, 1)), mask], dim=-1)
        return decoder_input_ids, model_kwargs

    def _prepare_lengths(self, config, prompt_len: int, embeds_len: int) -> None:
        if config.max_new_tokens is not None:
            config.max_length = config.max_new_tokens + prompt_len
        elif embeds_len:
            config.max_length = max(config.max_length - embeds_len, 1)
        if config.min_new_tokens is not None:
            config.min_length = config.min_new_tokens + prompt_len
        if prompt_len >= config.max_length:
            raise InvalidInputError(
                f"The prompt is {prompt_len} tokens but max_length is {config.max_length}, so no token can be "
                "generated. Pass max_new_tokens=N (tokens to add after the prompt) instead of max_length."
            )
        limit = getattr(self.config, "max_position_embeddings", None) if getattr(self, "_learned_positions", False) else None
        total = config.max_length + embeds_len
        if limit is not None and total > limit:
            raise InvalidInputError(
                f"Prompt ({prompt_len + embeds_len} tokens) plus new tokens reach {total} positions, but "
                f"{type(self).__name__} has only {limit} (max_position_embeddings). Shorten the prompt "
                f"(e.g. tokenizer(..., truncation=True, max_length={max(limit - (total - prompt_len - embeds_len), 1)})) "
                "or ask for fewer new tokens."
            )

    def _check_padding_side(self, attention_mask: torch.Tensor) -> None:
        if attention_mask.shape[1] and bool((attention_mask[:, -1] == 0).any()):
            warnings.warn(
                "A decoder-only model got a right-padded batch: new tokens would follow the padding. "
                "Set tokenizer.padding_side = 'left' before tokenizing prompts for generation.",
                stacklevel=3,
            )

    def _initial_position_ids(self, attention_mask, input_ids, embeds_len):
        """Positions counted over real tokens only, so left padding does not shift them."""
        if attention_mask is None:
            length = input_ids.shape[1] + embeds_len
            return torch.arange(length, device=input_ids.device).unsqueeze(0).expand(input_ids.shape[0], -1)
        return (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 0)

    def _new_cache(self, capacity: int):
        if self.config.is_encoder_decoder:
            return EncoderDecoderCache(DynamicCache(max_cache_len=capacity), DynamicCache())
        return DynamicCache(max_cache_len=capacity)

    def _accepts(self, name: str) -> bool:
        cache = type(self).__dict__.get("_forward_params_cache")
        if cache is None:
            cache = set(inspect.signature(self.forward).parameters)
            type(self)._forward_params_cache = cache
        return name in cache

    # ------------------------------------------------------------------ processors and criteria
    def _get_logits_processor(self, config, prompt_len, model_kwargs, custom=None) -> LogitsProcessorList:
        eos = config.eos_token_id
        device = self.device
        out = LogitsProcessorList()
        if config.sequence_bias is not None:
            out.append(SequenceBiasLogitsProcessor(config.sequence_bias))
        if config.repetition_penalty is not None and config.repetition_penalty != 1.0:
            mask = model_kwargs.get("decoder_attention_mask" if self.config.is_encoder_decoder else "attention_mask")
            padding = (mask != 0).int().argmax(dim=1) if mask is not None else None
            out.append(RepetitionPenaltyLogitsProcessor(config.repetition_penalty, prompt_ignore_length=padding))
        if config.no_repeat_ngram_size:
            out.append(NoRepeatNGramLogitsProcessor(config.no_repeat_ngram_size))
        if config.bad_words_ids is not None:
            out.append(NoBadWordsLogitsProcessor(config.bad_words_ids, eos))
        if config.min_length and eos is not None:
            out.append(MinLengthLogitsProcessor(config.min_length, eos, device=device))
        if config.min_new_tokens and eos is not None:
            out.append(MinNewTokensLengthLogitsProcessor(prompt_len, config.min_new_tokens, eos, device=device))
        if config.forced_bos_token_id is not None:
            out.append(ForcedBOSTokenLogitsProcessor(config.forced_bos_token_id))
        if config.forced_eos_token_id is not None:
            out.append(ForcedEOSTokenLogitsProcessor(config.max_length, config.forced_eos_token_id, device=device))
        if config.remove_invalid_values:
            out.append(InfNanRemoveLogitsProcessor())
        if config.exponential_decay_length_penalty is not None and eos is not None:
            out.append(ExponentialDecayLengthPenalty(config.exponential_decay_length_penalty, eos, prompt_len))
        if config.suppress_tokens is not None:
            out.append(SuppressTokensLogitsProcessor(config.suppress_tokens, device=device))
        if config.begin_suppress_tokens is not None:
            begin = prompt_len if (prompt_len > 1 or config.forced_bos_token_id is None) else prompt_len + 1
            out.append(SuppressTokensAtBeginLogitsProcessor(config.begin_suppress_tokens, begin, device=device))
        out = _merge(out, custom, "logits processor")
        if config.do_sample:
            out.extend(self._get_warpers(config))
        if config.renormalize_logits:
            out.append(LogitNormalization())
        return out

    def _get_warpers(self, config) -> list:
        eos = config.eos_token_id
        n_eos = 0 if eos is None else (1 if isinstance(eos, int) else len(eos))
        # Beam sampling keeps at least one non-EOS continuation per beam.
        keep = (n_eos + 1 if n_eos else 2) if config.num_beams > 1 else 1
        warpers = []
        if config.temperature is not None and config.temperature != 1.0:
            warpers.append(TemperatureLogitsWarper(config.temperature))
        if config.top_k:
            warpers.append(TopKLogitsWarper(config.top_k, min_tokens_to_keep=keep))
        if config.top_p is not None and config.top_p < 1.0:
            warpers.append(TopPLogitsWarper(config.top_p, min_tokens_to_keep=keep))
        if config.min_p is not None:
            warpers.append(MinPLogitsWarper(config.min_p, min_tokens_to_keep=keep))
        if config.typical_p is not None and config.typical_p < 1.0:
            warpers.append(TypicalLogitsWarper(config.typical_p, min_tokens_to_keep=keep))
        if config.epsilon_cutoff and 0.0 < config.epsilon_cutoff < 1.0:
            warpers.append(EpsilonLogitsWarper(config.epsilon_cutoff, min_tokens_to_keep=keep))
        if config.eta_cutoff and 0.0 < config.eta_cutoff < 1.0:
            warpers.append(EtaLogitsWarper(config.eta_cutoff, min_tokens_to_keep=keep, device=self.device))
        return warpers

    def _get_stopping_criteria(self, config, tokenizer, custom=None) -> StoppingCriteriaList:
        out = StoppingCriteriaList([MaxLengthCriteria(config.max_length, getattr(self.config, "max_position_embeddings", None))])
        if config.max_time is not None:
            out.append(MaxTimeCriteria(config.max_time))
        if config.stop_strings is not None:
            out.append(StopStringCriteria(tokenizer, config.stop_strings))
        if config.eos_token_id is not None:
            out.append(EosTokenCriteria(config.eos_token_id))
        return _merge(out, custom, "stopping criterion")

    # ------------------------------------------------------------------ greedy / sampling loop
    def _sample(self, input_ids, processors, criteria, config, pad_id, eos, streamer, model_kwargs):
        batch, prompt_len = input_ids.shape
        max_length = config.max_length
        tokens = _Buffers(input_ids, model_kwargs, max_length)
        record = _Recorder(config, self.config.is_encoder_decoder)
        unfinished = torch.ones(batch, dtype=torch.long, device=input_ids.device)
        has_eos = eos is not None
        length = prompt_len
        step_kwargs = dict(model_kwargs)
        while True:
            tokens.fill(step_kwargs, length)
            inputs = self.prepare_inputs_for_generation(tokens.ids[:, :length], **step_kwargs)
            outputs = self(**inputs, return_dict=True)
            if "past_key_values" in step_kwargs and getattr(outputs, "past_key_values", None) is not None:
                step_kwargs["past_key_values"] = outputs.past_key_values
            step_kwargs.pop("inputs_embeds", None)
            logits = outputs.logits[:, -1].to(dtype=torch.float32, copy=True)
            scores = processors(tokens.ids[:, :length], logits)
            record.step(outputs, logits, scores)
            if config.do_sample:
                next_tokens = torch.multinomial(scores.softmax(dim=-1), num_samples=1).squeeze(1)
            else:
                next_tokens = scores.argmax(dim=-1)
            if has_eos:
                next_tokens = next_tokens * unfinished + pad_id * (1 - unfinished)
            tokens.append(next_tokens, length)
            length += 1
            if streamer is not None:
                streamer.put(next_tokens.cpu())
            unfinished = unfinished & ~criteria(tokens.ids[:, :length], record.scores)
            del outputs
            if not bool(unfinished.any()):
                break
        if streamer is not None:
            streamer.end()
        sequences = tokens.ids[:, :length]
        if not config.return_dict_in_generate:
            return sequences
        cache = step_kwargs.get("past_key_values")
        return record.output(sequences, cache, model_kwargs.get("encoder_outputs"))

    # ------------------------------------------------------------------ scores after the fact
    def compute_transition_scores(self, sequences, scores, beam_indices=None, normalize_logits: bool = False):
        """Per-token scores of ``sequences`` (``(B, new tokens)``) from ``generate``'s ``scores``."""
        from .scores import compute_transition_scores

        return compute_transition_scores(sequences, scores, beam_indices, normalize_logits)


# --------------------------------------------------------------------------- helpers
def _validate_strategy(config: GenerationConfig) -> None:
    config.validate()
    if (config.num_beam_groups or 1) > 1:
        if config.num_beams == 1:
            raise InvalidInputError(
                f"num_beam_groups={config.num_beam_groups} needs beam search: set num_beams to a multiple of it "
                "(e.g. num_beams=4, num_beam_groups=2) or drop num_beam_groups."
            )
        raise InvalidInputError("Group (diverse) beam search is not supported; drop num_beam_groups.")
    if not config.do_sample and config.num_return_sequences > config.num_beams:
        raise InvalidInputError(
            f"num_return_sequences={config.num_return_sequences} is larger than num_beams={config.num_beams}: greedy/"
            "beam search returns at most num_beams sequences. Raise num_beams or set do_sample=True."
        )
    if config.num_beams > 1 and config.num_return_sequences > config.num_beams:
        raise InvalidInputError(
            f"num_return_sequences={config.num_return_sequences} must be <= num_beams={config.num_beams}."
        )


def _check_input_ids(input_ids: torch.Tensor) -> torch.Tensor:
    if input_ids.dim() == 1:
        input_ids = input_ids.unsqueeze(0)
    if input_ids.dim() != 2 or input_ids.is_floating_point():
        raise InvalidInputError(
            f"input_ids must be a (batch, length) integer tensor, got shape {tuple(input_ids.shape)} "
            f"and dtype {input_ids.dtype}."
        )
    if input_ids.shape[0] == 0:
        raise InvalidInputError("input_ids is an empty batch (0 rows): pass at least one prompt.")
    if input_ids.shape[1] == 0:
        raise InvalidInputError(
            "input_ids is an empty prompt (0 tokens). Start from the BOS token (tokenizer.bos_token_id), "
            "or call generate() without input_ids to start from bos_token_id."
        )
    return input_ids


def _merge(defaults: list, custom, kind: str):
    if not custom:
        return defaults
    default_types = {type(item) for item in defaults}
    for item in custom:
        if type(item) in default_types:
            raise InvalidInputError(
                f"A custom {kind} {type(item).__name__} was passed, but generate() already builds one from the "
                "generation config. Set the value through generate()'s arguments or generation_config instead."
            )
    defaults.extend(custom)
    return defaults


def _expand_inputs(input_ids, model_kwargs, times: int):
    """Repeat each row ``times`` times (beams or several samples per prompt)."""
    if times == 1:
        return input_ids, model_kwargs
    out = {}
    for key, value in model_kwargs.items():
        if isinstance(value, torch.Tensor) and key != "past_key_values":
            value = value.repeat_interleave(times, dim=0)
        elif key == "encoder_outputs":
            value = copy.copy(value)
            for name, tensor in list(value.items()):
                if isinstance(tensor, torch.Tensor):
                    value[name] = tensor.repeat_interleave(times, dim=0)
        elif key == "past_key_values" and value is not None:
            value.batch_repeat_interleave(times)
        out[key] = value
    return input_ids.repeat_interleave(times, dim=0), out


class _Buffers:
    """Token ids, attention mask and position ids in preallocated ``(B, max_length)`` buffers."""

    def __init__(self, input_ids, model_kwargs, max_length: int):
        batch, length = input_ids.shape
        self.ids = input_ids.new_zeros((batch, max_length))
        self.ids[:, :length] = input_ids
        extra = max_length - length
        self.mask = self.positions = None
        self.embeds_len = 0
        if model_kwargs.get("inputs_embeds") is not None:
            self.embeds_len = model_kwargs["inputs_embeds"].shape[1]
        mask_key = "decoder_attention_mask" if "decoder_attention_mask" in model_kwargs else "attention_mask"
        if model_kwargs.get("encoder_outputs") is None or mask_key == "decoder_attention_mask":
            self.mask_key = mask_key
            self.mask = _grow_with(model_kwargs.get(mask_key), extra, lambda m: m.new_ones((m.shape[0], extra)))
        pos = model_kwargs.get("position_ids")
        if pos is not None:
            steps = torch.arange(1, extra + 1, device=pos.device, dtype=pos.dtype)
            self.positions = torch.cat([pos, pos[:, -1:] + steps], dim=-1)

    def fill(self, step_kwargs: dict, length: int) -> None:
        total = length + self.embeds_len
        if self.mask is not None:
            step_kwargs[self.mask_key] = self.mask[:, :total]
        if self.positions is not None:
            step_kwargs["position_ids"] = self.positions[:, :total]

    def append(self, next_tokens, length: int) -> None:
        self.ids[:, length] = next_tokens


def _grow_with(tensor, extra, make):
    if tensor is None:
        return None
    return torch.cat([tensor, make(tensor)], dim=-1)


class _Recorder:
    """Collects scores / logits / attentions / hidden states per step when asked to."""

    def __init__(self, config, is_encoder_decoder: bool):
        wanted = config.return_dict_in_generate
        self.is_encoder_decoder = is_encoder_decoder
        self.scores = () if wanted and config.output_scores else None
        self.logits = () if wanted and config.output_logits else None
        self.attentions = () if wanted and config.output_attentions else None
        self.cross = () if wanted and config.output_attentions and is_encoder_decoder else None
        self.hidden = () if wanted and config.output_hidden_states else None

    def step(self, outputs, logits, scores) -> None:
        if self.scores is not None:
            self.scores += (scores,)
        if self.logits is not None:
            self.logits += (logits,)
        prefix = "decoder_" if self.is_encoder_decoder else ""
        if self.attentions is not None:
            self.attentions += (getattr(outputs, prefix + "attentions"),)
        if self.cross is not None:
            self.cross += (outputs.cross_attentions,)
        if self.hidden is not None:
            self.hidden += (getattr(outputs, prefix + "hidden_states"),)

    def output(self, sequences, cache, encoder_outputs):
        if self.is_encoder_decoder:
            return GenerateEncoderDecoderOutput(
                sequences=sequences, scores=self.scores, logits=self.logits,
                encoder_attentions=encoder_outputs.get("attentions") if self.attentions is not None else None,
                encoder_hidden_states=encoder_outputs.get("hidden_states") if self.hidden is not None else None,
                decoder_attentions=self.attentions, cross_attentions=self.cross,
                decoder_hidden_states=self.hidden, past_key_values=cache,
            )
        return GenerateDecoderOnlyOutput(
            sequences=sequences, scores=self.scores, logits=self.logits,
            attentions=self.attentions, hidden_states=self.hidden, past_key_values=cache,
        )
