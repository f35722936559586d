"""The weight initialisation most families share (Transformers writes it into each ``_init_weights``).

Only fresh models and heads a checkpoint lacks reach it (``from_pretrained`` skips init), so
it matters for training from scratch and for the seeded-init parity tests.
"""

from __future__ import annotations

from torch import nn


def init_dense_and_norm(module: nn.Module, std: float, truncated: bool = False,
                        norms: tuple[type[nn.Module], ...] = (nn.LayerNorm,)) -> bool:
    """Linear / Conv2d weights ~ N(0, std) (``truncated``: torch's trunc_normal_, cut at ±2), zero
    biases; ``norms`` to weight 1, bias 0. Returns whether ``module`` was one of those, so a
    family goes on with ``elif`` for its own parameters."""
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        (nn.init.trunc_normal_ if truncated else nn.init.normal_)(module.weight, mean=0.0, std=std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
        return True
    if isinstance(module, norms):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
        return True
    return False
