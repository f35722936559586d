"""The loss of every ``…ForImageClassification`` / ``…ForSequenceClassification`` head.

Transformers' rule: MSE when there is one label, cross-entropy for integer class ids, binary
cross-entropy for float multi-hot targets. The inferred ``problem_type`` is written back to the
config (as Transformers does), so a model saved after training keeps it and the pipeline picks
softmax or sigmoid accordingly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.errors import InvalidInputError


def classification_loss(logits: torch.Tensor, labels: torch.Tensor, config) -> torch.Tensor:
    num_labels = config.num_labels
    if not isinstance(labels, torch.Tensor):
        labels = torch.as_tensor(labels)
    if config.problem_type is None:
        if num_labels == 1:
            config.problem_type = "regression"
        elif labels.dtype in (torch.long, torch.int, torch.int16, torch.int8, torch.uint8):
            config.problem_type = "single_label_classification"
        else:
            config.problem_type = "multi_label_classification"
    labels = labels.to(logits.device)
    if config.problem_type == "regression":
        if num_labels == 1:
            return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
        return F.mse_loss(logits, labels.to(logits.dtype))
    if config.problem_type == "single_label_classification":
        _check_class_ids(labels, num_labels)
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1).long(), ignore_index=-100)
    if labels.shape != logits.shape:
        raise InvalidInputError(
            f"labels for multi-label classification must have the logits' shape {tuple(logits.shape)} (one 0/1 "
            f"target per class), got {tuple(labels.shape)}. For one class id per example pass integer labels."
        )
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def _check_class_ids(labels: torch.Tensor, num_labels: int) -> None:
    bad = labels[(labels != -100) & ((labels < 0) | (labels >= num_labels))]
    if bad.numel():
        raise InvalidInputError(
            f"labels contain class id {int(bad[0])}, but the model has num_labels={num_labels}; every label must "
            f"be in [0, {num_labels - 1}] (or -100 to ignore). Load with num_labels=N (and "
            "ignore_mismatched_sizes=True) for another label count."
        )

def token_loss(logits: torch.Tensor, labels: torch.Tensor, num_classes: int, what: str) -> torch.Tensor:
    """Cross-entropy over every position (``-100`` ignored), after checking the ids are in range."""
    if labels.shape != logits.shape[:-1]:
        raise InvalidInputError(
            f"labels must have shape {tuple(logits.shape[:-1])} (one {what} per token), got {tuple(labels.shape)}."
        )
    labels = labels.to(logits.device).long()
    bad = labels[(labels != -100) & ((labels < 0) | (labels >= num_classes))]
    if bad.numel():
        raise InvalidInputError(
            f"labels contain {what} {int(bad[0])}, outside [0, {num_classes - 1}]; use -100 for positions to ignore."
        )
    return F.cross_entropy(logits.reshape(-1, num_classes), labels.reshape(-1), ignore_index=-100)
