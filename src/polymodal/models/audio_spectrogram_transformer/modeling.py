"""Audio Spectrogram Transformer (Gong et al., 2021): a ViT over patches of a log-mel spectrogram.

The spectrogram ``(batch, frames, mel)`` is cut into overlapping 16×16 patches by one strided
convolution, a cls and a distillation token (DeiT) are put in front, learned position
embeddings added, and a pre-norm ViT encoder runs over the lot. The pooled output is the mean
of the two tokens.

Module names are the checkpoints' own — ViT's ``encoder.layer.N.attention.attention.query``,
``intermediate.dense``, ``output.dense`` — so ``load_state_dict`` is strict with no mapping
table. (Transformers 5 renamed its modules to ``layers.N.attention.q_proj`` … but still reads
and writes these keys.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import BaseModelOutputWithPooling, SequenceClassifierOutput, model_forward
from ...nn.activations import get_activation
from ...nn.attention import attention, merge_heads, padding_mask, prefer_eager, split_heads
from ...nn.checkpointing import run_layer
from ...nn.linear import linear, linears
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


# --------------------------------------------------------------------------- encoder
class ASTSelfAttention(nn.Module):
    def __init__(self, config: ASTConfig):
        super().__init__()
        width = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.dropout = config.attention_probs_dropout_prob
        self.query = nn.Linear(width, width, bias=config.qkv_bias)
        self.key = nn.Linear(width, width, bias=config.qkv_bias)
        self.value = nn.Linear(width, width, bias=config.qkv_bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, output_attentions: bool):
        projections = linears(x, self.query, self.key, self.value)
        q, k, v = (split_heads(t, self.num_heads) for t in projections)  # (B, H, T, D)
        out, weights = attention(q, k, v, mask, dropout=self.dropout if self.training else 0.0,
                                 output_attentions=output_attentions, eager=prefer_eager(x.shape[1], x.device))
        return merge_heads(out), weights  # (B, T, H*D)


class ASTSelfOutput(nn.Module):
    def __init__(self, config: ASTConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(linear(self.dense, x))


class ASTAttention(nn.Module):
    def __init__(self, config: ASTConfig):
        super().__init__()
        self.attention = ASTSelfAttention(config)
        self.output = ASTSelfOutput(config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, output_attentions: bool):
        out, weights = self.attention(x, mask, output_attentions)
        return self.output(out), weights


class ASTIntermediate(nn.Module):
    def __init__(self, config: ASTConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)
        self.fuse_gelu = config.hidden_act == "gelu"  # every published AST checkpoint

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fuse_gelu:
            return linear(self.dense, x, gelu=True)
        return self.intermediate_act_fn(linear(self.dense, x))


class ASTOutput(nn.Module):
    def __init__(self, config: ASTConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(linear(self.dense, x))


class ASTLayer(nn.Module):
    """Pre-norm ViT block: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, config: ASTConfig):
        super().__init__()
        self.attention = ASTAttention(config)
        self.intermediate = ASTIntermediate(config)
        self.output = ASTOutput(config)
        self.layernorm_before = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False):
        h, weights = self.attention(self.layernorm_before(x), mask, output_attentions)
        x = x + h
        x = x + self.output(self.intermediate(self.layernorm_after(x)))
        return x, weights


class ASTEncoder(nn.Module):
    def __init__(self, config: ASTConfig):
        super().__init__()
        self.layer = nn.ModuleList(ASTLayer(config) for _ in range(config.num_hidden_layers))
        self.gradient_checkpointing = False

    def forward(self, x, mask=None, output_attentions=False, output_hidden_states=False):
        """``x`` (B, T, H) → (last (B, T, H), hidden states or None, attentions or None).

        As in Transformers, ``hidden_states`` holds the embeddings and each layer's output,
        the last one taken before the final layer norm.
        """
        hidden, attentions = [x], []
        checkpointed = self.gradient_checkpointing and self.training
        for layer in self.layer:
            x, weights = run_layer(layer, x, mask, output_attentions, checkpointed=checkpointed)
            hidden.append(x)
            attentions.append(weights)
        return x, tuple(hidden) if output_hidden_states else None, tuple(attentions) if output_attentions else None


# --------------------------------------------------------------------------- pre-trained model base
class ASTPreTrainedModel(PreTrainedModel):
    config_class = ASTConfig
    base_model_prefix = "audio_spectrogram_transformer"
    main_input_name = "input_values"
    supports_gradient_checkpointing = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Transformers' initialisation (only reached for fresh models and newly added heads)."""
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, ASTEmbeddings):
            nn.init.zeros_(module.cls_token)
            nn.init.zeros_(module.distillation_token)
            nn.init.zeros_(module.position_embeddings)


class ASTModel(ASTPreTrainedModel):
    def __init__(self, config: ASTConfig):
        super().__init__(config)
        self.embeddings = ASTEmbeddings(config)
        self.encoder = ASTEncoder(config)
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
        mask = _token_mask(attention_mask, embeddings)
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
        loss = None if labels is None else sequence_classification_loss(logits, labels, self.config)
        out = SequenceClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return out


# --------------------------------------------------------------------------- helpers
def sequence_classification_loss(logits: torch.Tensor, labels: torch.Tensor, config: ASTConfig) -> torch.Tensor:
    """Transformers' rule: MSE for one label, cross-entropy for integer labels, else BCE.

    Like Transformers, the inferred ``problem_type`` is stored on the config, so a model saved
    after training keeps it (the pipeline then picks softmax or sigmoid accordingly).
    """
    num_labels = config.num_labels
    if config.problem_type is None:
        if num_labels == 1:
            config.problem_type = "regression"
        elif labels.dtype in (torch.long, torch.int):
            config.problem_type = "single_label_classification"
        else:
            config.problem_type = "multi_label_classification"
    labels = labels.to(logits.device)
    if config.problem_type == "regression":
        if num_labels == 1:
            return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
        return F.mse_loss(logits, labels.to(logits.dtype))
    if config.problem_type == "single_label_classification":
        _check_class_ids(labels, num_labels)
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1), ignore_index=-100)
    if labels.shape != logits.shape:
        raise InvalidInputError(
            f"labels for multi-label classification must have the logits' shape {tuple(logits.shape)} (one 0/1 "
            f"target per class), got {tuple(labels.shape)}. For one class id per example pass integer labels."
        )
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def _check_class_ids(labels: torch.Tensor, num_labels: int) -> None:
    bad = labels[(labels != -100) & ((labels < 0) | (labels >= num_labels))]
    if bad.numel():
        raise InvalidInputError(
            f"labels contain class id {int(bad[0])}, but the model has num_labels={num_labels}; every label must "
            f"be in [0, {num_labels - 1}] (or -100 to ignore). Load with num_labels=N for another label count."
        )


def _token_mask(attention_mask, embeddings: torch.Tensor) -> torch.Tensor | None:
    if attention_mask is None:
        return None
    expected = tuple(embeddings.shape[:2])
    if not isinstance(attention_mask, torch.Tensor) or tuple(attention_mask.shape) != expected:
        got = tuple(attention_mask.shape) if isinstance(attention_mask, torch.Tensor) else type(attention_mask).__name__
        raise InvalidInputError(
            f"attention_mask must be a (batch, tokens) tensor of shape {expected} (one entry per patch token, cls "
            f"and distillation tokens included), got {got}. AST inputs need no mask: leave it out."
        )
    return padding_mask(attention_mask.to(embeddings.device), embeddings.dtype)


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
