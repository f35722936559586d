"""``pipeline("question-answering")``: extractive QA, built from the documented algorithm.

Transformers 5 dropped this pipeline; this is the algorithm its documentation describes:

1. The (question, context) pair is tokenized with ``truncation="only_second"``, ``max_length=
   max_seq_len`` (default ``min(384, model_max_length)``) and ``stride=doc_stride`` (default
   ``min(max_seq_len // 2, 128)``): a long context becomes overlapping windows ("spans").
2. In each span only context tokens (and the ``[CLS]`` token) may hold the answer; the start and
   end logits of the others are set to -10000, and each is softmaxed over the span.
3. A candidate (start, end) scores ``p_start * p_end`` with ``start <= end < start +
   max_answer_len``; the ``top_k`` best of every span are gathered and sorted.
4. With ``handle_impossible_answer`` the smallest ``[CLS]`` score over the spans is offered as the
   empty answer ``{"answer": "", "start": 0, "end": 0}``.
5. Token spans become character spans of the context through the tokenizer's offsets, widened to
   whole words (``align_to_words=True``).

Spans of every input are batched (``batch_size``, default 8); padding is masked out, so results
do not depend on the batching.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.errors import InvalidInputError
from .base import check_batch_size, check_top_k, chunks, describe, is_stream
from .text_base import TextPipeline

DEFAULT_SPAN_BATCH = 8
_OPTIONS = ("top_k", "doc_stride", "max_answer_len", "max_seq_len", "max_question_len", "handle_impossible_answer",
            "align_to_words")


class QuestionAnsweringPipeline(TextPipeline):
    task = "question-answering"
    call_parameters = _OPTIONS

    def __call__(self, *args, question=None, context=None, batch_size: int | None = None, **kwargs):
        """Answer ``question`` from ``context`` (strings, or equal-length lists), or dicts
        ``{"question", "context"}`` (a list of them for several)."""
        options = {name: kwargs.pop(name) for name in _OPTIONS if name in kwargs}
        for alias in ("X", "data"):
            if alias in kwargs:
                args = (*args, kwargs.pop(alias))
        if kwargs:
            raise InvalidInputError(f"Unknown argument(s) {sorted(kwargs)} for the question-answering pipeline; it "
                                    f"takes question, context, batch_size and {', '.join(_OPTIONS)}.")
        settings = self._settings({**self._defaults, **options})
        size = check_batch_size(batch_size) or (self.batch_size if self.batch_size > 1 else DEFAULT_SPAN_BATCH)
        if len(args) == 1 and question is None and context is None and is_stream(args[0]):
            # A generator or dataset of {"question", "context"} dicts: answers stream as they are ready.
            return self.run(args[0], lambda items, first: self._answer(
                [_from_dict(item, first + i) for i, item in enumerate(items)], settings, size), batch_size)
        examples, single = _examples(args, question, context)
        answers = self._answer(examples, settings, size)
        return answers[0] if single else answers

    def _settings(self, options: dict) -> dict:
        max_seq_len = options.get("max_seq_len") or min(self.tokenizer.model_max_length, 384)
        doc_stride = options.get("doc_stride")
        doc_stride = min(max_seq_len // 2, 128) if doc_stride is None else doc_stride
        if doc_stride > max_seq_len:
            raise InvalidInputError(f"doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len}).")
        max_answer_len = options.get("max_answer_len", 15)
        if not isinstance(max_answer_len, int) or max_answer_len < 1:
            raise InvalidInputError(f"max_answer_len={max_answer_len!r}; it must be a positive int.")
        return {"max_seq_len": max_seq_len, "doc_stride": doc_stride, "max_answer_len": max_answer_len,
                "top_k": check_top_k(options.get("top_k", 1), 10**9, default=1),
                "handle_impossible_answer": bool(options.get("handle_impossible_answer", False)),
                "align_to_words": bool(options.get("align_to_words", True))}

    # ------------------------------------------------------------------ tokenize + model
    def _encode(self, examples: list[tuple[str, str]], settings: dict):
        questions, contexts = [q for q, _ in examples], [c for _, c in examples]
        try:
            return self.tokenizer(questions, contexts, truncation="only_second", max_length=settings["max_seq_len"],
                                  stride=settings["doc_stride"], return_overflowing_tokens=True,
                                  return_offsets_mapping=True, return_special_tokens_mask=True, padding=True,
                                  return_tensors="pt")
        except InvalidInputError:
            longest = max(len(self.tokenizer(q, add_special_tokens=False)["input_ids"]) for q in questions)
            raise InvalidInputError(
                f"A question of {longest} tokens leaves no room for the context in max_seq_len="
                f"{settings['max_seq_len']} with doc_stride={settings['doc_stride']}: shorten the question, raise "
                "max_seq_len or lower doc_stride."
            ) from None

    @torch.inference_mode()
    def _logits(self, encoding, size: int) -> tuple[np.ndarray, np.ndarray]:
        inputs = self.to_model(encoding)
        starts, ends = [], []
        for rows in chunks(list(range(len(encoding["input_ids"]))), size):
            out = self.model(**{k: v[rows] for k, v in inputs.items()})
            starts.append(out.start_logits.float())
            ends.append(out.end_logits.float())
        start, end = torch.cat(starts), torch.cat(ends)
        self.check_finite(start, "start logits")
        return start.cpu().numpy(), end.cpu().numpy()

    def _answer(self, examples: list[tuple[str, str]], settings: dict, size: int) -> list:
        encoding = self._encode(examples, settings)
        start, end = self._logits(encoding, size)
        allowed = self.allowed_tokens(encoding)  # (spans, T) 1 where an answer may lie
        owners = encoding["overflow_to_sample_mapping"].tolist()
        results = []
        for index, (_, context) in enumerate(examples):
            spans = [s for s, owner in enumerate(owners) if owner == index]
            results.append(self._example_answers(context, spans, encoding, start, end, allowed, settings))
        return results

    def allowed_tokens(self, encoding) -> np.ndarray:
        """1 for context tokens and ``[CLS]``, 0 for the question, special tokens and padding."""
        mask = encoding["attention_mask"].numpy()
        allowed = np.zeros_like(mask)
        for span in range(mask.shape[0]):
            allowed[span] = [1 if sid == 1 else 0 for sid in encoding.sequence_ids(span)]
        if self.tokenizer.cls_token_id is not None:
            allowed[encoding["input_ids"].numpy() == self.tokenizer.cls_token_id] = 1
        return allowed & mask

    def _example_answers(self, context: str, spans: list[int], encoding, start, end, allowed, settings: dict):
        answers, null_score = [], 1_000_000.0
        for span in spans:
            starts, ends, scores, null = select_starts_ends(start[span], end[span], allowed[span], settings["top_k"],
                                                            settings["max_answer_len"])
            null_score = min(null_score, null)
            token_encoding = encoding.encodings[span]
            for s, e, score in zip(starts, ends, scores):
                first, last = _char_span(token_encoding, int(s), int(e), settings["align_to_words"])
                answers.append({"score": float(score), "start": first, "end": last, "answer": context[first:last]})
        if settings["handle_impossible_answer"]:
            answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
        answers = sorted(answers, key=lambda a: a["score"], reverse=True)[:settings["top_k"]]
        return answers[0] if len(answers) == 1 else answers


def select_starts_ends(start: np.ndarray, end: np.ndarray, allowed: np.ndarray, top_k: int, max_answer_len: int):
    """The ``top_k`` (start, end, score) of one span and its ``[CLS]`` (null) score."""
    start = _masked_softmax(start, allowed)
    end = _masked_softmax(end, allowed)
    null_score = float(start[0] * end[0])
    start[0] = end[0] = 0.0  # the first token is the no-answer slot, not an answer
    scores = np.tril(np.triu(np.outer(start, end)), max_answer_len - 1)  # start <= end < start + max_answer_len
    flat = scores.ravel()
    if top_k == 1:
        best = np.array([int(np.argmax(flat))])
    else:
        best = np.argsort(-flat, kind="stable")[:top_k]
    starts, ends = np.unravel_index(best, scores.shape)
    ok = (allowed[starts] > 0) & (allowed[ends] > 0)
    starts, ends = starts[ok], ends[ok]
    return starts, ends, scores[starts, ends], null_score


def _masked_softmax(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    logits = np.where(allowed > 0, logits, -10000.0)
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def _char_span(encoding, start: int, end: int, align_to_words: bool) -> tuple[int, int]:
    """Character offsets in the context of tokens ``start..end`` (widened to whole words)."""
    if align_to_words:
        start_word, end_word = encoding.token_to_word(start), encoding.token_to_word(end)
        if start_word is not None and end_word is not None:
            return encoding.word_to_chars(start_word, 1)[0], encoding.word_to_chars(end_word, 1)[1]
    return encoding.offsets[start][0], encoding.offsets[end][1]


def _examples(args: tuple, question, context) -> tuple[list[tuple[str, str]], bool]:
    """The (question, context) pairs of any accepted call form, and whether it was a single one."""
    if args:
        if question is not None or context is not None or len(args) > 1:
            raise InvalidInputError("Pass either question=/context= or one input (a dict or a list of dicts).")
        item = args[0]
        if isinstance(item, dict) or hasattr(item, "question_text"):
            return [_from_dict(item, None)], True
        if isinstance(item, (list, tuple)) and item:
            return [_from_dict(x, i) for i, x in enumerate(item)], False
        raise InvalidInputError(f"The input is {describe(item)}; pass {{'question': …, 'context': …}} "
                                "or question=…, context=….")
    if question is None or context is None:
        raise InvalidInputError("The question-answering pipeline needs both question= and context=.")
    single = isinstance(question, str) and isinstance(context, str)
    questions = [question] if isinstance(question, str) else list(question)
    contexts = [context] if isinstance(context, str) else list(context)
    if len(questions) == 1 and len(contexts) > 1:
        questions = questions * len(contexts)
    if len(contexts) == 1 and len(questions) > 1:
        contexts = contexts * len(questions)
    if len(questions) != len(contexts):
        raise InvalidInputError(
            f"question has {len(questions)} entries but context has {len(contexts)}; pass one context per question "
            "(or one of either to share it)."
        )
    return [_check_pair(q, c, None if single else i) for i, (q, c) in enumerate(zip(questions, contexts))], single


def _from_dict(item, index: int | None) -> tuple[str, str]:
    if hasattr(item, "question_text"):  # a SquadExample-like object
        return _check_pair(item.question_text, item.context_text, index)
    if not isinstance(item, dict) or "question" not in item or "context" not in item:
        where = f"input {index}" if index is not None else "the input"
        raise InvalidInputError(f"{where} is {describe(item)}; each input must be {{'question': …, 'context': …}}.")
    return _check_pair(item["question"], item["context"], index)


def _check_pair(question, context, index: int | None) -> tuple[str, str]:
    where = f" (input {index})" if index is not None else ""
    for name, value in (("question", question), ("context", context)):
        if not isinstance(value, str):
            raise InvalidInputError(f"{name}{where} is {describe(value)}; it must be a str.")
        if not value.strip():
            raise InvalidInputError(f"{name}{where} is empty; the pipeline needs text to {'ask' if name == 'question' else 'search'}.")
    return question, context
