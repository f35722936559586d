"""``pipeline("audio-classification")``: audio in, the top-k labels with scores out."""

from __future__ import annotations

import torch

from ..core.errors import InvalidInputError
from .base import Pipeline, audio_input, check_batch_size, check_top_k, warn_if_truncated


class AudioClassificationPipeline(Pipeline):
    task = "audio-classification"
    call_parameters = ("top_k", "function_to_apply")

    def __call__(self, inputs, top_k: int | None = None, function_to_apply: str | None = None,
                 batch_size: int | None = None, **kwargs):
        """Classify one input or a list; returns ``[{"score", "label"}, …]`` (a list of those for a list;
        an iterator of those for a generator or dataset).

        ``top_k`` defaults to 5 as in the Transformers documentation (capped at the label count).
        A result never depends on ``batch_size`` or on which clips share a batch.
        """
        if kwargs:
            raise InvalidInputError(f"Unknown argument(s) {sorted(kwargs)} for the audio-classification pipeline; "
                                    "it takes top_k, function_to_apply and batch_size.")
        top_k = check_top_k(self._defaults.get("top_k") if top_k is None else top_k, self.model.config.num_labels)
        function = function_to_apply or self._defaults.get("function_to_apply") or self._default_function()
        if function not in ("softmax", "sigmoid", "none"):
            raise InvalidInputError(f"function_to_apply={function!r}; use 'softmax', 'sigmoid' or 'none'.")
        rate = self.feature_extractor.sampling_rate
        size = check_batch_size(batch_size) or self.batch_size

        def process(items: list, first: int | None) -> list:
            arrays = [audio_input(x, rate, index=None if first is None else first + i) for i, x in enumerate(items)]
            warn_if_truncated(arrays, self.feature_extractor, first)
            return self.run_batched(arrays, size, lambda group: self.postprocess(self._forward(group), top_k, function))

        return self.run(inputs, process, batch_size)

    def _default_function(self) -> str:
        problem = getattr(self.model.config, "problem_type", None)
        return {"regression": "none", "multi_label_classification": "sigmoid"}.get(problem, "softmax")

    @torch.inference_mode()
    def _forward(self, arrays) -> torch.Tensor:
        features = self.extract_features(arrays)
        logits = self.model(**self._model_inputs(features)).logits.float()
        self.check_finite(logits, "logits")
        return logits

    def postprocess(self, logits: torch.Tensor, top_k: int, function: str) -> list[list[dict]]:
        if function == "softmax":
            probs = logits.softmax(-1)
        elif function == "sigmoid":
            probs = logits.sigmoid()
        else:
            probs = logits
        scores, ids = probs.topk(top_k, dim=-1)
        id2label = self.model.config.id2label
        return [
            [{"score": s, "label": id2label[i]} for s, i in zip(row_scores, row_ids)]
            for row_scores, row_ids in zip(scores.tolist(), ids.tolist())
        ]
