"""``CvtConfig``: Transformers' per-stage field names and defaults (``microsoft/cvt-13``)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError

_PER_STAGE = ("patch_sizes", "patch_stride", "patch_padding", "embed_dim", "num_heads", "depth", "mlp_ratio",
              "attention_drop_rate", "drop_rate", "drop_path_rate", "qkv_bias", "cls_token", "qkv_projection_method",
              "kernel_qkv", "padding_kv", "stride_kv", "padding_q", "stride_q")


class CvtConfig(PretrainedConfig):
    model_type = "cvt"

    num_channels: int = 3
    patch_sizes: list = (7, 3, 3)
    patch_stride: list = (4, 2, 2)
    patch_padding: list = (2, 1, 1)
    embed_dim: list = (64, 192, 384)
    num_heads: list = (1, 3, 6)
    depth: list = (1, 2, 10)
    mlp_ratio: list = (4.0, 4.0, 4.0)
    attention_drop_rate: list = (0.0, 0.0, 0.0)
    drop_rate: list = (0.0, 0.0, 0.0)
    drop_path_rate: list = (0.0, 0.0, 0.1)
    qkv_bias: list = (True, True, True)
    cls_token: list = (False, False, True)
    qkv_projection_method: list = ("dw_bn", "dw_bn", "dw_bn")
    kernel_qkv: list = (3, 3, 3)
    padding_kv: list = (1, 1, 1)
    stride_kv: list = (2, 2, 2)
    padding_q: list = (1, 1, 1)
    stride_q: list = (1, 1, 1)
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12

    def validate(self) -> None:
        stages = len(self.depth)
        for name in _PER_STAGE:
            setattr(self, name, list(getattr(self, name)))
            if len(getattr(self, name)) != stages:
                raise ConfigError(f"{name}={getattr(self, name)} needs one value per stage ({stages}, from depth).")
        for dim, heads in zip(self.embed_dim, self.num_heads):
            if dim % heads:
                raise ConfigError(f"embed_dim {dim} is not divisible by num_heads {heads}.")
        bad = [m for m in self.qkv_projection_method if m != "dw_bn"]
        if bad:
            # Transformers builds the other methods without their projection and fails in forward.
            raise ConfigError(f"qkv_projection_method {bad}: only 'dw_bn' (every published CvT checkpoint) runs.")
