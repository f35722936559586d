"""Create Adam's moments before the first forward pass instead of after the first backward.

torch's Adam/AdamW allocate their state (two float32 tensors per trainable parameter: 720 MB
for wav2vec2-base) inside the first ``step()`` — just after the first backward has freed that
step's activations. glibc puts the state in those holes of the heap, and from the second step
on the activations no longer fit where they were: the heap grows by about one step's
activations and never gives them back (peak RSS +0.3–0.5 GB for wav2vec2-base at 4 × 3 s).
Created before any activation exists, the state sits apart from them.

The state is made by torch's own ``step()`` — so its layout is exactly torch's — on zero
gradients with the learning rate at 0, which leaves every parameter as it is (AdamW multiplies
both the update and the weight decay by it; the moments of a zero gradient are zero), and the
step counters are set back to 0: the first real update is the one it would have been.
"""

from __future__ import annotations

import torch


def can_prime(optimizer) -> bool:
    """AdamW always; Adam only without weight decay (its L2 term would enter the moments)."""
    if type(optimizer) is torch.optim.AdamW:
        return not optimizer.state
    if type(optimizer) is torch.optim.Adam:
        return not optimizer.state and all(not group.get("weight_decay") for group in optimizer.param_groups)
    return False


def prime_adam_state(optimizer) -> bool:
    """Allocate ``optimizer``'s state now (see the module docstring); returns whether it did."""
    if not can_prime(optimizer):
        return False
    params = [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]
    if not params or any(p.grad is not None or p.device.type != "cpu" for p in params):
        return False  # a gradient in flight, or another device's allocator: leave it to step()
    rates = [group["lr"] for group in optimizer.param_groups]
    try:
        for p in params:
            p.grad = torch.zeros_like(p)
        for group in optimizer.param_groups:
            group["lr"] = 0.0
        optimizer.step()
    finally:
        for group, rate in zip(optimizer.param_groups, rates):
            group["lr"] = rate
        for p in params:
            p.grad = None
    for state in optimizer.state.values():
        if torch.is_tensor(state.get("step")):
            state["step"].zero_()
        elif "step" in state:
            state["step"] = 0
    return True
