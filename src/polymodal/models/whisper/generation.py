"""Whisper's ``generate``: prompt tokens, language detection, timestamps and long-form audio.

One loop serves short (≤ 30 s) and long audio, as in the original ``transcribe()``: each row
keeps a ``seek`` position in mel frames; a 30 s window starting there is decoded with the shared
``generate()`` (from ``<|startoftranscript|> <|lang|> <|task|> [<|notimestamps|>]``, optionally
after the previous window's text), the timestamp tokens split the output into segments, and
``seek`` moves to the end of the last complete segment. A window whose text is too repetitive
(zlib compression ratio) or too unlikely (average log-probability) is decoded again at the
next temperature (the temperature fallback). The result is the concatenated segment tokens.
"""

from __future__ import annotations

import contextlib
import math
import zlib

import torch
import torch.nn.functional as F

from ...core.errors import InvalidInputError
from ...generation import GenerationMixin, LogitsProcessor, LogitsProcessorList
from ...generation.logits_process import SuppressTokensAtBeginLogitsProcessor, SuppressTokensLogitsProcessor
from .alignment import AlignmentRecorder, token_timestamps
from .languages import TASK_IDS
from .tokenization import language_code

INPUT_STRIDE = 2  # the encoder's second convolution halves the mel frames


class WhisperTimeStampLogitsProcessor(LogitsProcessor):
    """The timestamp grammar: timestamps come in pairs (except the last), never go back in time,
    the first token is a timestamp no later than ``max_initial_timestamp_index``, and a timestamp
    is forced when all timestamps together are likelier than any single text token."""

    def __init__(self, generate_config, begin_index: int):
        self.no_timestamps_token_id = generate_config.no_timestamps_token_id
        self.timestamp_begin = self.no_timestamps_token_id + 1
        self.eos_token_id = generate_config.eos_token_id or generate_config.bos_token_id
        if isinstance(self.eos_token_id, (list, tuple)):
            self.eos_token_id = self.eos_token_id[0]
        self.begin_index = begin_index
        self.max_initial_timestamp_index = getattr(generate_config, "max_initial_timestamp_index", None)

    def set_begin_index(self, begin_index: int) -> None:
        self.begin_index = begin_index

    def _row_rules(self, scores, input_ids):
        """Pairing and monotonic rules, row by row; returns each row's lowest allowed timestamp."""
        lowest = []
        for row, seq in enumerate(input_ids.tolist()):
            seq = seq[self.begin_index:]
            last_is_time = len(seq) >= 1 and seq[-1] >= self.timestamp_begin
            penultimate_is_time = len(seq) < 2 or seq[-2] >= self.timestamp_begin
            if last_is_time:
                if penultimate_is_time:  # a pair just closed: text must follow
                    scores[row, self.timestamp_begin:] = -float("inf")
                else:  # an open timestamp: another timestamp (or the end) must follow
                    scores[row, : self.eos_token_id] = -float("inf")
            times = [t for t in seq if t >= self.timestamp_begin]
            floor = self.timestamp_begin
            if times:
                floor = times[-1] if last_is_time and not penultimate_is_time else times[-1] + 1
            lowest.append(floor)
        return lowest

    def __call__(self, input_ids, scores):
        scores = scores.clone()
        scores[:, self.no_timestamps_token_id] = -float("inf")
        lowest = torch.tensor(self._row_rules(scores, input_ids), device=scores.device)[:, None]
        vocab = torch.arange(scores.shape[-1], device=scores.device)
        scores.masked_fill_((vocab >= self.timestamp_begin) & (vocab < lowest), -float("inf"))
        if input_ids.shape[1] == self.begin_index:  # the first token is a timestamp
            scores[:, : self.timestamp_begin] = -float("inf")
            if self.max_initial_timestamp_index is not None:
                scores[:, self.timestamp_begin + self.max_initial_timestamp_index + 1:] = -float("inf")
        logprobs = F.log_softmax(scores.float(), dim=-1)
        timestamp_mass = logprobs[:, self.timestamp_begin:].logsumexp(dim=-1)
        best_text = logprobs[:, : self.timestamp_begin].max(dim=-1).values
        scores[:, : self.timestamp_begin].masked_fill_((timestamp_mass > best_text)[:, None], -float("inf"))
        return scores


def compression_ratio(tokens: torch.Tensor, vocab_size: int) -> float:
    """Raw byte length of the tokens over their zlib-compressed length (high = repetitive)."""
    width = int(math.log2(vocab_size) / 8) + 1
    raw = b"".join(t.to_bytes(width, "little") for t in tokens.tolist())
    return len(raw) / len(zlib.compress(raw))


def average_logprob(scores, tokens: torch.Tensor, temperature: float) -> float:
    scale = temperature if temperature > 0.0 else 1
    scores = torch.stack(scores).to(tokens.device)
    if scores.shape[0] > tokens.shape[0]:
        scores = scores[: tokens.shape[0]]
    else:
        tokens = tokens[-scores.shape[0]:]
    logprobs = F.log_softmax((scores * scale).float(), dim=-1).to(scores.dtype)
    picked = logprobs.gather(-1, tokens[:, None])[:, 0].cpu()
    return sum(picked[i] for i in range(picked.shape[0])) / len(tokens)


def pad_segments(segments, pad_token_id, device, padding_side="right", prefix=None, cut_off_length=None,
                 drop_double_ending=False, timestamp_begin=None) -> torch.Tensor:
    """Concatenate each row's segment tokens and pad the rows to one length."""
    rows = []
    for row in segments:
        if row:
            pieces = [s["tokens"][:-1] if drop_double_ending and len(s["tokens"]) > 2
                      and s["tokens"][-2] >= timestamp_begin else s["tokens"] for s in row]
            sequence = torch.cat(pieces, dim=-1)
            if cut_off_length is not None:
                sequence = sequence[-cut_off_length:]
            if prefix is not None:
                sequence = torch.cat([prefix, sequence])
        elif prefix is not None:
            sequence = prefix
        else:
            sequence = torch.tensor([], device=device, dtype=torch.long)
        rows.append(sequence)
    longest = max(len(r) for r in rows)
    padded = [F.pad(r, (0, longest - len(r)) if padding_side == "right" else (longest - len(r), 0),
                    value=pad_token_id) for r in rows]
    return torch.stack(padded, dim=0)


def pad_token_timestamps(segments) -> torch.Tensor:
    """Each row's token times (window-relative, as Transformers returns them), padded with its last value."""
    rows = []
    for row in segments:
        pieces = [s["result"]["token_timestamps"][s["idxs"][0]: s["idxs"][1]] for s in row]
        rows.append(torch.cat(pieces) if pieces else torch.zeros(0))
    longest = max(len(r) for r in rows)
    return torch.stack([F.pad(r, (0, longest - len(r)), value=float(r[-1]) if len(r) else 0.0) for r in rows])


class WhisperGenerationMixin(GenerationMixin):
    @torch.no_grad()
    def generate(self, input_features=None, generation_config=None, logits_processor=None, stopping_criteria=None,
                 return_timestamps=None, task=None, language=None, is_multilingual=None, prompt_ids=None,
                 prompt_condition_type=None, condition_on_prev_tokens=None, temperature=None,
                 compression_ratio_threshold=None, logprob_threshold=None, no_speech_threshold=None,
                 num_segment_frames=None, attention_mask=None, time_precision=0.02, time_precision_features=0.01,
                 return_token_timestamps=None, return_segments=False, return_dict_in_generate=None,
                 force_unique_generate_call=None, **kwargs):
        """Transcribe (or translate) log-mel features of any length; see ``docs/seq2seq.md``."""
        if no_speech_threshold is not None:
            raise NotImplementedError("no_speech_threshold is not supported by polymodal yet.")
        config, kwargs = self._prepare_generation_config(generation_config, kwargs)
        timing = self._token_timing(config, return_token_timestamps, attention_mask)
        num_segment_frames = INPUT_STRIDE * self.config.max_source_positions
        batch_size, total_frames = self._input_shape(input_features, kwargs)
        is_shortform = total_frames <= num_segment_frames
        if logprob_threshold is not None:  # the fallback needs the scores
            config.return_dict_in_generate, config.output_scores = True, True
        timestamp_begin = self._set_return_timestamps(config, return_timestamps, is_shortform)
        self._set_language_and_task(config, language, task, is_multilingual)
        config.logprob_threshold = logprob_threshold if logprob_threshold is not None else getattr(
            config, "logprob_threshold", None)
        config.compression_ratio_threshold = compression_ratio_threshold if compression_ratio_threshold is not None \
            else getattr(config, "compression_ratio_threshold", None)
        condition = condition_on_prev_tokens if condition_on_prev_tokens is not None else getattr(
            config, "condition_on_prev_tokens", None)
        config.prompt_condition_type = self._prompt_condition_type(prompt_condition_type, condition)
        init_tokens = self._init_tokens(input_features, batch_size, config, num_segment_frames, kwargs)
        begin_index = init_tokens.shape[1]
        processors = self._whisper_processors(config, logits_processor, begin_index)
        condition = config.condition_on_prev_tokens = bool(condition)
        temperatures = list(temperature) if isinstance(temperature, (list, tuple)) else [temperature]

        if batch_size > 1 and not is_shortform and attention_mask is None:
            raise InvalidInputError(
                "Batched long-form transcription needs the attention_mask of the features: call the processor with "
                "return_attention_mask=True (and padding='longest', truncation=False) and pass attention_mask=.")
        if batch_size > 1 and not is_shortform:
            max_frames = attention_mask.sum(-1).cpu().long()
        else:
            max_frames = torch.full((batch_size,), total_frames, dtype=torch.long)
        seek = torch.zeros((batch_size,), dtype=torch.long)
        if (config.num_return_sequences or 1) > 1:
            repeats = config.num_return_sequences
            input_features = input_features.repeat_interleave(repeats, dim=0)
            seek, max_frames = seek.repeat_interleave(repeats), max_frames.repeat_interleave(repeats)
            init_tokens = init_tokens.repeat_interleave(repeats, dim=0)
            if timing is not None and timing["num_frames"] is not None:
                timing["num_frames"] = timing["num_frames"].repeat_interleave(repeats)
            config.num_return_sequences = 1
        rows = list(range(init_tokens.shape[0]))
        conditioned = [condition] * len(rows)
        segments = self._initial_segments(prompt_ids, len(rows), config)
        if force_unique_generate_call is None:
            force_unique_generate_call = bool(getattr(config, "force_unique_generate_call", False))

        state = {"features": input_features, "rows": rows}
        while (seek < max_frames).any():
            self._drop_finished_rows(state, seek, max_frames)
            rows = state["rows"]
            time_offset = seek.to(torch.float64) * time_precision / INPUT_STRIDE
            window = (max_frames - seek).clamp(max=num_segment_frames)
            segment_input = self._window(state["features"], seek, window, num_segment_frames, rows)
            decoder_input_ids, kwargs = self._decoder_prompt(init_tokens, segments, rows, conditioned, prompt_ids,
                                                             config, processors, timestamp_begin, kwargs)
            self._fit_length(config, decoder_input_ids)
            for processor in processors:
                if hasattr(processor, "set_begin_index"):
                    processor.set_begin_index(decoder_input_ids.shape[-1])
            if timing is not None and timing["num_frames"] is not None:  # real audio left in each window
                timing["window_frames"] = (timing["num_frames"] - seek)[rows]
            sequences, outputs, skip = self._generate_with_fallback(
                segment_input, decoder_input_ids, rows, temperatures, config, processors, stopping_criteria,
                conditioned, attention_mask if is_shortform else None, kwargs, timing)
            for i, sequence in enumerate(sequences):
                row = rows[i]
                if skip[i]:
                    seek[row] += window[row]
                    continue
                new, advance = self._segments_of(sequence, outputs[i], time_offset[row], timestamp_begin,
                                                 window[row], time_precision, time_precision_features,
                                                 decoder_input_ids.shape[-1])
                seek[row] += advance
                segments[row] += new
            if force_unique_generate_call:
                break

        final = segments
        if prompt_ids is not None and config.prompt_condition_type == "first-segment":
            final = [row[1:] for row in segments]
        if force_unique_generate_call:
            result = [row[0]["result"] for row in final]
            sequences = torch.stack([r if isinstance(r, torch.Tensor) else r["sequences"] for r in result])
            if timing is None:
                return sequences
            return {"sequences": sequences, "token_timestamps": torch.stack([r["token_timestamps"] for r in result])}
        sequences = pad_segments(final, config.pad_token_id, self.device)
        if timing is None and not (return_segments or (return_dict_in_generate and config.return_dict_in_generate)):
            return sequences
        outputs = {"sequences": sequences}
        if timing is not None:
            outputs["token_timestamps"] = pad_token_timestamps(final)
        if return_segments or (return_dict_in_generate and config.return_dict_in_generate):
            outputs["segments"] = final
        return outputs

    def _token_timing(self, config, return_token_timestamps, attention_mask):
        """Settings of token-level timestamps (None when not asked for); checks ``alignment_heads``."""
        if not return_token_timestamps:
            return None
        if getattr(config, "alignment_heads", None) is None:
            raise InvalidInputError(
                "Token-level and word-level timestamps need the model's alignment heads: set "
                "model.generation_config.alignment_heads = [[layer, head], ...] (OpenAI's checkpoints ship them in "
                "generation_config.json; for a fine-tuned model copy them from its base model).")
        # Sequences and beam indices come back with the tokens; scores as Transformers records them.
        config.return_dict_in_generate, config.output_scores = True, True
        # Without the mask the 30 s window is aligned whole, padding included (as Transformers does).
        frames = None if attention_mask is None else attention_mask.sum(-1).cpu()
        return {"num_frames": frames, "heads": config.alignment_heads}

    def _recorder(self, timing):
        """Records the alignment heads during one generate() call; a no-op context without timing."""
        if timing is None:
            return contextlib.nullcontext()
        return AlignmentRecorder(self.model.decoder, timing["heads"])

    def _prepare_encoder_decoder(self, inputs, input_name, config, model_kwargs):
        """Whisper's decoder prompt may start with ``<|startofprev|>`` (previous text): keep it as given
        instead of prepending ``<|startoftranscript|>`` (Transformers exempts Whisper the same way)."""
        given = model_kwargs.pop("decoder_input_ids", None)
        start_ids, model_kwargs = super()._prepare_encoder_decoder(inputs, input_name, config, model_kwargs)
        return (start_ids if given is None else given.to(self.device)), model_kwargs

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _input_shape(input_features, kwargs):
        if input_features is not None:
            if input_features.dim() != 3:
                raise InvalidInputError(
                    f"input_features must be (batch, mel bins, frames), got shape {tuple(input_features.shape)}.")
            return input_features.shape[0], input_features.shape[-1]
        if "encoder_outputs" in kwargs:
            hidden = kwargs["encoder_outputs"][0]
            return hidden.shape[0], hidden.shape[1] * INPUT_STRIDE
        raise InvalidInputError("Whisper's generate() needs input_features (or encoder_outputs).")

    def _set_return_timestamps(self, config, return_timestamps, is_shortform) -> int:
        if return_timestamps is None:
            return_timestamps = getattr(config, "return_timestamps", None)
        if not is_shortform:
            if return_timestamps is False:
                raise InvalidInputError(
                    "More than 3000 mel frames (> 30 s) means long-form transcription, which needs timestamps: pass "
                    "return_timestamps=True, or cut the audio to 30 s.")
            return_timestamps = True
        if return_timestamps and getattr(config, "no_timestamps_token_id", None) is None:
            raise InvalidInputError(
                "Timestamps need no_timestamps_token_id in the generation config (generation_config.json of a "
                "Whisper checkpoint has it); this model's generation config lacks it.")
        config.return_timestamps = return_timestamps
        no_timestamps = getattr(config, "no_timestamps_token_id", None)
        return no_timestamps + 1 if no_timestamps is not None else self.config.vocab_size + 1

    @staticmethod
    def _set_language_and_task(config, language, task, is_multilingual) -> None:
        if is_multilingual is not None:
            config.is_multilingual = is_multilingual
        if getattr(config, "is_multilingual", None) is False and (task is not None or language is not None):
            raise InvalidInputError(
                "This is an English-only Whisper: it takes neither task= nor language=. Use a multilingual "
                "checkpoint, or pass is_multilingual=True if its generation config is wrong.")
        for name, value, table in (("language", language, "lang_to_id"), ("task", task, "task_to_id")):
            if value is None:
                continue
            if getattr(config, table, None) is None:
                raise InvalidInputError(
                    f"{name}= needs {table} in the generation config (a multilingual Whisper's "
                    "generation_config.json has it); this model's generation config lacks it.")
            setattr(config, name, value)

    @staticmethod
    def _prompt_condition_type(kind, condition) -> str:
        kind = kind or "first-segment"
        if kind not in ("first-segment", "all-segments"):
            raise InvalidInputError(f"prompt_condition_type={kind!r}: use 'first-segment' or 'all-segments'.")
        if kind == "all-segments" and condition is not True:
            raise InvalidInputError("prompt_condition_type='all-segments' needs condition_on_prev_tokens=True.")
        return kind

    def _language_id(self, config, language: str) -> int:
        token = language.lower() if language.lower() in config.lang_to_id else f"<|{language_code(language)}|>"
        if token not in config.lang_to_id:
            raise InvalidInputError(f"{token} is not a language of this checkpoint (generation_config.lang_to_id).")
        return config.lang_to_id[token]

    def _init_tokens(self, input_features, batch_size, config, num_segment_frames, kwargs) -> torch.Tensor:
        """``<|startoftranscript|> <|lang|> <|task|> [<|notimestamps|>]`` per row."""
        task, language = getattr(config, "task", None), getattr(config, "language", None)
        tokens = [config.decoder_start_token_id]
        forced = getattr(config, "forced_decoder_ids", None) or getattr(self.config, "forced_decoder_ids", None)
        if task is None and language is None and forced:
            for position, (index, token) in enumerate(forced, start=1):
                if index != position:
                    raise InvalidInputError(f"forced_decoder_ids {forced} must number positions 1, 2, 3 … in order.")
                tokens.append(token)
        undetermined = len(tokens) <= 1 or tokens[1] is None
        if isinstance(language, (list, tuple)):
            if len(language) != batch_size or any(lang is None for lang in language):
                raise InvalidInputError(f"language= as a list needs one language per row ({batch_size}).")
            languages = list(language)
        else:  # one row broadcast to the batch when the language is known, else one per row
            languages = [None] * batch_size if language is None else [language]
        rows = [list(tokens) for _ in languages]
        lang_ids = None
        if language is not None:
            lang_ids = [self._language_id(config, lang) for lang in languages]
        elif getattr(config, "lang_to_id", None) is not None and undetermined:
            lang_ids = self.detect_language(input_features, kwargs.get("encoder_outputs"), config,
                                            num_segment_frames).tolist()
        for i, row in enumerate(rows):
            if lang_ids is not None:
                if len(row) > 1:
                    row[1] = lang_ids[i]
                else:
                    row.append(lang_ids[i])
            self._add_task_and_timestamps(row, task, language, config)
        return torch.as_tensor(rows, dtype=torch.long, device=self.device).expand(batch_size, -1)

    @staticmethod
    def _add_task_and_timestamps(row, task, language, config) -> None:
        task_ids = getattr(config, "task_to_id", None) or {}
        if task is not None:
            if task not in TASK_IDS:
                raise InvalidInputError(f"Unsupported task {task!r}: Whisper's tasks are {list(TASK_IDS)}.")
            if any(t in row for t in task_ids.values()):
                row[:] = [task_ids[task] if t in task_ids.values() else t for t in row]
            else:
                row.append(task_ids[task])
        elif language is not None and task_ids and not any(t in row for t in task_ids.values()):
            row.append(task_ids["transcribe"])
        no_timestamps = getattr(config, "no_timestamps_token_id", None)
        if not config.return_timestamps and no_timestamps is not None and row[-1] != no_timestamps:
            row.append(no_timestamps)
        elif config.return_timestamps and row[-1] == no_timestamps:
            row.pop()
        row[:] = [t for t in row if t is not None]

    def detect_language(self, input_features=None, encoder_outputs=None, generation_config=None,
                        num_segment_frames: int = 3000) -> torch.Tensor:
        """The likeliest language token per row, from one decoder step after ``<|startoftranscript|>``."""
        config = generation_config or self.generation_config
        if (input_features is None) == (encoder_outputs is None):
            raise InvalidInputError("detect_language() needs exactly one of input_features or encoder_outputs.")
        if input_features is not None:
            inputs = {"input_features": input_features[:, :, :num_segment_frames]}
            batch = input_features.shape[0]
        else:
            inputs = {"encoder_outputs": encoder_outputs}
            batch = encoder_outputs[0].shape[0]
        start = torch.full((batch, 1), config.decoder_start_token_id, dtype=torch.long, device=self.device)
        logits = self(**inputs, decoder_input_ids=start, use_cache=False).logits[:, -1]
        keep = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
        keep[list(config.lang_to_id.values())] = True
        return logits.masked_fill(~keep, -float("inf")).argmax(-1)

    def _whisper_processors(self, config, custom, begin_index) -> LogitsProcessorList:
        """Timestamp rules, suppressed tokens, tokens suppressed at the start — ahead of the caller's."""
        processors = list(custom or [])
        if config.return_timestamps is True:
            processors.insert(0, WhisperTimeStampLogitsProcessor(config, begin_index))
        if config.suppress_tokens is not None:
            processors.insert(0, SuppressTokensLogitsProcessor(config.suppress_tokens, device=self.device))
            config.suppress_tokens = None
        if config.begin_suppress_tokens is not None:
            processors.insert(0, SuppressTokensAtBeginLogitsProcessor(config.begin_suppress_tokens, begin_index,
                                                                      device=self.device))
            config.begin_suppress_tokens = None
        return LogitsProcessorList(processors)

    @staticmethod
    def _initial_segments(prompt_ids, batch_size, config):
        if prompt_ids is not None and config.prompt_condition_type == "first-segment":
            previous = getattr(config, "prev_sot_token_id", None)
            prompt_ids = prompt_ids[1:] if prompt_ids[0] == previous else prompt_ids
            return [[{"tokens": prompt_ids}] for _ in range(batch_size)]
        return [[] for _ in range(batch_size)]

    # ------------------------------------------------------------------ one window
    @staticmethod
    def _drop_finished_rows(state, seek, max_frames) -> None:
        keep = [i for i, row in enumerate(state["rows"]) if seek[row] < max_frames[row]]
        if len(keep) != len(state["rows"]):
            state["features"] = state["features"][keep] if state["features"] is not None else None
            state["rows"] = [state["rows"][i] for i in keep]

    @staticmethod
    def _window(features, seek, window, num_segment_frames, rows):
        """The next ≤ 30 s of each active row, zero-padded to 3000 frames."""
        if features is None:
            return None
        pieces = []
        for i, row in enumerate(rows):
            piece = features[i:i + 1, :, seek[row]: seek[row] + window[row]]
            if piece.shape[-1] < num_segment_frames:
                piece = F.pad(piece, (0, num_segment_frames - piece.shape[-1]))
            pieces.append(piece)
        return torch.cat(pieces, dim=0)

    def _decoder_prompt(self, init_tokens, segments, rows, conditioned, prompt_ids, config, processors,
                        timestamp_begin, kwargs):
        """Start tokens, after ``<|startofprev|>`` + the previous text when conditioning on it."""
        if "decoder_input_ids" in kwargs:
            return kwargs.pop("decoder_input_ids"), kwargs
        cut_off = self.config.max_target_positions // 2 - 1
        decoder_input_ids = init_tokens[rows]
        previous_start = getattr(config, "prev_sot_token_id", None)
        if previous_start is None:
            suppressed = next((p.suppress_tokens for p in processors if isinstance(p, SuppressTokensLogitsProcessor)),
                              None)
            suppressed = suppressed.tolist() if isinstance(suppressed, torch.Tensor) else suppressed
            previous_start = suppressed[-2] if suppressed is not None and len(suppressed) >= 2 else None
        if any(conditioned) and len(segments[0]) > 0:
            active = [segments[i] if conditioned[i] else None for i in rows]
            if prompt_ids is not None and config.prompt_condition_type == "all-segments":
                prefix = prompt_ids
            else:
                prefix = torch.tensor([previous_start], device=self.device) if previous_start is not None else None
            previous = pad_segments(active, config.pad_token_id, self.device, "left", prefix, cut_off,
                                    drop_double_ending=True, timestamp_begin=timestamp_begin)
            decoder_input_ids = torch.cat([previous, decoder_input_ids], dim=-1)
            kwargs["decoder_attention_mask"] = decoder_input_ids != config.pad_token_id
        elif prompt_ids is not None:
            decoder_input_ids = torch.cat([prompt_ids[None].repeat(decoder_input_ids.shape[0], 1),
                                           decoder_input_ids], dim=-1)
            kwargs.pop("decoder_attention_mask", None)
        else:
            kwargs.pop("decoder_attention_mask", None)
        return decoder_input_ids, kwargs

    def _fit_length(self, config, decoder_input_ids) -> None:
        limit = self.config.max_target_positions
        length = decoder_input_ids.shape[-1]
        if (config.max_new_tokens or 0) + length > limit:
            raise InvalidInputError(
                f"The decoder prompt has {length} tokens (start tokens, prompt and previous text) and "
                f"max_new_tokens={config.max_new_tokens}: together more than Whisper's max_target_positions={limit}. "
                "Shorten the prompt or lower max_new_tokens.")
        if config.max_length is not None and config.max_new_tokens is None:
            config.max_length = min(config.max_length + min(limit // 2 - 1, length), limit)

    def _generate_with_fallback(self, segment_input, decoder_input_ids, rows, temperatures, config, processors,
                                stopping_criteria, conditioned, attention_mask, kwargs, timing=None):
        kwargs = dict(kwargs)
        count = decoder_input_ids.shape[0]
        results, outputs_by_row = [None] * count, [None] * count
        skip = [False] * count
        pending = list(range(count))
        for attempt, temperature in enumerate(temperatures):
            config.do_sample = temperature is not None and temperature > 0.0
            config.temperature = temperature if config.do_sample else 1.0
            if config.do_sample:
                config.num_beams = 1
            step_kwargs = {k: v for k, v in kwargs.items() if k not in ("do_sample", "temperature", "num_beams")}
            with self._recorder(timing) as recorder:
                out = GenerationMixin.generate(self, segment_input, generation_config=config,
                                               logits_processor=processors, stopping_criteria=stopping_criteria,
                                               decoder_input_ids=decoder_input_ids, attention_mask=attention_mask,
                                               suppress_tokens=None, begin_suppress_tokens=None, **step_kwargs)
            stamps = None
            if recorder is not None:
                frames = timing.get("window_frames")
                stamps = token_timestamps(recorder.weights(), out["sequences"].shape[0], decoder_input_ids.shape[-1],
                                          out.get("beam_indices"), None if frames is None else frames[pending],
                                          self.config.median_filter_width)
            sequences, outputs = self._split_outputs(out, decoder_input_ids.shape[-1], stamps)
            retry = []
            for i, sequence in enumerate(sequences):
                if sequence[-1] == config.pad_token_id:
                    padding = int((sequence == config.pad_token_id).sum())
                    if config.pad_token_id == config.eos_token_id:
                        padding -= 1
                    if padding:
                        sequence = sequence[:-padding]
                needs_retry = self._needs_fallback(sequence, outputs, i, config, temperature or 0.0)
                if sequence[-1] == config.eos_token_id:
                    sequence = sequence[:-1]
                results[pending[i]], outputs_by_row[pending[i]] = sequence, outputs[i]
                # (indexed by position in the current batch, as Transformers does)
                conditioned[pending[i]] = bool(config.condition_on_prev_tokens) and (
                    temperature is None or temperature < 0.5)
                if needs_retry:
                    retry.append(i)
            if not retry or attempt == len(temperatures) - 1:
                break
            pending = [pending[i] for i in retry]
            decoder_input_ids = decoder_input_ids[retry]
            segment_input = segment_input[retry]
            if "decoder_attention_mask" in kwargs:
                kwargs["decoder_attention_mask"] = kwargs["decoder_attention_mask"][retry]
        return results, outputs_by_row, skip

    @staticmethod
    def _split_outputs(out, start: int, stamps=None):
        if isinstance(out, torch.Tensor):
            return out[:, start:], [out[i] for i in range(out.shape[0])]
        sequences = out["sequences"][:, start:]
        scores = out.get("scores")
        beam_indices = out.get("beam_indices")
        per_row = []
        for i in range(sequences.shape[0]):
            row = {"sequences": out["sequences"][i]}
            if scores is not None:
                if beam_indices is not None:
                    picks = beam_indices[i][: len(scores)].tolist()
                    row["scores"] = [s[b].cpu() for s, b in zip(scores, picks)]
                else:
                    row["scores"] = [s[i].cpu() for s in scores]
            if out.get("sequences_scores") is not None:
                row["sequences_scores"] = out["sequences_scores"][i].cpu()
            if stamps is not None:
                row["token_timestamps"] = stamps[i]
            per_row.append(row)
        return sequences, per_row

    def _needs_fallback(self, sequence, outputs, index, config, temperature) -> bool:
        retry = False
        if config.compression_ratio_threshold is not None:
            retry = compression_ratio(sequence, self.config.vocab_size) > config.compression_ratio_threshold
        if config.logprob_threshold is not None:
            if "sequences_scores" in outputs[0]:
                logprob = outputs[index]["sequences_scores"]
            else:
                logprob = average_logprob(outputs[index]["scores"], sequence, temperature)
            retry = retry or logprob < config.logprob_threshold
        return retry

    @staticmethod
    def _segments_of(sequence, output, time_offset, timestamp_begin, window, time_precision,
                     time_precision_features, prompt_length):
        """Split one window's tokens at timestamp pairs; returns the segments and how far to seek."""
        is_time = [t >= timestamp_begin for t in sequence.tolist()]
        single_ending = is_time[-2:] == [False, True]
        cuts = [i + 1 for i in range(len(is_time) - 1) if is_time[i] and is_time[i + 1]]
        if cuts:
            if single_ending:
                cuts.append(len(sequence))
            else:
                cuts[-1] += 1
            segments, last = [], 0
            for i, cut in enumerate(cuts):
                piece = sequence[last:cut]
                end_index = -1 if i < len(cuts) - 1 or single_ending else -2
                start = (piece[0] - timestamp_begin).to(torch.float64) * time_precision
                end = (piece[end_index] - timestamp_begin).to(torch.float64) * time_precision
                segments.append({"start": time_offset + start, "end": time_offset + end, "tokens": piece,
                                 "idxs": (prompt_length + last, prompt_length + cut), "result": output})
                _add_token_timestamps(segments[-1], time_offset)
                last = cut
            if single_ending:
                return segments, window
            return segments, (sequence[last - 2].item() - timestamp_begin) * INPUT_STRIDE
        positions = [i for i, flag in enumerate(is_time) if flag]
        last_time = int(window * time_precision_features / time_precision)
        if positions and sequence[positions[-1]] != timestamp_begin:
            last_time = (sequence[positions[-1]] - timestamp_begin).to(torch.float64)
        segment = {"start": time_offset, "end": time_offset + last_time * time_precision, "tokens": sequence,
                   "idxs": (prompt_length, prompt_length + len(sequence)), "result": output}
        _add_token_timestamps(segment, time_offset)
        return [segment], window


def _add_token_timestamps(segment: dict, time_offset) -> None:
    """The segment's slice of its window's token times, shifted to the window's start in the audio."""
    result = segment["result"]
    if isinstance(result, dict) and "token_timestamps" in result:
        start, end = segment["idxs"]
        segment["token_timestamps"] = result["token_timestamps"][start:end] + time_offset
