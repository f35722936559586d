"""Rotary position embeddings (RoPE) and the scaled variants configs name in ``rope_parameters``
(Transformers 5) or ``rope_scaling`` + ``rope_theta`` (4.x): default, linear, dynamic NTK,
YaRN and Llama 3. The frequencies follow Transformers' ``modeling_rope_utils`` so that logits
match."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..core.errors import ConfigError

ROPE_TYPES = ("default", "linear", "dynamic", "yarn", "llama3")


def standardize_rope_parameters(config_values: dict, default_theta: float = 10000.0) -> dict:
    """One ``rope_parameters`` dict from either spelling (``rope_scaling``'s old ``type`` key too)."""
    params = dict(config_values.get("rope_parameters") or {})
    legacy = config_values.get("rope_scaling") or {}
    for key, value in legacy.items():
        params.setdefault("rope_type" if key == "type" else key, value)
    if "type" in params:
        params.setdefault("rope_type", params.pop("type"))
    theta = config_values.get("rope_theta")
    params.setdefault("rope_theta", theta if theta is not None else default_theta)
    params.setdefault("rope_type", "default")
    if params["rope_type"] not in ROPE_TYPES:
        raise ConfigError(
            f"rope_type={params['rope_type']!r} is not supported; use one of {ROPE_TYPES}."
        )
    needs_factor = params["rope_type"] != "default"
    if needs_factor and not isinstance(params.get("factor"), (int, float)):
        raise ConfigError(f"rope_parameters of type {params['rope_type']!r} need a numeric 'factor', got {params}.")
    if params["rope_type"] == "llama3":
        missing = [k for k in ("low_freq_factor", "high_freq_factor", "original_max_position_embeddings") if k not in params]
        if missing:
            raise ConfigError(f"rope_type 'llama3' needs {missing} in rope_parameters.")
    return params


def _base_inv_freq(theta: float, dim: int, device=None) -> torch.Tensor:
    return 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).to(device=device, dtype=torch.float) / dim))


def rope_inv_freq(params: dict, dim: int, max_positions: int, seq_len: int | None = None):
    """``(inv_freq (dim/2,), attention_scaling)`` for the configured RoPE variant."""
    kind, theta = params["rope_type"], params["rope_theta"]
    if kind == "default":
        return _base_inv_freq(theta, dim), 1.0
    factor = params["factor"]
    if kind == "linear":
        return _base_inv_freq(theta, dim) / factor, 1.0
    if kind == "dynamic":
        seq_len = max(seq_len or max_positions, max_positions)
        theta = theta * ((factor * seq_len / max_positions) - (factor - 1)) ** (dim / (dim - 2))
        return _base_inv_freq(theta, dim), 1.0
    if kind == "yarn":
        return _yarn(params, dim, max_positions)
    return _llama3(params, dim), 1.0


def _yarn(params: dict, dim: int, max_positions: int):
    theta, factor = params["rope_theta"], params["factor"]
    original = params.get("original_max_position_embeddings") or max_positions

    def mscale(scale, m=1.0):
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    attention_factor = params.get("attention_factor")
    if attention_factor is None:
        m, m_all = params.get("mscale"), params.get("mscale_all_dim")
        attention_factor = float(mscale(factor, m) / mscale(factor, m_all)) if m and m_all else mscale(factor)
    beta_fast, beta_slow = params.get("beta_fast") or 32, params.get("beta_slow") or 1

    def correction_dim(rotations):
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(theta))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if params.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001  # avoid dividing by zero in the ramp
    ramp = ((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1)
    pos_freqs = theta ** (torch.arange(0, dim, 2, dtype=torch.float) / dim)
    extrapolation = 1 - ramp
    inv_freq = (1.0 / (factor * pos_freqs)) * (1 - extrapolation) + (1.0 / pos_freqs) * extrapolation
    return inv_freq, attention_factor


def _llama3(params: dict, dim: int) -> torch.Tensor:
    inv_freq = _base_inv_freq(params["rope_theta"], dim)
    factor, low, high = params["factor"], params["low_freq_factor"], params["high_freq_factor"]
    old_context = params["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > old_context / low, inv_freq / factor, inv_freq)
    smooth = (old_context / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old_context / high) * ~(wavelen > old_context / low)
    return torch.where(medium, smoothed, scaled)


class RotaryEmbedding(nn.Module):
    """``(x, position_ids (B, T)) -> (cos, sin)``, each ``(B, T, dim)`` in ``x``'s dtype."""

    def __init__(self, params: dict, dim: int, max_positions: int):
        super().__init__()
        self.params, self.dim, self.max_positions = params, dim, max_positions
        inv_freq, self.attention_scaling = rope_inv_freq(params, dim, max_positions)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor, position_ids: torch.Tensor):
        inv_freq = self.inv_freq
        if self.params["rope_type"] == "dynamic":
            # NTK scaling stretches theta once the sequence outgrows the trained context.
            seq_len = int(position_ids.max()) + 1
            if seq_len > self.max_positions:
                inv_freq = rope_inv_freq(self.params, self.dim, self.max_positions, seq_len)[0].to(x.device)
        freqs = position_ids[..., None].float() * inv_freq.to(device=x.device, dtype=torch.float)  # (B, T, dim/2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * self.attention_scaling).to(x.dtype), (emb.sin() * self.attention_scaling).to(x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    """Rotate ``(B, H, T, D)`` queries and keys by ``(B, T, D)`` cos/sin."""
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
