"""HuBERT: the wav2vec2 architecture with its own pre-training target, built from wav2vec2's blocks.

What differs from ``models/wav2vec2`` (and so lives here):

* the feature projection's layer norm is optional (``feat_proj_layer_norm``) and the base model
  returns no ``extract_features``;
* ``conv_pos_batch_norm`` checkpoints put a batch norm before a plain positional convolution
  instead of weight-normalising it;
* the weights live under ``hubert.`` in checkpoints with a head.

Everything else — conv stack, attention, encoder layers (post-norm and stable layer norm),
SpecAugment, CTC loss, masked mean pooling — is wav2vec2's code, imported one level deep.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.outputs import BaseModelOutput, model_forward
from ...nn.activations import get_activation
from ...nn.init import init_he_conv, init_norm
from ..wav2vec2.modeling import (
    Wav2Vec2Encoder,
    Wav2Vec2FeatureProjection,
    Wav2Vec2ForCTC,
    Wav2Vec2ForSequenceClassification,
    Wav2Vec2Model,
    Wav2Vec2PreTrainedModel,
)
from .configuration import HubertConfig


class HubertFeatureProjection(Wav2Vec2FeatureProjection):
    """Optional layer norm → linear → dropout (Transformers' ``HubertFeatureProjection``)."""

    def __init__(self, config: HubertConfig):
        super().__init__(config)
        if not config.feat_proj_layer_norm:
            self.layer_norm = nn.Identity()  # no parameters, so no checkpoint keys

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, H)
        return super().forward(features)[0]


class HubertBatchNormConvEmbedding(nn.Module):
    """Positional convolution of ``conv_pos_batch_norm`` checkpoints: batch norm, then a plain conv."""

    def __init__(self, config: HubertConfig):
        super().__init__()
        kernel = config.num_conv_pos_embeddings
        self.batch_norm = nn.BatchNorm1d(config.hidden_size)
        self.conv = nn.Conv1d(config.hidden_size, config.hidden_size, kernel, padding=kernel // 2,
                              groups=config.num_conv_pos_embedding_groups)
        self.trim = 1 if kernel % 2 == 0 else 0  # an even kernel with padding k//2 yields one extra frame
        self.activation = get_activation(config.feat_extract_activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, H) -> (B, T, H)
        y = self.conv(self.batch_norm(x.transpose(1, 2)))  # (B, H, T + trim)
        if self.trim:
            y = y[:, :, :-self.trim]
        return self.activation(y).transpose(1, 2)


class HubertEncoder(Wav2Vec2Encoder):
    """wav2vec2's encoder (either norm placement); only the positional conv may differ."""

    def __init__(self, config: HubertConfig):
        super().__init__(config)
        if config.conv_pos_batch_norm:
            self.pos_conv_embed = HubertBatchNormConvEmbedding(config)


class HubertPreTrainedModel(Wav2Vec2PreTrainedModel):
    config_class = HubertConfig
    base_model_prefix = "hubert"

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Transformers' HuBERT initialisation: as wav2vec2's, except zero conv biases and a
        normal (not uniform) feature projection."""
        if isinstance(module, HubertFeatureProjection):
            return  # its Linear and LayerNorm are visited on their own
        if isinstance(module, nn.Conv1d) and not nn.utils.parametrize.is_parametrized(module):
            init_he_conv(module)
        elif isinstance(module, nn.BatchNorm1d):
            init_norm(module)
        else:
            super()._init_weights(module)


class HubertModel(HubertPreTrainedModel, Wav2Vec2Model):
    feature_projection_class = HubertFeatureProjection
    encoder_class = HubertEncoder
    supports_adapter = False

    @model_forward
    def forward(self, input_values, attention_mask=None, mask_time_indices=None, output_attentions=None,
                output_hidden_states=None, return_dict=None):
        self._check_inputs(input_values, attention_mask)
        features = self.feature_extractor(input_values).transpose(1, 2)  # (B, T, C)
        frame_mask = None
        if attention_mask is not None:
            frame_mask = self._get_feature_vector_attention_mask(features.shape[1], attention_mask)
        hidden = self.feature_projection(features)
        # As in Transformers, HuBERT's SpecAugment spans ignore padding (no frame mask passed).
        hidden = self._mask_hidden_states(hidden, mask_time_indices)
        last, hidden_states, attentions = self.encoder(
            hidden, frame_mask, output_attentions, output_hidden_states,
        )
        return BaseModelOutput(last, hidden_states, attentions)


class HubertForCTC(HubertPreTrainedModel, Wav2Vec2ForCTC):
    base_model_class = HubertModel  # registered as `hubert`, the checkpoint prefix


class HubertForSequenceClassification(HubertPreTrainedModel, Wav2Vec2ForSequenceClassification):
    base_model_class = HubertModel
