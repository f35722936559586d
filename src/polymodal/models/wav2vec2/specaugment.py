"""SpecAugment span masks (Park et al., 2019) as used by wav2vec2 fine-tuning.

Same distribution as Transformers' ``_compute_mask_indices``: per example,
``int(mask_prob * length / mask_length + eps)`` spans (``eps`` ~ U[0, 1) shared by the batch,
at least ``min_masks``), whose starts are drawn uniformly *without replacement* from the
example's valid positions; spans may overlap and are clipped at the end of the sequence.

The draws are Transformers' own sequence on numpy's global RNG (``np.random.seed`` / the
Trainer's ``set_seed`` make it reproducible): one ``rand`` for ``eps``, then per example a
``choice`` without replacement over its valid starts (also for examples with no span: that
call still consumes the stream). So the masks equal Transformers' for the same numpy state, and
torch's RNG — dropout's — is left alone, which keeps a training step's dropout masks, and so its
losses, equal to Transformers' with SpecAugment on. The expansion of starts into spans is batched.
"""

from __future__ import annotations

import numpy as np
import torch

from ...core.errors import ConfigError, InvalidInputError


def _num_spans(lengths: torch.Tensor, sequence_length: int, mask_prob: float, mask_length: int,
               min_masks: int, epsilon: float) -> torch.Tensor:
    spans = torch.floor(mask_prob * lengths.double() / mask_length + epsilon).long().clamp(min=min_masks)
    spans = torch.where(spans * mask_length > sequence_length, sequence_length // mask_length, spans)
    return torch.minimum(spans, (lengths - (mask_length - 1)).clamp(min=0))  # room for every span


def _compute_mask_indices(
    shape: tuple[int, int],
    mask_prob: float,
    mask_length: int,
    attention_mask: torch.Tensor | None = None,
    min_masks: int = 0,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Boolean ``(batch, sequence_length)`` mask of random spans; ``attention_mask`` shortens examples."""
    batch, length = shape
    if mask_length < 1:
        raise ConfigError(f"SpecAugment mask length must be >= 1, got {mask_length}.")
    if mask_length > length:
        raise InvalidInputError(
            f"SpecAugment span length {mask_length} is longer than the sequence ({length} frames). Use longer "
            "clips, a smaller mask_time_length / mask_feature_length, or apply_spec_augment=False."
        )
    epsilon = np.random.rand(1).item()  # probabilistic rounding of the span count
    if attention_mask is not None:
        lengths = attention_mask.sum(-1).long().cpu()
    else:
        lengths = torch.full((batch,), length, dtype=torch.long)
    max_spans = int(_num_spans(torch.tensor([length]), length, mask_prob, mask_length, min_masks, epsilon))
    if max_spans == 0:
        return torch.zeros(batch, length, dtype=torch.bool, device=device)
    spans = _num_spans(lengths, length, mask_prob, mask_length, min_masks, epsilon)  # (B,)

    # Uniform starts without replacement over each example's valid positions, drawn as
    # Transformers draws them (numpy's legacy ``choice``: a permutation of the candidates, cut).
    starts = torch.zeros(batch, max_spans, dtype=torch.long)
    for row, (valid_length, count) in enumerate(zip(lengths.tolist(), spans.tolist())):
        drawn = np.random.choice(np.arange(valid_length - (mask_length - 1)), count, replace=False)
        starts[row, :count] = torch.from_numpy(np.asarray(drawn, dtype=np.int64))
    # Examples with fewer spans repeat their first start (a no-op), or use the last (padding) frame.
    dummy = torch.where(spans > 0, starts[:, 0], length - 1)[:, None]
    starts = torch.where(torch.arange(max_spans)[None, :] < spans[:, None], starts, dummy)

    positions = (starts[:, :, None] + torch.arange(mask_length)).reshape(batch, -1).clamp(max=length - 1)
    mask = torch.zeros(batch, length, dtype=torch.bool)
    mask.scatter_(1, positions, True)
    return mask.to(device) if device is not None else mask
