"""``WhisperTokenizer``: GPT-2 byte-level BPE plus Whisper's control tokens.

Sequences start with the *prefix tokens* ``<|startoftranscript|> <|lang|> <|task|>
<|notimestamps|>`` (the language/task ones when set) and end with ``<|endoftext|>``. Time
stamps are tokens ``<|0.00|> … <|30.00|>`` (0.02 s apart) placed right after the last special
token; ``decode`` drops them, ``decode_with_timestamps`` writes them out and ``output_offsets``
turns timestamp pairs into ``{"text", "timestamp": (start, end)}`` segments.
"""

from __future__ import annotations

import re

from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers, processors
from tokenizers.models import BPE

from ...core.errors import InvalidInputError
from ...text.base import _to_py
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_json_vocab, read_merges
from .languages import LANGUAGES, TASK_IDS, TO_LANGUAGE_CODE

_TIMESTAMP = re.compile(r"<\|(\d+\.\d+)\|>")


def language_code(language: str) -> str:
    """``"English"``, ``"english"`` or ``"en"`` → ``"en"``; anything else is a clear error."""
    key = language.lower().strip("<|>")
    if key in TO_LANGUAGE_CODE:
        return TO_LANGUAGE_CODE[key]
    if key in LANGUAGES:
        return key
    raise InvalidInputError(
        f"Unsupported language {language!r}. Use a Whisper language code or name, e.g. 'en' / 'english', "
        f"'fr' / 'french'; codes: {', '.join(LANGUAGES)}."
    )


def check_task(task: str | None) -> None:
    if task is not None and task not in TASK_IDS:
        raise InvalidInputError(f"Unsupported task {task!r}: Whisper's tasks are {list(TASK_IDS)}.")


class WhisperTokenizer(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012

    def __init__(self, vocab=None, merges=None, unk_token="<|endoftext|>", bos_token="<|endoftext|>",
                 eos_token="<|endoftext|>", add_prefix_space=False, language=None, task=None,
                 predict_timestamps=False, **kwargs):
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        kwargs.pop("normalizer_file", None)
        backend = Tokenizer(BPE(vocab=vocab or {}, merges=merges or [], dropout=None, continuing_subword_prefix="",
                                end_of_word_suffix="", fuse_unk=False))
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
        backend.decoder = decoders.ByteLevel()
        specials = {name: AddedToken(value, normalized=False, special=True) if isinstance(value, str) else value
                    for name, value in (("unk_token", unk_token), ("bos_token", bos_token), ("eos_token", eos_token))}
        super().__init__(backend, add_prefix_space=add_prefix_space, **specials, **kwargs)
        self.add_prefix_space = add_prefix_space
        self.language, self.task, self.predict_timestamps = language, task, predict_timestamps
        self.set_prefix_tokens()

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return read_json_vocab(vocab_file), read_merges(merges_file), {}

    def _config_to_save(self) -> dict:
        config = super()._config_to_save()
        config.update(language=self.language, task=self.task, predict_timestamps=self.predict_timestamps)
        return config

    # ------------------------------------------------------------------ prefix tokens
    @property
    def prefix_tokens(self) -> list[int]:
        start = self.convert_tokens_to_ids("<|startoftranscript|>")
        ids = [start]
        if self.language is not None:
            code = language_code(self.language)
            ids.append(start + 1 + list(LANGUAGES).index(code))  # language tokens follow the start token
        check_task(self.task)
        if self.task is not None:
            ids.append(self.convert_tokens_to_ids(f"<|{self.task}|>"))
        if not self.predict_timestamps:
            ids.append(self.convert_tokens_to_ids("<|notimestamps|>"))
        return ids

    def set_prefix_tokens(self, language: str | None = None, task: str | None = None,
                          predict_timestamps: bool | None = None) -> None:
        """Change the tokens put before every encoded text (labels for fine-tuning)."""
        self.language = language if language is not None else self.language
        self.task = task if task is not None else self.task
        if predict_timestamps is not None:
            self.predict_timestamps = predict_timestamps
        ids = self.prefix_tokens
        tokens = self.convert_ids_to_tokens(ids)
        prefix = " ".join(f"{token}:0" for token in tokens)
        eos = str(self.eos_token)
        self._tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{prefix} $A:0 {eos}:0", pair=f"{prefix} $A:0 $B:1 {eos}:1",
            special_tokens=[(eos, self.eos_token_id), *zip(tokens, ids)])

    def get_decoder_prompt_ids(self, task=None, language=None, no_timestamps: bool = True) -> list[tuple[int, int]]:
        """``[(position, token id)]`` of the forced tokens after ``<|startoftranscript|>``."""
        self.set_prefix_tokens(task=task, language=language, predict_timestamps=not no_timestamps)
        return [(rank + 1, token) for rank, token in enumerate(self.prefix_tokens[1:])]

    def get_prompt_ids(self, text: str, return_tensors="np"):
        """``<|startofprev|>`` + the text: a prompt for ``generate(prompt_ids=...)``."""
        encoding = self("<|startofprev|>", " " + text.strip(), add_special_tokens=False)
        ids = encoding["input_ids"]
        first_special = min(self.all_special_ids)
        bad = [i for i in ids[1:] if i >= first_special]
        if bad:
            raise InvalidInputError(
                f"The prompt text contains the special token {self.convert_ids_to_tokens(bad[0])!r}; remove it.")
        encoding.convert_to_tensors(tensor_type=return_tensors)
        return encoding["input_ids"]

    # ------------------------------------------------------------------ timestamps
    @property
    def timestamp_begin(self) -> int:
        """Id of ``<|0.00|>``: the first id after ``<|notimestamps|>``."""
        return self.convert_tokens_to_ids("<|notimestamps|>") + 1

    def timestamp_ids(self, time_precision: float = 0.02) -> list[int]:
        return self.convert_tokens_to_ids([f"<|{i * time_precision:.2f}|>" for i in range(1501)])

    def _strip_prompt(self, token_ids: list[int]) -> list[int]:
        """Drop a ``<|startofprev|> …`` prompt: everything before ``<|startoftranscript|>``."""
        if not token_ids or token_ids[0] != self.convert_tokens_to_ids("<|startofprev|>"):
            return token_ids
        start = self.convert_tokens_to_ids("<|startoftranscript|>")
        return token_ids[token_ids.index(start):] if start in token_ids else []

    def _decode_with_timestamps(self, token_ids, skip_special_tokens=False, time_precision=0.02,
                                segment_size=1500) -> str:
        """Text with ``<|t|>`` markers; times keep growing across 30 s windows of long-form output."""
        begin = self.timestamp_begin
        pieces: list = [[]]
        current_max = penultimate = offset = 0.0
        for i, token in enumerate(token_ids):
            if token < begin:
                pieces[-1].append(token)
                continue
            time = (token - begin) * time_precision
            if time < current_max:  # a new window started
                single_ending = i >= 2 and not (token_ids[i - 1] >= begin and token_ids[i - 2] >= begin)
                if single_ending:
                    offset += time_precision * segment_size
                else:
                    current_max = penultimate
                    offset += penultimate
                    pieces = pieces[:-2]
            penultimate, current_max = current_max, time
            pieces.append(f"<|{time + offset:.2f}|>")
            pieces.append([])
        return "".join(p if isinstance(p, str) else (super(WhisperTokenizer, self)._decode(
            p, skip_special_tokens=skip_special_tokens) if p else "") for p in pieces)

    def _compute_offsets(self, token_ids, time_precision=0.02, segment_size=1500) -> list[dict]:
        """Segments between timestamp pairs: ``[{"text", "timestamp": (start, end)}]``."""
        begin = self.timestamp_begin
        is_time = [t >= begin for t in token_ids]
        ends = [i + 1 for i in range(len(token_ids) - 1) if is_time[i] and is_time[i + 1]]
        positions = [i for i, flag in enumerate(is_time) if flag]
        if not ends and len(positions) <= 1:
            return []
        if positions[-1] + 1 not in ends:
            ends.append(positions[-1] + 1)
        offsets, last, current_max, shift = [], positions[0], 0, 0
        for end in ends:
            piece = token_ids[last:end]
            if len(piece) > 1:
                start_pos, end_pos = piece[0] - begin, piece[-1] - begin
                if start_pos < current_max:
                    single_ending = last >= 2 and not (token_ids[last - 2] >= begin and token_ids[last - 1] >= begin)
                    shift += segment_size if single_ending else current_max
                current_max = end_pos
                text = _TIMESTAMP.sub("", super()._decode(piece))
                offsets.append({"text": text, "timestamp": ((start_pos + shift) * time_precision,
                                                            (end_pos + shift) * time_precision)})
            last = end
        return offsets

    def _decode_asr(self, model_outputs, *, return_timestamps, return_language, time_precision):
        """Text (and chunks) of the speech-recognition pipeline's per-chunk outputs."""
        from .asr_decoding import decode_asr

        return decode_asr(self, model_outputs, return_timestamps=return_timestamps,
                          return_language=return_language, time_precision=time_precision)

    # ------------------------------------------------------------------ decoding
    def decode(self, token_ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces=None,
               output_offsets: bool = False, time_precision: float = 0.02, decode_with_timestamps: bool = False,
               normalize: bool = False, basic_normalize: bool = False, remove_diacritics: bool = False, **kwargs):
        token_ids = _to_py(token_ids)
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        if token_ids and isinstance(token_ids[0], (list, tuple)):
            return [self.decode(seq, skip_special_tokens, clean_up_tokenization_spaces, output_offsets,
                                time_precision, decode_with_timestamps, normalize, basic_normalize,
                                remove_diacritics, **kwargs) for seq in token_ids]
        if normalize or basic_normalize:
            raise NotImplementedError("Whisper's English/basic text normalizers are not available in polymodal yet.")
        filtered = self._strip_prompt(list(token_ids)) if skip_special_tokens else list(token_ids)
        if decode_with_timestamps:
            text = self._decode_with_timestamps(filtered, skip_special_tokens, time_precision)
        else:
            text = _TIMESTAMP.sub("", self._decode(filtered, skip_special_tokens=skip_special_tokens,
                                                   clean_up_tokenization_spaces=clean_up_tokenization_spaces))
        if output_offsets:
            return {"text": text, "offsets": self._compute_offsets(list(token_ids), time_precision)}
        return text


WhisperTokenizerFast = WhisperTokenizer

__all__ = ["WhisperTokenizer", "WhisperTokenizerFast", "language_code"]
