"""``DinatConfig``: Transformers' field names and defaults (``shi-labs/dinat-mini-in1k-224``)."""

from __future__ import annotations

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError

DEFAULT_DILATIONS = [[1, 8, 1], [1, 4, 1, 4], [1, 2, 1, 2, 1, 2], [1, 1, 1, 1, 1]]


class DinatConfig(PretrainedConfig):
    model_type = "dinat"
    attribute_map = {"num_attention_heads": "num_heads", "num_hidden_layers": "num_layers"}

    patch_size: int = 4
    num_channels: int = 3
    embed_dim: int = 64
    depths: list = (3, 4, 6, 5)
    num_heads: list = (2, 4, 8, 16)
    kernel_size: int = 7
    dilations: list | None = None
    mlp_ratio: float = 3.0
    qkv_bias: bool = True
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    drop_path_rate: float = 0.1
    hidden_act: str = "gelu"
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-5
    layer_scale_init_value: float = 0.0
    out_features: list | None = None
    out_indices: list | None = None

    def validate(self) -> None:
        self.depths, self.num_heads = list(self.depths), list(self.num_heads)
        self.dilations = [list(d) for d in (self.dilations or DEFAULT_DILATIONS)]
        self.num_layers = len(self.depths)
        # the channel width after the last stage (VisionEncoderDecoder reads it as hidden_size)
        self.hidden_size = int(self.embed_dim * 2 ** (len(self.depths) - 1))
        if self.patch_size != 4:
            raise ConfigError(f"patch_size={self.patch_size}: DiNAT's stem is two stride-2 convs, i.e. patch_size 4.")
        if self.kernel_size % 2 == 0:
            raise ConfigError(f"kernel_size={self.kernel_size} must be odd (the neighbourhood is centred).")
        if len(self.num_heads) != len(self.depths) or len(self.dilations) != len(self.depths):
            raise ConfigError(f"depths {self.depths}, num_heads {self.num_heads} and dilations {self.dilations} "
                              "need one entry per stage.")
        for i, (depth, dilations) in enumerate(zip(self.depths, self.dilations)):
            if len(dilations) != depth:
                raise ConfigError(f"dilations[{i}]={dilations} needs one dilation per layer (depths[{i}]={depth}).")
