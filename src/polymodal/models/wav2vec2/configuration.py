"""``Wav2Vec2Config``: the hyper-parameters of wav2vec2 / XLS-R checkpoints.

Field names and defaults are Transformers' (``facebook/wav2vec2-base-960h``), so a
``config.json`` from either library loads into the other unchanged. Fields of heads polymodal
does not implement (pre-training quantiser, x-vector TDNN) are kept so they round-trip.
"""

from __future__ import annotations

import math

from ...core.config import PretrainedConfig
from ...core.errors import ConfigError


class Wav2Vec2Config(PretrainedConfig):
    model_type = "wav2vec2"

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
    feat_quantizer_dropout: float = 0.0
    final_dropout: float = 0.1
    layerdrop: float = 0.1
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-5
    # convolutional feature encoder ("feature_extractor" in checkpoints)
    feat_extract_norm: str = "group"
    feat_extract_activation: str = "gelu"
    conv_dim: tuple = (512, 512, 512, 512, 512, 512, 512)
    conv_stride: tuple = (5, 2, 2, 2, 2, 2, 2)
    conv_kernel: tuple = (10, 3, 3, 3, 3, 2, 2)
    conv_bias: bool = False
    num_conv_pos_embeddings: int = 128
    num_conv_pos_embedding_groups: int = 16
    do_stable_layer_norm: bool = False
    # SpecAugment (training only)
    apply_spec_augment: bool = True
    mask_time_prob: float = 0.05
    mask_time_length: int = 10
    mask_time_min_masks: int = 2
    mask_feature_prob: float = 0.0
    mask_feature_length: int = 10
    mask_feature_min_masks: int = 0
    # pre-training (quantiser / contrastive loss) — kept for round trips
    num_codevectors_per_group: int = 320
    num_codevector_groups: int = 2
    contrastive_logits_temperature: float = 0.1
    num_negatives: int = 100
    codevector_dim: int = 256
    proj_codevector_dim: int = 256
    diversity_loss_weight: float = 0.1
    # heads
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
    # adapters
    add_adapter: bool = False
    adapter_kernel_size: int = 3
    adapter_stride: int = 2
    num_adapter_layers: int = 3
    output_hidden_size: int | None = None
    adapter_attn_dim: int | None = None

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
        lengths = {name: len(getattr(self, name)) for name in ("conv_dim", "conv_stride", "conv_kernel")}
        if len(set(lengths.values())) != 1:
            raise ConfigError(
                "conv_dim, conv_stride and conv_kernel must have the same length (one entry per convolutional "
                f"layer of the feature encoder); got lengths {lengths}."
            )
        if not lengths["conv_dim"]:
            raise ConfigError("conv_dim is empty; the feature encoder needs at least one convolutional layer.")
        if self.feat_extract_norm not in ("group", "layer"):
            raise ConfigError(f"feat_extract_norm={self.feat_extract_norm!r} must be 'group' or 'layer'.")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"hidden_size={self.hidden_size} must be divisible by num_attention_heads={self.num_attention_heads}."
            )
        if self.ctc_loss_reduction not in ("sum", "mean", "none"):
            raise ConfigError(f"ctc_loss_reduction={self.ctc_loss_reduction!r} must be 'sum', 'mean' or 'none'.")
        for name in ("mask_time_prob", "mask_feature_prob", "layerdrop", "hidden_dropout", "attention_dropout",
                     "activation_dropout", "feat_proj_dropout", "final_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}={value!r} must be a probability between 0 and 1.")
