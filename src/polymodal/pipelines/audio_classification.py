"""``pipeline("audio-classification")``: audio in, the top-k labels with scores out."""

from __future__ import annotations

import torch

from ..core.errors import InvalidInputError
from .base import Pipeline, as_batch, audio_input, chunks


class AudioClassificationPipeline(Pipeline):
    task = "audio-classification"

    def __call__(self, inputs, top_k: int | None = None, function_to_apply: str | None = None,
                 batch_size: int | None = None, **kwargs):
        """Classify one input or a list; returns ``[{"score", "label"}, …]`` (a list of those for a list).

        ``top_k`` defaults to 5 as in the Transformers documentation (capped at the label count).
        """
        items, single = as_batch(inputs)
        top_k = self._defaults.get("top_k", 5) if top_k is None else top_k
        top_k = min(int(top_k), self.model.config.num_labels)
        function = function_to_apply or self._defaults.get("function_to_apply") or self._default_function()
        if function not in ("softmax", "sigmoid", "none"):
            raise InvalidInputError(f"function_to_apply={function!r}; use 'softmax', 'sigmoid' or 'none'.")
        rate = self.feature_extractor.sampling_rate
        arrays = [audio_input(x, rate, index=None if single else i) for i, x in enumerate(items)]
        results = []
        for group in chunks(arrays, batch_size or self.batch_size):
            logits = self._forward(group)
            results.extend(self.postprocess(logits, top_k, function))
        return results[0] if single else results

    def _default_function(self) -> str:
        problem = getattr(self.model.config, "problem_type", None)
        return {"regression": "none", "multi_label_classification": "sigmoid"}.get(problem, "softmax")

    @torch.inference_mode()
    def _forward(self, arrays) -> torch.Tensor:
        features = self.extract_features(arrays)
        return self.model(**self._model_inputs(features)).logits.float()

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
