"""``compute_transition_scores``: the score of each generated token, from ``generate``'s outputs."""

from __future__ import annotations

import torch


def compute_transition_scores(sequences, scores, beam_indices=None, normalize_logits: bool = False) -> torch.Tensor:
    """``(B·returns, new tokens)`` scores of the chosen tokens; 0 after a beam finished.

    ``scores`` is the per-step tuple from ``output_scores=True``; ``beam_indices`` (beam search)
    says which flat row each step of each returned sequence came from.
    """
    steps, vocab = len(scores), scores[0].shape[-1]
    if beam_indices is None:
        beam_indices = torch.arange(scores[0].shape[0], device=sequences.device).view(-1, 1).expand(-1, steps)
    stacked = torch.stack(scores).reshape(steps, -1).transpose(0, 1)  # (rows·V, steps)
    if normalize_logits:
        stacked = stacked.reshape(-1, vocab, steps).log_softmax(dim=1).reshape(-1, steps)
    unused = beam_indices < 0
    width = int((~unused).long().sum(-1).max())
    beam_indices = beam_indices[:, :width].clone().long()
    unused = unused[:, :width]
    beam_indices[unused] = 0
    index = sequences[:, sequences.shape[-1] - width:] + beam_indices * vocab
    out = stacked.gather(0, index)
    out[unused] = 0
    return out
