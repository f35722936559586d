"""``pipeline("text-classification")`` (alias ``"sentiment-analysis"``): texts or text pairs in, labels out.

Output shape follows Transformers: without ``top_k`` each input gets its best
``{"label", "score"}`` (a single ``str`` input gets it wrapped in a list); with ``top_k``
(an int, or ``None`` for every label) each input gets a list sorted best first.
Pairs are ``{"text": …, "text_pair": …}`` dicts.
"""

from __future__ import annotations

import torch

from ..core.errors import InvalidInputError
from .base import check_batch_size, check_top_k, describe
from .text_base import TextPipeline, apply_function, split_tokenizer_kwargs

_UNSET = object()


class TextClassificationPipeline(TextPipeline):
    task = "text-classification"
    call_parameters = ("top_k", "function_to_apply")

    def __call__(self, inputs, top_k=_UNSET, function_to_apply=None, batch_size: int | None = None, **kwargs):
        tokenizer_kwargs = split_tokenizer_kwargs(self.task, kwargs)
        if top_k is _UNSET:
            top_k = self._defaults.get("top_k", _UNSET)
        legacy = top_k is _UNSET  # Transformers' historical output: the best label only
        if not legacy and top_k is not None:
            top_k = check_top_k(top_k, self.model.config.num_labels)
        function = self.function_for(function_to_apply or self._defaults.get("function_to_apply"))
        size = check_batch_size(batch_size) or self.batch_size

        def process(items: list, first: int | None) -> list:
            pairs = [_as_pair(item, None if first is None else first + i) for i, item in enumerate(items)]
            return self.sorted_batches(pairs, size, lambda group: self._classify(group, tokenizer_kwargs, function,
                                                                                  top_k, legacy), self.approx_length)

        result = self.run(inputs, process, batch_size)
        if isinstance(inputs, str) and legacy:
            return [result]
        return result

    @torch.inference_mode()
    def _classify(self, pairs: list[tuple], tokenizer_kwargs: dict, function: str, top_k, legacy: bool) -> list:
        texts = [text for text, _ in pairs]
        seconds = [pair for _, pair in pairs]
        has_pairs = any(p is not None for p in seconds)
        if has_pairs and not all(p is not None for p in seconds):
            # Mixed batch: single texts and pairs tokenize differently; run them apart.
            return [self._classify([pair], tokenizer_kwargs, function, top_k, legacy)[0] for pair in pairs]
        encoding = self.tokenize(texts, seconds if has_pairs else None, **tokenizer_kwargs)
        logits = self.model(**self.to_model(encoding)).logits.float()
        self.check_finite(logits, "logits")
        return [self.postprocess(row, function, top_k, legacy) for row in apply_function(logits, function)]

    def postprocess(self, scores: torch.Tensor, function: str, top_k, legacy: bool):
        id2label = self.model.config.id2label
        if legacy:
            best = int(scores.argmax())
            return {"label": id2label[best], "score": float(scores[best])}
        ranked = sorted(({"label": id2label[i], "score": s} for i, s in enumerate(scores.tolist())),
                        key=lambda r: r["score"], reverse=True)
        return ranked if top_k is None else ranked[:top_k]


def _as_pair(item, index: int | None) -> tuple[str, str | None]:
    where = f"input {index}" if index is not None else "the input"
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict):
        if not isinstance(item.get("text"), str) or not isinstance(item.get("text_pair", ""), str):
            raise InvalidInputError(
                f"{where} is a dict with keys {sorted(item)}; a text pair is {{'text': str, 'text_pair': str}}."
            )
        return item["text"], item.get("text_pair")
    if isinstance(item, (list, tuple)):
        raise InvalidInputError(
            f"{where} is a {type(item).__name__}; to classify a text pair pass "
            "{'text': 'first', 'text_pair': 'second'} (a list of such dicts for several pairs)."
        )
    raise InvalidInputError(f"{where} is {describe(item)}; the text-classification pipeline expects a str.")
