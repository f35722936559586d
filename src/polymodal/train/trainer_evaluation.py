"""The Trainer's evaluation and prediction loop: batched forward passes, losses, padded
concatenation of predictions, ``compute_metrics``."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch.utils.data import DataLoader

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


# Parameters that get no weight decay: biases and normalisation weights (Transformers' rule).


class EvaluationMixin:
    """Trainer methods for ``evaluate`` and ``predict`` (mixed into ``Trainer``)."""

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        output = self._prediction_loop(self.get_eval_dataloader(eval_dataset), metric_key_prefix)
        self.log(output.metrics)
        self._event("on_evaluate", metrics=output.metrics)
        return output.metrics

    def predict(self, test_dataset, ignore_keys=None, metric_key_prefix: str = "test") -> PredictionOutput:
        output = self._prediction_loop(self.get_eval_dataloader(test_dataset), metric_key_prefix)
        self._event("on_predict", metrics=output.metrics)
        return output

    def _eval_forward(self, model, batch: dict):
        """(loss or None, outputs); the loss is the training loss (label smoothing included) when labels are given."""
        custom = self.label_smoother is not None or self.compute_loss_func is not None
        if custom and batch.get("labels") is not None:
            return self.compute_loss(model, dict(batch), return_outputs=True)
        outputs = model(**batch)
        return (outputs.get("loss") if isinstance(outputs, dict) else None), outputs

    @torch.no_grad()
    def _prediction_loop(self, loader: DataLoader, prefix: str) -> PredictionOutput:
        model = self.model
        model.eval()
        self.callback_handler.eval_dataloader = loader
        losses, preds, labels, count, started = [], [], [], 0, time.time()
        for batch in loader:
            batch = self._to_device(batch)
            with self._autocast():
                loss, outputs = self._eval_forward(model, batch)
            size = len(next(v for v in batch.values() if isinstance(v, torch.Tensor)))
            count += size
            if loss is not None:
                losses.append(float(loss) * size)
            if not self.args.prediction_loss_only:
                logits = outputs["logits"] if "logits" in outputs else outputs[1 if loss is not None else 0]
                if self.preprocess_logits_for_metrics is not None:
                    logits = self.preprocess_logits_for_metrics(logits, batch.get("labels"))
                preds.append(logits.float().cpu().numpy())
                if batch.get("labels") is not None:
                    labels.append(batch["labels"].cpu().numpy())
            self._event("on_prediction_step")
        predictions = _pad_concat(preds) if preds else None
        label_ids = _pad_concat(labels) if labels else None
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
