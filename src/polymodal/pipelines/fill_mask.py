"""``pipeline("fill-mask")``: texts with the tokenizer's mask token in, the likeliest fillers out.

Each result is ``{"score", "token", "token_str", "sequence"}``, best first (``top_k``,
default 5). ``targets`` restricts the candidates to given words (a word missing from the
vocabulary is replaced by its first token, with a warning, as in Transformers). A text with
several masks gets one list per mask, and its sequences keep the special tokens.
"""

from __future__ import annotations

import logging

import torch

from ..core.errors import InvalidInputError
from .base import check_batch_size, check_top_k
from .text_base import TextPipeline, check_text, split_tokenizer_kwargs

logger = logging.getLogger("polymodal")


class FillMaskPipeline(TextPipeline):
    task = "fill-mask"
    call_parameters = ("top_k", "targets", "tokenizer_kwargs")

    def __call__(self, inputs, top_k: int | None = None, targets=None, tokenizer_kwargs: dict | None = None,
                 batch_size: int | None = None, **kwargs):
        if kwargs:
            raise InvalidInputError(f"Unknown argument(s) {sorted(kwargs)} for the fill-mask pipeline; it takes "
                                    "top_k, targets, tokenizer_kwargs and batch_size.")
        if self.tokenizer.mask_token_id is None:
            raise InvalidInputError("The tokenizer has no mask_token, so fill-mask cannot find what to fill.")
        tokenizer_kwargs = split_tokenizer_kwargs(self.task, tokenizer_kwargs or self._defaults.get(
            "tokenizer_kwargs") or {})
        targets = targets if targets is not None else self._defaults.get("targets")
        target_ids = self.target_ids(targets) if targets is not None else None
        available = len(target_ids) if target_ids is not None else self.model.config.vocab_size
        top_k = check_top_k(top_k if top_k is not None else self._defaults.get("top_k"), available, default=5)
        size = check_batch_size(batch_size) or self.batch_size

        def process(items: list, first: int | None) -> list:
            texts = [check_text(item, None if first is None else first + i) for i, item in enumerate(items)]
            return self.sorted_batches(texts, size, lambda group: self._fill(group, tokenizer_kwargs, top_k,
                                                                             target_ids, first), len)

        result = self.run(inputs, process, batch_size)
        if isinstance(inputs, list) and len(inputs) == 1:
            return result[0]  # Transformers unwraps a one-text list
        return result

    def target_ids(self, targets) -> torch.Tensor:
        targets = [targets] if isinstance(targets, str) else list(targets)
        vocab = self.tokenizer.get_vocab()
        ids = []
        for target in targets:
            if not isinstance(target, str):
                raise InvalidInputError(f"targets must be strings; got {type(target).__name__}.")
            token_id = vocab.get(target)
            if token_id is None:
                pieces = self.tokenizer(target, add_special_tokens=False, return_attention_mask=False,
                                        return_token_type_ids=False, max_length=1, truncation=True)["input_ids"]
                if not pieces:
                    logger.warning("The target %r is not in the vocabulary and has no token; ignoring it.", target)
                    continue
                token_id = pieces[0]
                logger.warning("The target %r is not in the vocabulary; using its first token %r.", target,
                               self.tokenizer.convert_ids_to_tokens(token_id))
            ids.append(token_id)
        if not ids:
            raise InvalidInputError(f"None of targets={targets!r} maps to a token; pass words of the vocabulary.")
        return torch.tensor(sorted(set(ids)))

    @torch.inference_mode()
    def _fill(self, texts: list[str], tokenizer_kwargs: dict, top_k: int, target_ids, first) -> list:
        encoding = self.tokenize(texts, **tokenizer_kwargs)
        input_ids = encoding["input_ids"]
        masked = input_ids == self.tokenizer.mask_token_id
        for row, text in enumerate(texts):
            if not bool(masked[row].any()):
                raise InvalidInputError(
                    f"No mask_token ({self.tokenizer.mask_token}) found in {text!r}; put it where a word should be "
                    f"predicted, e.g. 'Paris is the {self.tokenizer.mask_token} of France.'"
                )
        logits = self.model(**self.to_model(encoding)).logits
        return [self.postprocess(input_ids[row], logits[row], masked[row], top_k, target_ids)
                for row in range(len(texts))]

    def postprocess(self, ids: torch.Tensor, logits: torch.Tensor, masked: torch.Tensor, top_k: int, target_ids):
        positions = masked.nonzero().squeeze(-1)
        probs = logits[positions].float().softmax(-1)  # (masks, V)
        self.check_finite(probs, "scores")
        if target_ids is not None:
            probs = probs[:, target_ids]
        values, predictions = probs.topk(top_k)
        single = len(positions) == 1
        rows = []
        for position, row_values, row_predictions in zip(positions.tolist(), values.tolist(), predictions.tolist()):
            row = []
            for score, prediction in zip(row_values, row_predictions):
                token = int(target_ids[prediction]) if target_ids is not None else prediction
                filled = ids.clone()
                filled[position] = token
                filled = filled[filled != self.tokenizer.pad_token_id]  # batch padding (and a padding prediction)
                sequence = self.tokenizer.decode(filled.tolist(), skip_special_tokens=single)
                row.append({"score": score, "token": token, "token_str": self.tokenizer.decode([token]),
                            "sequence": sequence})
            rows.append(row)
        return rows[0] if single else rows
