"""The Trainer's evaluation and prediction loop: batched forward passes, losses, padded
concatenation of predictions, ``compute_metrics``."""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..core.errors import ConfigError
from .trainer_utils import EvalPrediction, PredictionOutput


def _pad_concat(arrays: list[np.ndarray], pad_value=-100) -> np.ndarray:
    """Concatenate batches along dim 0, padding dim 1 when sequence lengths differ (CTC logits)."""
    if arrays[0].ndim < 2 or len({a.shape[1:] for a in arrays}) == 1:
        return np.concatenate(arrays)
    width = max(a.shape[1] for a in arrays)
    out = np.full((sum(len(a) for a in arrays), width, *arrays[0].shape[2:]), pad_value, dtype=arrays[0].dtype)
    start = 0
    for a in arrays:
        out[start:start + len(a), : a.shape[1]] = a
        start += len(a)
    return out


def _nested_concat(batches: list):
    """Concatenate per-batch arrays, or per-batch tuples of arrays element by element."""
    if isinstance(batches[0], (tuple, list)):
        return type(batches[0])(_nested_concat([b[i] for b in batches]) for i in range(len(batches[0])))
    if isinstance(batches[0], Mapping):
        return {key: _nested_concat([b[key] for b in batches]) for key in batches[0]}
    return _pad_concat(batches)


def _to_numpy(value):
    if isinstance(value, (tuple, list)):
        return type(value)(_to_numpy(v) for v in value)
    if isinstance(value, Mapping):  # a nested ModelOutput (e.g. CLIP's text_model_output)
        return {k: _to_numpy(v) for k, v in value.items() if v is not None}
    if isinstance(value, torch.Tensor):
        return value.detach().float().cpu().numpy() if value.is_floating_point() else value.detach().cpu().numpy()
    return value


def _one_or_tuple(values: tuple):
    return values[0] if len(values) == 1 else values


def find_labels(model) -> list[str]:
    """The forward arguments that hold labels (``labels``; QA's ``start_positions``/``end_positions``)."""
    params = inspect.signature(getattr(model, "forward", model)).parameters
    qa = "QuestionAnswering" in type(model).__name__
    return [p for p in params if "label" in p or (qa and p in ("start_positions", "end_positions"))]


class EvaluationMixin:
    """Trainer methods for ``evaluate`` and ``predict`` (mixed into ``Trainer``)."""

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        """Loss and ``compute_metrics`` on ``eval_dataset`` (default: the Trainer's). A dict of datasets is
        evaluated set by set, with metrics named ``eval_<name>_…``; a string picks one of the Trainer's."""
        if isinstance(eval_dataset, str):
            if not isinstance(self.eval_dataset, dict) or eval_dataset not in self.eval_dataset:
                names = sorted(self.eval_dataset) if isinstance(self.eval_dataset, dict) else []
                raise ConfigError(f"evaluate({eval_dataset!r}): the Trainer's eval_dataset has no set of that name "
                                  f"(it has {names or 'no named sets'}).")
            eval_dataset, metric_key_prefix = self.eval_dataset[eval_dataset], f"{metric_key_prefix}_{eval_dataset}"
        dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        if isinstance(dataset, dict) and not hasattr(dataset, "column_names"):
            metrics = {}
            for name, subset in dataset.items():
                metrics.update(self.evaluate(subset, ignore_keys, f"{metric_key_prefix}_{name}"))
            return metrics
        output = self._prediction_loop(self.get_eval_dataloader(dataset), metric_key_prefix, ignore_keys)
        self.log(output.metrics)
        self._event("on_evaluate", metrics=output.metrics)
        return output.metrics

    def predict(self, test_dataset, ignore_keys=None, metric_key_prefix: str = "test") -> PredictionOutput:
        output = self._prediction_loop(self.get_eval_dataloader(test_dataset), metric_key_prefix, ignore_keys)
        self._event("on_predict", metrics=output.metrics)
        return output

    @property
    def label_names(self) -> list[str]:
        return self.args.label_names if self.args.label_names is not None else find_labels(self.model)

    def prediction_step(self, model, inputs: dict, prediction_loss_only: bool, ignore_keys=None):
        """``(loss, logits, labels)`` for one batch (Transformers' signature, so subclasses can override it).

        The loss is the training loss (label smoothing, ``compute_loss_func``) when the batch has labels;
        logits are every output but the loss and ``ignore_keys`` — a tuple when there are several.
        """
        inputs = self._to_device(inputs)
        label_names = self.label_names
        labels = tuple(inputs.get(name) for name in label_names)
        has_labels = bool(label_names) and all(v is not None for v in labels)
        # Contrastive models (CLIP-like) compute a loss without labels when asked with return_loss=True.
        loss_without_labels = not label_names and bool(inputs.get("return_loss"))
        with torch.no_grad(), self._autocast():
            if has_labels or loss_without_labels:
                loss, outputs = self.compute_loss(model, dict(inputs), return_outputs=True)
                loss = loss.mean().detach()
            else:
                loss, outputs = None, model(**inputs)
        if prediction_loss_only:
            return loss, None, None
        if ignore_keys is None:
            ignore_keys = getattr(getattr(self.model, "config", None), "keys_to_ignore_at_inference", [])
        if isinstance(outputs, dict):
            # A KV cache is decoding state, not a prediction (Transformers' configs list it in
            # keys_to_ignore_at_inference).
            skip = {*ignore_keys, "loss", "past_key_values"}
            values = tuple(v for k, v in outputs.items() if k not in skip and v is not None)
        else:
            values = tuple(outputs[1:] if loss is not None else outputs)
        return loss, _one_or_tuple(values), (_one_or_tuple(labels) if has_labels else None)

    @torch.no_grad()
    def _prediction_loop(self, loader: DataLoader, prefix: str, ignore_keys=None) -> PredictionOutput:
        self.model.eval()
        self.callback_handler.eval_dataloader = loader
        losses, preds, labels, count, started = [], [], [], 0, time.time()
        for batch in loader:
            loss, logits, batch_labels = self.prediction_step(self.model, batch, self.args.prediction_loss_only,
                                                              ignore_keys)
            size = len(next(v for v in batch.values() if isinstance(v, torch.Tensor)))
            count += size
            if loss is not None:
                losses.append(float(loss) * size)
            if logits is not None:
                if self.preprocess_logits_for_metrics is not None:
                    logits = self.preprocess_logits_for_metrics(logits, batch_labels)
                preds.append(_to_numpy(logits))
            if batch_labels is not None and not self.args.prediction_loss_only:
                labels.append(_to_numpy(batch_labels))
            self._event("on_prediction_step")
        predictions = _nested_concat(preds) if preds else None
        label_ids = _nested_concat(labels) if labels else None
        metrics: dict[str, float] = {}
        if self.compute_metrics is not None and predictions is not None and label_ids is not None:
            metrics.update(self.compute_metrics(EvalPrediction(predictions=predictions, label_ids=label_ids)))
        if losses:
            metrics["loss"] = sum(losses) / count
        runtime = time.time() - started
        metrics.update(runtime=round(runtime, 4), samples_per_second=round(count / max(runtime, 1e-9), 3),
                       steps_per_second=round(len(loader) / max(runtime, 1e-9), 3))
        metrics = {(k if k.startswith(f"{prefix}_") else f"{prefix}_{k}"): v for k, v in metrics.items()}
        return PredictionOutput(predictions, label_ids, metrics)
