"""Contrastive (InfoNCE) losses of the image/audio–text models: row i's match is column i."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def contrastive_loss(logits: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    targets = torch.arange(logits.shape[0], device=logits.device)
    return F.cross_entropy(logits, targets, label_smoothing=label_smoothing)


def symmetric_contrastive_loss(logits_per_text: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean of the text→other and other→text losses (CLIP's; ALIGN smooths labels by 0.1)."""
    return (contrastive_loss(logits_per_text, label_smoothing)
            + contrastive_loss(logits_per_text.t(), label_smoothing)) / 2.0
