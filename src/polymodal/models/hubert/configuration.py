"""``HubertConfig``: the hyper-parameters of HuBERT checkpoints (``facebook/hubert-base-ls960``).

Field names and defaults are Transformers'. Compared with ``Wav2Vec2Config`` there is no
quantiser, no adapter and no x-vector head; instead ``feat_proj_layer_norm`` switches the layer
norm before the feature projection and ``conv_pos_batch_norm`` swaps the positional
convolution's weight norm for a batch norm in front of it.
"""

from __future__ import annotations

import math

from ...core.config import PretrainedConfig
from ..wav2vec2.configuration import Wav2Vec2Config


class HubertConfig(PretrainedConfig):
    model_type = "hubert"

    vocab_size: int | None = 32
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout: float = 0.1
    activation_dropout: float = 0.1
    attention_dropout: float = 0.1
    feat_proj_layer_norm: bool = True
    feat_proj_dropout: float = 0.0
    final_dropout: float = 0.1
    layerdrop: float = 0.1
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-5
    feat_extract_norm: str = "group"
    feat_extract_activation: str = "gelu"
    conv_dim: tuple = (512, 512, 512, 512, 512, 512, 512)
    conv_stride: tuple = (5, 2, 2, 2, 2, 2, 2)
    conv_kernel: tuple = (10, 3, 3, 3, 3, 2, 2)
    conv_bias: bool = False
    num_conv_pos_embeddings: int = 128
    num_conv_pos_embedding_groups: int = 16
    conv_pos_batch_norm: bool = False
    do_stable_layer_norm: bool = False
    apply_spec_augment: bool = True
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
    pad_token_id: int | None = 0
    bos_token_id: int | None = 1
    eos_token_id: int | None = 2

    # Not fields (never written to config.json): HuBERT has no adapters, but the wav2vec2
    # building blocks it reuses ask for these.
    add_adapter = False
    adapter_attn_dim = None

    def __init__(self, **kwargs):
        kwargs.pop("num_feat_extract_layers", None)  # derived; Transformers writes it to config.json
        super().__init__(**kwargs)
        for name in ("conv_dim", "conv_stride", "conv_kernel"):
            setattr(self, name, list(getattr(self, name)))

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

    # The same checks as wav2vec2: every field it looks at exists here with the same meaning.
    validate = Wav2Vec2Config.validate
