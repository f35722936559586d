"""Whisper: a log-mel encoder and a text decoder (``WhisperModel``, ``WhisperForConditionalGeneration``).

The encoder turns 30 s of log-mel frames (80 or 128 bins × 3000 frames) into 1500 states with
two convolutions (the second halves the time axis) plus fixed sinusoidal positions; the
decoder is a pre-norm transformer with learned positions that attends to them. The layers are
the shared encoder-decoder blocks of ``nn/seq2seq.py`` (pre-norm, key projection without bias).
Generation (language/task tokens, timestamps, long-form) lives in ``generation_whisper.py``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ...core.modeling import PreTrainedModel
from ...core.outputs import BaseModelOutput, model_forward
from ...core.seq2seq_outputs import (
    BaseModelOutputWithPastAndCrossAttentions,
    as_encoder_output,
    lm_output,
    seq2seq_model_output,
)
from ...nn.checkpointing import run_layers
from ...nn.init import init_dense_and_norm
from ...nn.seq2seq import (
    Seq2SeqDecoderLayer,
    Seq2SeqEncoderLayer,
    TiedWeightsMixin,
    cache_length,
    decoder_cache,
    decoder_self_mask,
    run_decoder_layers,
    seq2seq_lm_loss,
    shift_tokens_right,
)
from .configuration import WhisperConfig
from .generation import WhisperGenerationMixin


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> torch.Tensor:
    """The encoder's fixed positions: ``[sin | cos]`` of geometrically spaced frequencies, ``(length, channels)``."""
    if channels % 2:
        raise ValueError(f"Sinusoidal positions need an even width, got d_model={channels}.")
    increment = math.log(max_timescale) / (channels // 2 - 1)
    inverse = torch.exp(-increment * torch.arange(channels // 2))
    time = torch.arange(length).view(-1, 1) * inverse.view(1, -1)
    return torch.cat([time.sin(), time.cos()], dim=1)


class WhisperPreTrainedModel(TiedWeightsMixin, PreTrainedModel):
    config_class = WhisperConfig
    base_model_prefix = "model"
    main_input_name = "input_features"

    def _init_weights(self, module: nn.Module) -> None:
        if init_dense_and_norm(module, self.config.init_std, dense=(nn.Linear, nn.Conv1d), embeddings=True):
            return
        if isinstance(module, WhisperEncoder):
            # Fixed sinusoids replace the random draw the position table got on its own visit.
            with torch.no_grad():
                module.embed_positions.weight.copy_(sinusoids(*module.embed_positions.weight.shape))


class WhisperEncoder(nn.Module):
    def __init__(self, config: WhisperConfig):
        super().__init__()
        self.config = config
        self.dropout = config.dropout
        self.conv1 = nn.Conv1d(config.num_mel_bins, config.d_model, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(config.d_model, config.d_model, kernel_size=3, stride=2, padding=1)
        # Fixed sinusoids, but stored (and loaded) as an embedding table, as the checkpoints do.
        self.embed_positions = nn.Embedding(config.max_source_positions, config.d_model)
        self.embed_positions.requires_grad_(False)
        self.layers = nn.ModuleList([Seq2SeqEncoderLayer(config, normalize_before=True, key_bias=False)
                                     for _ in range(config.encoder_layers)])
        self.layer_norm = nn.LayerNorm(config.d_model)
        self.gradient_checkpointing = False

    @property
    def expected_frames(self) -> int:
        return self.config.max_source_positions * self.conv1.stride[0] * self.conv2.stride[0]

    def _check_features(self, input_features):
        if input_features is None or input_features.dim() != 3:
            shape = None if input_features is None else tuple(input_features.shape)
            raise ValueError(f"Whisper's encoder needs input_features of shape (batch, mel bins, frames); got {shape}.")
        bins, frames = input_features.shape[1:]
        if bins != self.config.num_mel_bins:
            raise ValueError(
                f"input_features have {bins} mel bins but the model expects num_mel_bins={self.config.num_mel_bins}; "
                "use the WhisperFeatureExtractor saved with this model (feature_size must match)."
            )
        if frames != self.expected_frames:
            raise ValueError(
                f"Whisper expects {self.expected_frames} mel frames (30 s), got {frames}. Let the feature extractor pad "
                "to 30 s (its default), or use long-form generation / pipeline chunking for longer audio."
            )

    def forward(self, input_features, output_attentions=False, output_hidden_states=False, return_dict=True, **kwargs):
        self._check_features(input_features)
        hidden = F.gelu(self.conv1(input_features))
        hidden = F.gelu(self.conv2(hidden)).transpose(1, 2)  # (B, T, C)
        hidden = hidden + self.embed_positions.weight[: hidden.shape[1]]
        hidden = F.dropout(hidden, p=self.dropout, training=self.training)
        last, states, weights = run_layers(self.layers, hidden, None, output_attentions, output_hidden_states,
                                           checkpointed=self.gradient_checkpointing and self.training)
        last = self.layer_norm(last)
        if states is not None:
            states = states[:-1] + (last,)  # Transformers reports the normalised output last
        return BaseModelOutput(last_hidden_state=last, hidden_states=states, attentions=weights)


class WhisperDecoder(nn.Module):
    def __init__(self, config: WhisperConfig):
        super().__init__()
        self.config = config
        self.dropout = config.dropout
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)
        self.embed_positions = nn.Embedding(config.max_target_positions, config.d_model)
        self.layers = nn.ModuleList([Seq2SeqDecoderLayer(config, i, normalize_before=True, key_bias=False)
                                     for i in range(config.decoder_layers)])
        self.layer_norm = nn.LayerNorm(config.d_model)
        self.gradient_checkpointing = False

    def forward(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, past_key_values=None,
                inputs_embeds=None, position_ids=None, output_attentions=False, output_hidden_states=False):
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids)
        length, past = inputs_embeds.shape[1], cache_length(past_key_values)
        if past + length > self.config.max_target_positions:
            raise ValueError(
                f"The decoder got {past + length} tokens but Whisper has max_target_positions="
                f"{self.config.max_target_positions}; shorten the prompt / max_new_tokens."
            )
        if position_ids is None:
            position_ids = torch.arange(past, past + length, device=inputs_embeds.device)
        hidden = inputs_embeds + self.embed_positions(position_ids)
        hidden = F.dropout(hidden, p=self.dropout, training=self.training)
        mask = decoder_self_mask(attention_mask, length, past, hidden.dtype, hidden.device)
        hidden, states, self_w, cross_w = run_decoder_layers(
            self.layers, hidden, mask, encoder_hidden_states, None, past_key_values, output_attentions,
            output_hidden_states, checkpointed=self.gradient_checkpointing and self.training)
        hidden = self.layer_norm(hidden)
        if states is not None:
            states = states + (hidden,)
        return BaseModelOutputWithPastAndCrossAttentions(last_hidden_state=hidden, past_key_values=past_key_values,
                                                         hidden_states=states, attentions=self_w,
                                                         cross_attentions=cross_w)


class WhisperModel(WhisperPreTrainedModel):
    def __init__(self, config: WhisperConfig):
        super().__init__(config)
        self.encoder = WhisperEncoder(config)
        self.decoder = WhisperDecoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.decoder.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.decoder.embed_tokens = value

    def get_encoder(self) -> WhisperEncoder:
        return self.encoder

    def get_decoder(self) -> WhisperDecoder:
        return self.decoder

    def freeze_encoder(self) -> None:
        self.encoder.requires_grad_(False)

    @model_forward
    def forward(self, input_features=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, decoder_inputs_embeds=None, decoder_position_ids=None,
                use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        # attention_mask over the audio is accepted for API compatibility: Whisper's encoder always
        # sees the full padded 30 s window (as in the original model).
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_features, output_attentions, output_hidden_states)
        encoder_outputs = as_encoder_output(encoder_outputs)
        past_key_values = decoder_cache(past_key_values, use_cache, self.config, kwargs.get("labels"))
        decoder_out = self.decoder(decoder_input_ids, decoder_attention_mask, encoder_outputs.last_hidden_state,
                                   past_key_values, decoder_inputs_embeds, decoder_position_ids,
                                   output_attentions, output_hidden_states)
        return seq2seq_model_output(decoder_out, encoder_outputs)


class WhisperForConditionalGeneration(WhisperGenerationMixin, WhisperPreTrainedModel):
    _tied_weights_keys = {"proj_out.weight": "model.decoder.embed_tokens.weight"}  # noqa: RUF012

    def __init__(self, config: WhisperConfig):
        super().__init__(config)
        self.model = WhisperModel(config)
        self.proj_out = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()
        self.tie_weights()

    def get_encoder(self) -> WhisperEncoder:
        return self.model.encoder

    def get_decoder(self) -> WhisperDecoder:
        return self.model.decoder

    def get_output_embeddings(self) -> nn.Linear:
        return self.proj_out

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.decoder.embed_tokens

    def freeze_encoder(self) -> None:
        self.model.encoder.requires_grad_(False)

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Labels shifted right behind the decoder start token (DataCollatorForSeq2Seq(model=...) calls it)."""
        return shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)

    @model_forward
    def forward(self, input_features=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, decoder_inputs_embeds=None, decoder_position_ids=None,
                labels=None, use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **kwargs):
        if labels is not None and decoder_input_ids is None and decoder_inputs_embeds is None:
            decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)
        out = self.model(input_features, attention_mask, decoder_input_ids, decoder_attention_mask, encoder_outputs,
                         past_key_values, decoder_inputs_embeds, decoder_position_ids, use_cache,
                         output_attentions, output_hidden_states, return_dict=True, labels=labels)
        logits = self.proj_out(out.last_hidden_state)
        return lm_output(seq2seq_lm_loss(logits, labels), logits, out)
