"""``pipeline("zero-shot-classification")``: rank free-text labels with an NLI model.

Each label becomes the hypothesis ``hypothesis_template.format(label)`` paired with the text;
the model's entailment logit (the label whose name starts with "entail") scores it. Without
``multi_label`` the entailment logits are softmaxed across labels; with it (or with one label)
each label is softmaxed on its own over (contradiction, entailment). The output is
``{"sequence", "labels", "scores"}`` best first, as in Transformers.
"""

from __future__ import annotations

import logging

import torch

from ..core.errors import InvalidInputError
from .base import check_batch_size
from .text_base import TextPipeline, check_text

logger = logging.getLogger("polymodal")
DEFAULT_TEMPLATE = "This example is {}."


class ZeroShotClassificationPipeline(TextPipeline):
    task = "zero-shot-classification"
    call_parameters = ("candidate_labels", "hypothesis_template", "multi_label")

    def __call__(self, sequences, *args, candidate_labels=None, hypothesis_template: str | None = None,
                 multi_label: bool | None = None, batch_size: int | None = None, **kwargs):
        if len(args) == 1 and candidate_labels is None:
            candidate_labels = args[0]
        elif args:
            raise InvalidInputError(f"Unable to understand extra positional arguments {args}; pass candidate_labels=.")
        if kwargs:
            raise InvalidInputError(f"Unknown argument(s) {sorted(kwargs)} for the zero-shot-classification pipeline.")
        labels = _labels(candidate_labels if candidate_labels is not None else self._defaults.get("candidate_labels"))
        template = hypothesis_template or self._defaults.get("hypothesis_template", DEFAULT_TEMPLATE)
        if not isinstance(template, str) or template.format(labels[0]) == template:
            raise InvalidInputError(
                f"hypothesis_template={template!r} has no '{{}}' for the label; use e.g. 'This example is {{}}.'"
            )
        multi = bool(multi_label if multi_label is not None else self._defaults.get("multi_label", False))
        hypotheses = [template.format(label) for label in labels]
        size = check_batch_size(batch_size) or self.batch_size

        def process(items: list, first: int | None) -> list:
            texts = [check_text(item, None if first is None else first + i) for i, item in enumerate(items)]
            return [self._rank(text, labels, hypotheses, multi, size) for text in texts]

        return self.run(sequences, process, batch_size)

    @property
    def entailment_id(self) -> int:
        for label, index in self.model.config.label2id.items():
            if label.lower().startswith("entail"):
                return int(index)
        return -1  # Transformers' fallback: the last logit

    @torch.inference_mode()
    def _rank(self, text: str, labels: list[str], hypotheses: list[str], multi: bool, size: int) -> dict:
        # One (text, hypothesis) pair per label, batch_size pairs per forward pass.
        logits = []
        for start in range(0, len(hypotheses), size):
            part = hypotheses[start:start + size]
            encoding = self.tokenize([text] * len(part), part, truncation="only_first")
            logits.append(self.model(**self.to_model(encoding)).logits.float())
        logits = torch.cat(logits)  # (labels, classes)
        self.check_finite(logits, "logits")
        entail = self.entailment_id
        if multi or len(labels) == 1:
            contradiction = -1 if entail == 0 else 0
            scores = logits[:, [contradiction, entail]].softmax(-1)[:, 1]
        else:
            scores = logits[:, entail].softmax(-1)
        order = sorted(range(len(labels)), key=lambda i: -float(scores[i]))
        return {"sequence": text, "labels": [labels[i] for i in order], "scores": [float(scores[i]) for i in order]}


def _labels(candidate_labels) -> list[str]:
    if isinstance(candidate_labels, str):
        candidate_labels = [label.strip() for label in candidate_labels.split(",") if label.strip()]
    if not candidate_labels:
        raise InvalidInputError("candidate_labels is empty; pass the labels to choose from, e.g. ['sports', 'politics'].")
    if not all(isinstance(label, str) for label in candidate_labels):
        raise InvalidInputError(f"candidate_labels must be strings; got {sorted({type(x).__name__ for x in candidate_labels})}.")
    return list(candidate_labels)
