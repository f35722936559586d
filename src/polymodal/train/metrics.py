"""Metrics usable in ``compute_metrics`` with no network: accuracy, F1, WER, CER (rouge, sacrebleu: metrics_text).

``load(name).compute(predictions=…, references=…)`` mirrors the ``evaluate`` library's calls
and return shapes: accuracy and F1 return ``{"accuracy": …}`` / ``{"f1": …}``; WER and CER
return a float. Edit distances come from ``jiwer``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import InvalidInputError


def _check(predictions, references) -> tuple[np.ndarray, np.ndarray]:
    p, r = np.asarray(predictions), np.asarray(references)
    if p.shape != r.shape:
        raise InvalidInputError(
            f"predictions and references must have the same length, got {p.shape} and {r.shape}."
        )
    if p.size == 0:
        raise InvalidInputError("predictions and references are empty.")
    return p, r


class Metric:
    name = ""

    def __init__(self):
        self._predictions: list = []
        self._references: list = []

    def add_batch(self, *, predictions, references) -> None:
        self._predictions.extend(list(predictions))
        self._references.extend(list(references))

    def add(self, *, prediction, reference) -> None:
        self._predictions.append(prediction)
        self._references.append(reference)

    def compute(self, *, predictions=None, references=None, **kwargs):
        if predictions is None and references is None:
            predictions, references = self._predictions, self._references
            self._predictions, self._references = [], []
        return self._compute(predictions, references, **kwargs)

    def _compute(self, predictions, references, **kwargs):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"polymodal.metrics.load({self.name!r})"


class Accuracy(Metric):
    name = "accuracy"

    def _compute(self, predictions, references, normalize: bool = True, sample_weight=None) -> dict[str, float]:
        p, r = _check(predictions, references)
        correct = (p == r).astype(np.float64)
        if sample_weight is not None:
            correct = correct * np.asarray(sample_weight, dtype=np.float64)
            total = float(np.sum(sample_weight))
        else:
            total = float(len(correct))
        value = correct.sum() / total if normalize else correct.sum()
        return {"accuracy": float(value)}


class F1(Metric):
    name = "f1"

    def _compute(self, predictions, references, labels=None, pos_label=1, average: str | None = "binary",
                 sample_weight=None) -> dict[str, Any]:
        p, r = _check(predictions, references)
        w = np.ones(len(p)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        classes = np.asarray(labels) if labels is not None else np.unique(np.concatenate([p, r]))
        if average == "binary":
            return {"f1": float(self._f1(p == pos_label, r == pos_label, w))}
        if average == "micro":
            tp = sum(np.sum(w * ((p == c) & (r == c))) for c in classes)
            fp = sum(np.sum(w * ((p == c) & (r != c))) for c in classes)
            fn = sum(np.sum(w * ((p != c) & (r == c))) for c in classes)
            return {"f1": float(_f1_from_counts(tp, fp, fn))}
        scores = np.array([self._f1(p == c, r == c, w) for c in classes])
        if average is None:
            return {"f1": scores}
        if average == "macro":
            return {"f1": float(scores.mean())}
        if average == "weighted":
            support = np.array([np.sum(w * (r == c)) for c in classes])
            return {"f1": float((scores * support).sum() / support.sum()) if support.sum() else 0.0}
        raise InvalidInputError(f"average={average!r}; use 'binary', 'micro', 'macro', 'weighted' or None.")

    @staticmethod
    def _f1(pred_pos, true_pos, w) -> float:
        tp = np.sum(w * (pred_pos & true_pos))
        fp = np.sum(w * (pred_pos & ~true_pos))
        fn = np.sum(w * (~pred_pos & true_pos))
        return _f1_from_counts(tp, fp, fn)


def _f1_from_counts(tp, fp, fn) -> float:
    denominator = 2 * tp + fp + fn
    return float(2 * tp / denominator) if denominator else 0.0


def _texts(values, what: str) -> list[str]:
    values = [values] if isinstance(values, str) else list(values)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise InvalidInputError(f"{what}[{i}] must be a string, got {type(v).__name__}.")
    return values


class WER(Metric):
    name = "wer"

    def _compute(self, predictions, references, concatenate_texts: bool = False) -> float:
        import jiwer

        hyp, ref = _texts(predictions, "predictions"), _texts(references, "references")
        if len(hyp) != len(ref):
            raise InvalidInputError(f"{len(hyp)} predictions but {len(ref)} references.")
        return float(jiwer.wer(ref, hyp))


class CER(Metric):
    name = "cer"

    def _compute(self, predictions, references, concatenate_texts: bool = False) -> float:
        import jiwer

        hyp, ref = _texts(predictions, "predictions"), _texts(references, "references")
        if len(hyp) != len(ref):
            raise InvalidInputError(f"{len(hyp)} predictions but {len(ref)} references.")
        return float(jiwer.cer(ref, hyp))


_METRICS = {"accuracy": Accuracy, "f1": F1, "wer": WER, "cer": CER}
_TEXT_METRICS = {"rouge": "Rouge", "sacrebleu": "SacreBleu"}


def load(name: str, *args, **kwargs) -> Metric:
    """``evaluate.load``-like access to the bundled metrics (no network)."""
    key = str(name).lower().split("/")[-1]
    if key in _TEXT_METRICS:  # summarisation / translation metrics (issue 16), on rouge-score / sacrebleu
        from . import metrics_text

        return getattr(metrics_text, _TEXT_METRICS[key])()
    if key not in _METRICS:
        raise InvalidInputError(f"Unknown metric {name!r}; polymodal bundles {list_metrics()}.")
    return _METRICS[key]()


def list_metrics() -> list[str]:
    return sorted([*_METRICS, *_TEXT_METRICS])
