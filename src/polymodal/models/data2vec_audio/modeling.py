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

from ...nn.activations import get_activation
from ..wav2vec2.modeling import (
    Wav2Vec2BaseModelOutput,
    Wav2Vec2Encoder,
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

    def padding_is_masked(self) -> bool:
        # The stacked positional convs (each with a layer norm) turn the zeroed padding frames
        # non-zero, and the next conv mixes them into the last real frames.
        return False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Transformers' initialisation: wav2vec2's, with zero biases in the positional convs."""
        super()._init_weights(module)
        if isinstance(module, Data2VecAudioPositionalConvLayer):  # after its conv got wav2vec2's init
            nn.init.zeros_(module.conv.bias)


class Data2VecAudioModel(Data2VecAudioPreTrainedModel, Wav2Vec2Model):
    # config.feat_extract_norm is always "layer" here, so wav2vec2's conv stack is Data2Vec-Audio's.
    encoder_class = Data2VecAudioEncoder


class Data2VecAudioForCTC(Data2VecAudioPreTrainedModel, Wav2Vec2ForCTC):
    base_model_class = Data2VecAudioModel  # registered as `data2vec_audio`, the checkpoint prefix


class Data2VecAudioForSequenceClassification(Data2VecAudioPreTrainedModel, Wav2Vec2ForSequenceClassification):
    base_model_class = Data2VecAudioModel
