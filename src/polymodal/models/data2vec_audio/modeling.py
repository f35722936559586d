"""Data2Vec-Audio: wav2vec2's encoder behind a different conv stack and positional embedding.

What differs from ``models/wav2vec2`` (and so lives here):

* every layer of the conv feature encoder has a layer norm — wav2vec2's
  ``feat_extract_norm="layer"`` stack, which the config fixes;
* the relative positional embedding is a stack of ``num_conv_pos_embeddings`` grouped
  convolutions, each followed by a parameter-free layer norm and GELU, with no weight norm;
* the weights live under ``data2vec_audio.`` in checkpoints with a head.

The encoder is always post-norm. Everything else is wav2vec2's code, imported one level deep.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.errors import ConfigError
from ...core.modeling import PreTrainedModel
from ...nn.activations import get_activation
from ...nn.dropout import Dropout
from ..wav2vec2.modeling import (
    Wav2Vec2Adapter,
    Wav2Vec2BaseModelOutput,
    Wav2Vec2Encoder,
    Wav2Vec2FeatureEncoder,
    Wav2Vec2FeatureProjection,
    Wav2Vec2ForCTC,
    Wav2Vec2ForSequenceClassification,
    Wav2Vec2Model,
    Wav2Vec2PreTrainedModel,
)
from .configuration import Data2VecAudioConfig

Data2VecAudioBaseModelOutput = Wav2Vec2BaseModelOutput  # same fields, Transformers' name


class Data2VecAudioPositionalConvLayer(nn.Module):
    """Grouped conv → layer norm over channels (no affine parameters) → activation."""

    def __init__(self, config: Data2VecAudioConfig):
        super().__init__()
        kernel = config.conv_pos_kernel_size
        self.conv = nn.Conv1d(config.hidden_size, config.hidden_size, kernel, padding=kernel // 2,
                              groups=config.num_conv_pos_embedding_groups)
        self.trim = 1 if kernel % 2 == 0 else 0  # an even kernel with padding k//2 yields one extra frame
        self.layer_norm = nn.LayerNorm(config.hidden_size, elementwise_affine=False)
        self.activation = get_activation(config.feat_extract_activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, H, T) -> (B, H, T)
        y = self.conv(x)
        if self.trim:
            y = y[:, :, :-self.trim]
        y = self.layer_norm(y.transpose(1, 2)).transpose(1, 2)  # normalise over channels
        return self.activation(y)


class Data2VecAudioPositionalConvEmbedding(nn.Module):
    def __init__(self, config: Data2VecAudioConfig):
        super().__init__()
        self.layers = nn.ModuleList(
            Data2VecAudioPositionalConvLayer(config) for _ in range(config.num_conv_pos_embeddings))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, H) -> (B, T, H)
        x = x.transpose(1, 2)  # (B, H, T): channels-first for the convolutions
        for layer in self.layers:
            x = layer(x)
        return x.transpose(1, 2)


class Data2VecAudioEncoder(Wav2Vec2Encoder):
    """wav2vec2's post-norm encoder with the stacked-conv positional embedding."""

    def __init__(self, config: Data2VecAudioConfig):
        super().__init__(config)
        # Replaces the weight-normalised conv the parent just built (a small throwaway).
        self.pos_conv_embed = Data2VecAudioPositionalConvEmbedding(config)


class Data2VecAudioPreTrainedModel(Wav2Vec2PreTrainedModel):
    config_class = Data2VecAudioConfig
    base_model_prefix = "data2vec_audio"

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Transformers' initialisation: wav2vec2's, with zero biases in the positional convs."""
        if isinstance(module, nn.LayerNorm) and module.weight is None:
            return  # the positional layer norms have no parameters
        super()._init_weights(module)
        if isinstance(module, Data2VecAudioPositionalConvLayer):  # after its conv got wav2vec2's init
            nn.init.zeros_(module.conv.bias)


class Data2VecAudioModel(Data2VecAudioPreTrainedModel, Wav2Vec2Model):
    def __init__(self, config: Data2VecAudioConfig):
        PreTrainedModel.__init__(self, config)
        # `feature_extractor` is the conv stack (the checkpoints' name), not the preprocessor;
        # config.feat_extract_norm is always "layer" here.
        self.feature_extractor = Wav2Vec2FeatureEncoder(config)
        self.feature_projection = Wav2Vec2FeatureProjection(config)
        self.masked_spec_embed = None
        if config.mask_time_prob > 0.0 or config.mask_feature_prob > 0.0:
            self.masked_spec_embed = nn.Parameter(torch.empty(config.hidden_size))
        self.encoder = Data2VecAudioEncoder(config)
        self.adapter = Wav2Vec2Adapter(config) if config.add_adapter else None
        self._warned_group_norm_padding = False
        self.post_init()


class Data2VecAudioForCTC(Data2VecAudioPreTrainedModel, Wav2Vec2ForCTC):
    # wav2vec2's forward calls `self.wav2vec2`; here the base model is registered as
    # `data2vec_audio` (the checkpoint prefix), so point that name at it.
    wav2vec2 = property(lambda self: self.data2vec_audio)

    def __init__(self, config: Data2VecAudioConfig):
        PreTrainedModel.__init__(self, config)
        if config.vocab_size is None:
            raise ConfigError("vocab_size is not set; load with Data2VecAudioForCTC.from_pretrained(path, "
                              "vocab_size=N) where N is the size of the tokenizer's vocabulary.")
        self.data2vec_audio = Data2VecAudioModel(config)
        self.dropout = Dropout(config.final_dropout)
        width = config.output_hidden_size if config.add_adapter else config.hidden_size
        self.lm_head = nn.Linear(width, config.vocab_size)
        self.post_init()


class Data2VecAudioForSequenceClassification(Data2VecAudioPreTrainedModel, Wav2Vec2ForSequenceClassification):
    wav2vec2 = property(lambda self: self.data2vec_audio)  # see Data2VecAudioForCTC

    def __init__(self, config: Data2VecAudioConfig):
        PreTrainedModel.__init__(self, config)
        if config.add_adapter:
            raise ConfigError("Data2VecAudioForSequenceClassification does not support add_adapter=True; "
                              "set add_adapter=False in the config.")
        self.data2vec_audio = Data2VecAudioModel(config)
        if config.use_weighted_layer_sum:
            num_layers = config.num_hidden_layers + 1  # the layers' outputs plus their input
            self.layer_weights = nn.Parameter(torch.full((num_layers,), 1.0 / num_layers))
        self.projector = nn.Linear(config.hidden_size, config.classifier_proj_size)
        self.classifier = nn.Linear(config.classifier_proj_size, config.num_labels)
        self.post_init()
