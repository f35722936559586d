"""Audio Spectrogram Transformer (Gong et al., 2021): a ViT over patches of a log-mel spectrogram.

The spectrogram ``(batch, frames, mel)`` is cut into overlapping 16×16 patches by one strided
convolution, a cls and a distillation token (DeiT) are put in front, learned position
embeddings added, and a pre-norm ViT encoder runs over the lot. The pooled output is the mean
of the two tokens.

The encoder is ViT's (``models/vit``): its modules carry the checkpoints' own names —
``encoder.layer.N.attention.attention.query``, ``intermediate.dense``, ``output.dense`` — so
``load_state_dict`` is strict with no mapping table. Only the embeddings, the pooling and the
head are AST's own.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.errors import InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import BaseModelOutputWithPooling, SequenceClassifierOutput, model_forward
from ...nn.classification_loss import classification_loss
from ...nn.init import init_dense_and_norm
from ..vit.modeling import ViTEncoder, token_mask
from .configuration import ASTConfig


# --------------------------------------------------------------------------- embeddings
class ASTPatchEmbeddings(nn.Module):
    def __init__(self, config: ASTConfig):
        super().__init__()
        size = config.patch_size
        self.projection = nn.Conv2d(1, config.hidden_size, kernel_size=(size, size),
                                    stride=(config.frequency_stride, config.time_stride))

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, N, H)
        # The conv sees the spectrogram as an image with frequency as height and time as width,
        # so patches come out frequency-major; the position embeddings were learned in that order.
        image = input_values.transpose(1, 2)[:, None]  # (B, 1, F, T)
        return self.projection(image).flatten(2).transpose(1, 2)  # (B, F'·T', H)


class ASTEmbeddings(nn.Module):
    def __init__(self, config: ASTConfig):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.distillation_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.patch_embeddings = ASTPatchEmbeddings(config)
        self.position_embeddings = nn.Parameter(torch.zeros(1, config.num_tokens, config.hidden_size))
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, N + 2, H)
        patches = self.patch_embeddings(input_values)
        batch = patches.shape[0]
        tokens = torch.cat([self.cls_token.expand(batch, -1, -1), self.distillation_token.expand(batch, -1, -1),
                            patches], dim=1)
        return self.dropout(tokens + self.position_embeddings)


# --------------------------------------------------------------------------- pre-trained model base
class ASTPreTrainedModel(PreTrainedModel):
    config_class = ASTConfig
    base_model_prefix = "audio_spectrogram_transformer"
    main_input_name = "input_values"
    supports_gradient_checkpointing = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Transformers' initialisation (only reached for fresh models and newly added heads)."""
        if init_dense_and_norm(module, self.config.initializer_range):
            return
        if isinstance(module, ASTEmbeddings):
            nn.init.zeros_(module.cls_token)
            nn.init.zeros_(module.distillation_token)
            nn.init.zeros_(module.position_embeddings)


class ASTModel(ASTPreTrainedModel):
    def __init__(self, config: ASTConfig):
        super().__init__(config)
        self.embeddings = ASTEmbeddings(config)
        self.encoder = ViTEncoder(config)  # AST's layers are ViT's, names included
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.post_init()

    def get_input_embeddings(self) -> ASTPatchEmbeddings:
        return self.embeddings.patch_embeddings

    @model_forward
    def forward(self, input_values, attention_mask=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):
        """``input_values`` (batch, max_length, num_mel_bins) from ``ASTFeatureExtractor``.

        ``attention_mask`` (batch, tokens), optional, masks encoder tokens (patches), as in
        Transformers 5; the feature extractor never needs one (every clip fills the same grid).
        """
        _check_input_values(input_values, self.config)
        embeddings = self.embeddings(input_values.to(self.dtype))
        mask = token_mask(attention_mask, embeddings, prefix="the cls and distillation tokens")
        last, hidden_states, attentions = self.encoder(embeddings, mask, output_attentions, output_hidden_states)
        last = self.layernorm(last)
        pooled = (last[:, 0] + last[:, 1]) / 2  # mean of the cls and distillation tokens
        out = BaseModelOutputWithPooling(last, pooled, hidden_states, attentions)
        return out


class ASTMLPHead(nn.Module):
    def __init__(self, config: ASTConfig):
        super().__init__()
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dense = nn.Linear(config.hidden_size, config.num_labels) if config.num_labels > 0 else nn.Identity()

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.dense(self.layernorm(pooled))


class ASTForAudioClassification(ASTPreTrainedModel):
    def __init__(self, config: ASTConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.audio_spectrogram_transformer = ASTModel(config)
        self.classifier = ASTMLPHead(config)
        self.post_init()

    @model_forward
    def forward(self, input_values, labels=None, attention_mask=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):
        outputs = self.audio_spectrogram_transformer(
            input_values, attention_mask=attention_mask, output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, return_dict=True)
        logits = self.classifier(outputs.pooler_output)  # (B, num_labels)
        loss = None if labels is None else classification_loss(logits, labels, self.config)
        out = SequenceClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return out


# --------------------------------------------------------------------------- helpers
def _check_input_values(input_values, config: ASTConfig) -> None:
    expected = f"(batch, max_length={config.max_length}, num_mel_bins={config.num_mel_bins})"
    if not isinstance(input_values, torch.Tensor):
        raise InvalidInputError(
            f"input_values must be a torch.Tensor of shape {expected}, got {type(input_values).__name__}. Use "
            "ASTFeatureExtractor(...)(audio, sampling_rate=16000, return_tensors='pt')."
        )
    shape = tuple(input_values.shape)
    if not input_values.is_floating_point():
        raise InvalidInputError(f"input_values must be a floating-point spectrogram, got dtype {input_values.dtype}.")
    if input_values.dim() == 3 and shape[1:] == (config.max_length, config.num_mel_bins) and shape[0] > 0:
        return
    hint = "Compute it with ASTFeatureExtractor configured with the model's max_length and num_mel_bins."
    if shape == (config.max_length, config.num_mel_bins):
        hint = "This is one spectrogram without a batch axis: pass input_values[None]."
    elif input_values.dim() == 3 and shape[1:] == (config.num_mel_bins, config.max_length):
        hint = "The axes are swapped (mel before frames): pass input_values.transpose(1, 2)."
    elif input_values.dim() <= 2:
        hint = "This looks like raw audio: turn it into a spectrogram with ASTFeatureExtractor first."
    raise InvalidInputError(f"input_values must have shape {expected}, got {shape}. {hint}")
