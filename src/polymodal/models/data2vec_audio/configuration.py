"""``Data2VecAudioConfig``: the hyper-parameters of Data2Vec-Audio checkpoints
(``facebook/data2vec-audio-base-960h``).

Field names and defaults are Transformers'. Compared with ``Wav2Vec2Config``: every conv layer
of the feature encoder has a layer norm (so there is no ``feat_extract_norm``), the encoder is
always post-norm (no ``do_stable_layer_norm``), and the positional embedding is a stack of
``num_conv_pos_embeddings`` convolutions of width ``conv_pos_kernel_size``.
"""

from __future__ import annotations

import math

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError
from ..wav2vec2.configuration import Wav2Vec2Config


class Data2VecAudioConfig(PretrainedConfig):
    model_type = "data2vec-audio"

    vocab_size: int | None = 32
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout: float = 0.1
    activation_dropout: float = 0.1
    attention_dropout: float = 0.1
    feat_proj_dropout: float = 0.0
    final_dropout: float = 0.1
    layerdrop: float = 0.1
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-5
    feat_extract_activation: str = "gelu"
    conv_dim: tuple = (512, 512, 512, 512, 512, 512, 512)
    conv_stride: tuple = (5, 2, 2, 2, 2, 2, 2)
    conv_kernel: tuple = (10, 3, 3, 3, 3, 2, 2)
    conv_bias: bool = False
    num_conv_pos_embedding_groups: int = 16
    conv_pos_kernel_size: int = 19
    num_conv_pos_embeddings: int = 5  # here the number of positional conv layers, not a kernel width
    mask_time_prob: float = 0.05
    mask_time_length: int = 10
    mask_time_min_masks: int = 2
    mask_feature_prob: float = 0.0
    mask_feature_length: int = 10
    mask_feature_min_masks: int = 0
    ctc_loss_reduction: str = "sum"
    ctc_zero_infinity: bool = False
    use_weighted_layer_sum: bool = False
    classifier_proj_size: int = 256
    tdnn_dim: tuple = (512, 512, 512, 512, 1500)
    tdnn_kernel: tuple = (5, 3, 3, 1, 1)
    tdnn_dilation: tuple = (1, 2, 3, 1, 1)
    xvector_output_dim: int = 512
    pad_token_id: int | None = 0
    bos_token_id: int | None = 1
    eos_token_id: int | None = 2
    add_adapter: bool = False
    adapter_kernel_size: int = 3
    adapter_stride: int = 2
    num_adapter_layers: int = 3
    output_hidden_size: int | None = None

    # Not fields (never written to config.json): fixed by the architecture, but the wav2vec2
    # building blocks it reuses ask for them. Transformers reads a missing
    # `apply_spec_augment` as True; a config.json that sets it overrides this.
    feat_extract_norm = "layer"
    do_stable_layer_norm = False
    apply_spec_augment = True
    adapter_attn_dim = None

    def __init__(self, **kwargs):
        kwargs.pop("num_feat_extract_layers", None)  # derived; Transformers writes it to config.json
        super().__init__(**kwargs)
        for name in ("conv_dim", "conv_stride", "conv_kernel", "tdnn_dim", "tdnn_kernel", "tdnn_dilation"):
            setattr(self, name, list(getattr(self, name)))
        self.output_hidden_size = self.output_hidden_size or self.hidden_size

    @property
    def num_feat_extract_layers(self) -> int:
        return len(self.conv_dim)

    @property
    def inputs_to_logits_ratio(self) -> int:
        """Audio samples per output frame (320 for the usual 16 kHz → 50 Hz stack)."""
        return math.prod(self.conv_stride)

    def to_dict(self):
        out = super().to_dict()
        out["num_feat_extract_layers"] = self.num_feat_extract_layers
        return out

    def validate(self) -> None:
        Wav2Vec2Config.validate(self)  # every field it checks exists here with the same meaning
        if self.conv_pos_kernel_size < 1 or self.num_conv_pos_embeddings < 0:
            raise ConfigError(
                f"conv_pos_kernel_size={self.conv_pos_kernel_size} must be >= 1 and num_conv_pos_embeddings="
                f"{self.num_conv_pos_embeddings} (the number of positional conv layers) must be >= 0."
            )
