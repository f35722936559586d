"""``polymodal.metrics.load("accuracy")`` — offline metrics (see train/metrics.py)."""

from .train.metrics import CER, F1, WER, Accuracy, Metric, list_metrics, load

__all__ = ["Accuracy", "CER", "F1", "Metric", "WER", "list_metrics", "load"]
