"""``pipeline("token-classification")`` (alias ``"ner"``): one entity dict per token, or grouped entities.

``aggregation_strategy`` as Transformers documents it:

* ``"none"``: every non-special token with its best label (``entity``, ``score``, ``index``,
  ``word``, ``start``, ``end``);
* ``"simple"``: adjacent tokens with the same tag (``B-``/``I-`` prefixes merged) become one
  ``entity_group`` with the mean score;
* ``"first"`` / ``"average"`` / ``"max"``: the sub-tokens of a word first agree on one label
  (the first token's, the averaged scores', or the most confident token's), then group as
  ``"simple"``.

Word boundaries come from the tokenizer's offsets (WordPiece's ``##`` prefix; otherwise the
characters around the token). ``stride`` splits long texts into overlapping windows whose
entities are merged, keeping the longest (then most confident) one where they overlap.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..core.errors import InvalidInputError
from .base import check_batch_size, describe
from .text_base import TextPipeline

STRATEGIES = ("none", "simple", "first", "average", "max")


class TokenClassificationPipeline(TextPipeline):
    task = "token-classification"
    call_parameters = ("aggregation_strategy", "ignore_labels", "stride", "is_split_into_words", "delimiter")

    def __call__(self, inputs, aggregation_strategy=None, ignore_labels=None, stride: int | None = None,
                 is_split_into_words: bool | None = None, delimiter: str | None = None,
                 batch_size: int | None = None, **kwargs):
        if kwargs:
            raise InvalidInputError(
                f"Unknown argument(s) {sorted(kwargs)} for the token-classification pipeline; it takes "
                "aggregation_strategy, ignore_labels, stride, is_split_into_words, delimiter and batch_size."
            )
        options = {**self._defaults}
        strategy = _strategy(aggregation_strategy or options.get("aggregation_strategy") or "none")
        ignore = list(ignore_labels if ignore_labels is not None else options.get("ignore_labels", ["O"]))
        stride = stride if stride is not None else options.get("stride")
        split = bool(is_split_into_words if is_split_into_words is not None else options.get("is_split_into_words"))
        delimiter = delimiter if delimiter is not None else options.get("delimiter", " ")
        self._check_stride(stride, strategy)
        size = check_batch_size(batch_size) or self.batch_size
        if split and isinstance(inputs, list) and inputs and all(isinstance(w, str) for w in inputs):
            inputs = [inputs]  # one pre-split sentence
            single = True
        else:
            single = False

        def process(items: list, first: int | None) -> list:
            sentences = [_sentence(item, split, delimiter, None if first is None else first + i)
                         for i, item in enumerate(items)]
            return self.sorted_batches(sentences, size, lambda group: self._entities(group, strategy, ignore, stride),
                                       lambda s: len(s[0]), lambda s: self.token_count(s[0]))

        result = self.run(inputs, process, batch_size)
        return result[0] if single else result

    def _check_stride(self, stride, strategy: str) -> None:
        if stride is None:
            return
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 0:
            raise InvalidInputError(f"stride={stride!r}; it must be a non-negative int (tokens of overlap).")
        if stride >= self.tokenizer.model_max_length:
            raise InvalidInputError(
                f"stride={stride} must be less than tokenizer.model_max_length={self.tokenizer.model_max_length} "
                "(and smaller still once special tokens are counted)."
            )
        if strategy == "none":
            raise InvalidInputError(
                "stride splits the text into windows whose entities must be merged, which needs "
                "aggregation_strategy='simple', 'first', 'average' or 'max' (not 'none')."
            )

    # ------------------------------------------------------------------ model
    @torch.inference_mode()
    def _entities(self, sentences: list, strategy: str, ignore: list, stride) -> list[list[dict]]:
        split = sentences[0][1] is not None
        texts = [words if split else text for text, words, _ in sentences]
        options = {"return_special_tokens_mask": True, "return_offsets_mapping": True,
                   "is_split_into_words": split, "truncation": True}
        if stride is not None:
            options.update(return_overflowing_tokens=True, stride=stride)
        encoding = self.tokenize(texts, **options)
        logits = self.model(**self.to_model(encoding)).logits.float()
        self.check_finite(logits, "logits")
        scores = logits.softmax(-1).numpy()  # (windows, T, labels)
        owners = encoding["overflow_to_sample_mapping"].tolist() if stride is not None else range(len(texts))
        windows: list[list[int]] = [[] for _ in sentences]
        for window, owner in enumerate(owners):
            windows[owner].append(window)
        return [self._sentence_entities(sentences[i], windows[i], encoding, scores, strategy, ignore)
                for i in range(len(sentences))]

    def _sentence_entities(self, sentence, windows, encoding, scores, strategy, ignore) -> list[dict]:
        found = []
        for window in windows:
            pre = self.gather_pre_entities(sentence, window, encoding, scores[window], strategy)
            found.extend(e for e in self.aggregate(pre, strategy)
                         if e.get("entity") not in ignore and e.get("entity_group") not in ignore)
        return merge_overlapping(found) if len(windows) > 1 else found

    # ------------------------------------------------------------------ Transformers' algorithm
    def gather_pre_entities(self, sentence, window: int, encoding, scores: np.ndarray, strategy: str) -> list[dict]:
        text, words, word_starts = sentence
        ids = encoding["input_ids"][window].tolist()
        special = encoding["special_tokens_mask"][window].tolist()
        offsets = encoding["offset_mapping"][window].tolist()
        word_ids = encoding.word_ids(window) if words is not None else None
        wordpiece = bool(getattr(self.tokenizer.backend_tokenizer.model, "continuing_subword_prefix", None))
        if not wordpiece and strategy in ("first", "average", "max"):
            warnings.warn("Tokenizer does not support real words, using fallback heuristic", UserWarning,
                          stacklevel=4)
        pre = []
        for index, token_id in enumerate(ids):
            if special[index]:
                continue
            word = self.tokenizer.convert_ids_to_tokens(token_id)
            start, end = offsets[index]
            if word_ids is not None and word_ids[index] is not None:  # offsets are within the word
                start, end = start + word_starts[word_ids[index]], end + word_starts[word_ids[index]]
            reference = text[start:end]
            if wordpiece:
                is_subword = len(word) != len(reference)
            else:
                is_subword = start > 0 and " " not in text[start - 1:start + 1]
            if token_id == self.tokenizer.unk_token_id:
                word, is_subword = reference, False
            pre.append({"word": word, "scores": scores[index], "start": start, "end": end, "index": index,
                        "is_subword": is_subword})
        return pre

    def aggregate(self, pre_entities: list[dict], strategy: str) -> list[dict]:
        id2label = self.model.config.id2label
        if strategy in ("none", "simple"):
            entities = []
            for pre in pre_entities:
                best = int(pre["scores"].argmax())
                entities.append({"entity": id2label[best], "score": float(pre["scores"][best]),
                                 "index": pre["index"], "word": pre["word"], "start": pre["start"], "end": pre["end"]})
        else:
            entities = [self.aggregate_word(group, strategy) for group in _words(pre_entities)]
        return entities if strategy == "none" else self.group_entities(entities)

    def aggregate_word(self, tokens: list[dict], strategy: str) -> dict:
        id2label = self.model.config.id2label
        if strategy == "first":
            scores = tokens[0]["scores"]
        elif strategy == "max":
            scores = max(tokens, key=lambda t: t["scores"].max())["scores"]
        else:  # average
            scores = np.nanmean(np.stack([t["scores"] for t in tokens]), axis=0)
        best = int(scores.argmax())
        return {"entity": id2label[best], "score": float(scores[best]),
                "word": self.tokenizer.convert_tokens_to_string([t["word"] for t in tokens]),
                "start": tokens[0]["start"], "end": tokens[-1]["end"]}

    def group_entities(self, entities: list[dict]) -> list[dict]:
        """Adjacent entities with the same tag (an ``I-`` continuing, or an unprefixed repeat) merge."""
        groups, current = [], []
        for entity in entities:
            bi, tag = _tag(entity["entity"])
            if current and (tag != _tag(current[-1]["entity"])[1] or bi == "B"):
                groups.append(self._group(current))
                current = []
            current.append(entity)
        if current:
            groups.append(self._group(current))
        return groups

    def _group(self, entities: list[dict]) -> dict:
        return {"entity_group": entities[0]["entity"].split("-", 1)[-1],
                "score": float(np.nanmean([e["score"] for e in entities])),
                "word": self.tokenizer.convert_tokens_to_string([e["word"] for e in entities]),
                "start": entities[0]["start"], "end": entities[-1]["end"]}


def _words(pre_entities: list[dict]):
    """Sub-tokens grouped into words (a word starts at every token that is not a sub-word)."""
    group = []
    for pre in pre_entities:
        if group and not pre["is_subword"]:
            yield group
            group = []
        group.append(pre)
    if group:
        yield group


def _tag(label: str) -> tuple[str, str]:
    if label.startswith(("B-", "I-")):
        return label[0], label[2:]
    return "I", label


def merge_overlapping(entities: list[dict]) -> list[dict]:
    """Entities of overlapping windows: where two overlap keep the longer, then the more confident."""
    if not entities:
        return entities
    entities = sorted(entities, key=lambda e: e["start"])
    kept, previous = [], entities[0]
    for entity in entities:
        if previous["start"] <= entity["start"] < previous["end"]:
            length, previous_length = entity["end"] - entity["start"], previous["end"] - previous["start"]
            if length > previous_length or (length == previous_length and entity["score"] > previous["score"]):
                previous = entity
        else:
            kept.append(previous)
            previous = entity
    kept.append(previous)
    return kept


def _strategy(value) -> str:
    name = str(getattr(value, "value", value)).lower()
    if name not in STRATEGIES:
        raise InvalidInputError(f"aggregation_strategy={value!r}; use one of {', '.join(STRATEGIES)}.")
    return name


def _sentence(item, split: bool, delimiter: str, index: int | None):
    """``(text, words or None, word start offsets or None)``."""
    where = f"input {index}" if index is not None else "the input"
    if split:
        if not isinstance(item, (list, tuple)) or not all(isinstance(w, str) for w in item):
            raise InvalidInputError(f"{where} is {describe(item)}; with is_split_into_words=True pass a list of words.")
        starts, position = [], 0
        for word in item:
            starts.append(position)
            position += len(word) + len(delimiter)
        return delimiter.join(item), list(item), starts
    if not isinstance(item, str):
        raise InvalidInputError(
            f"{where} is {describe(item)}; pass a str (or a list of words with is_split_into_words=True)."
        )
    return item, None, None

