"""BART: a denoising encoder-decoder (``BartModel``, ``BartForConditionalGeneration``).

Learned positions offset by 2 (fairseq kept two rows for padding), a layer norm over the
embeddings, post-norm layers, one token embedding (``model.shared``) shared by encoder, decoder
and the LM head, plus a ``final_logits_bias`` buffer. The siblings differ by class attributes
read here — mBART normalises before each block and ends with a layer norm, Blenderbot also has
no embedding norm and no position offset — so they derive from these classes instead of
copying them.
"""

from __future__ import annotations

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
from ...generation import GenerationMixin
from ...nn.attention import padding_mask
from ...nn.checkpointing import run_layers
from ...nn.init import init_dense_and_norm
from ...nn.seq2seq import (
    ScaledEmbedding,
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
from .configuration import BartConfig


class BartLearnedPositionalEmbedding(nn.Embedding):
    """Learned positions; row ``i + offset`` holds position ``i``."""

    def __init__(self, num_embeddings: int, embedding_dim: int, offset: int = 2):
        self.offset = offset
        super().__init__(num_embeddings + offset, embedding_dim)

    def forward(self, length: int, past: int = 0):
        positions = torch.arange(past, past + length, device=self.weight.device)
        return super().forward(positions + self.offset)  # (T, C)


class BartPreTrainedModel(TiedWeightsMixin, PreTrainedModel):
    _shares_cross_attention_rows = True  # beam search shares cross-attention keys across beams
    config_class = BartConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    # Architecture switches the sibling families override (see the module docstring).
    normalize_before = False
    layernorm_embedding = True
    final_layer_norm = False
    position_offset = 2

    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.init_std, embeddings=True)


class _Stack(nn.Module):
    """What encoder and decoder share: embeddings, positions, the optional norms."""

    def _init_stack(self, config, arch, embed_tokens):
        self.config = config
        self.dropout = config.dropout
        self.normalize_before = arch.normalize_before
        self.embed_tokens = embed_tokens
        self.embed_positions = arch.positions_class(config.max_position_embeddings, config.d_model,
                                                    arch.position_offset)
        if arch.layernorm_embedding:
            self.layernorm_embedding = nn.LayerNorm(config.d_model)
        if arch.final_layer_norm:
            self.layer_norm = nn.LayerNorm(config.d_model)
        self.gradient_checkpointing = False

    def _embed(self, input_ids, inputs_embeds, past: int = 0):
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError(f"{type(self).__name__}: pass exactly one of input_ids or inputs_embeds.")
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids)
        length = inputs_embeds.shape[1]
        if past + length > self.config.max_position_embeddings:
            raise ValueError(
                f"{type(self).__name__} got {past + length} positions but max_position_embeddings="
                f"{self.config.max_position_embeddings}; truncate the text (tokenizer truncation=True, "
                "max_length=...) or generate fewer tokens."
            )
        hidden = inputs_embeds + self.embed_positions(length, past).to(inputs_embeds.dtype)
        if hasattr(self, "layernorm_embedding"):
            hidden = self.layernorm_embedding(hidden)
        return F.dropout(hidden, p=self.dropout, training=self.training)

    def _finish(self, hidden, states):
        if hasattr(self, "layer_norm"):
            hidden = self.layer_norm(hidden)
        return hidden, states


class BartEncoder(_Stack):
    def __init__(self, config, arch, embed_tokens):
        super().__init__()
        self._init_stack(config, arch, embed_tokens)
        self.layers = nn.ModuleList([Seq2SeqEncoderLayer(config, arch.normalize_before)
                                     for _ in range(config.encoder_layers)])

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_attentions=False,
                output_hidden_states=False, return_dict=True, **kwargs):
        hidden = self._embed(input_ids, inputs_embeds)
        mask = None if attention_mask is None or bool(attention_mask.all()) else padding_mask(attention_mask, hidden.dtype)
        last, states, weights = run_layers(self.layers, hidden, mask, output_attentions, output_hidden_states,
                                           checkpointed=self.gradient_checkpointing and self.training)
        last, _ = self._finish(last, None)
        if states is not None:
            states = states[:-1] + (last,)  # Transformers reports the (normalised) output last
        return BaseModelOutput(last_hidden_state=last, hidden_states=states, attentions=weights)


class BartDecoder(_Stack):
    def __init__(self, config, arch, embed_tokens):
        super().__init__()
        self._init_stack(config, arch, embed_tokens)
        self.layers = nn.ModuleList([Seq2SeqDecoderLayer(config, i, arch.normalize_before)
                                     for i in range(config.decoder_layers)])

    def forward(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                past_key_values=None, inputs_embeds=None, output_attentions=False, output_hidden_states=False):
        past = cache_length(past_key_values)
        hidden = self._embed(input_ids, inputs_embeds, past)
        self_mask = decoder_self_mask(attention_mask, hidden.shape[1], past, hidden.dtype, hidden.device)
        cross_mask = None
        if encoder_attention_mask is not None and not bool(encoder_attention_mask.all()):
            cross_mask = padding_mask(encoder_attention_mask, hidden.dtype)
        hidden, states, self_w, cross_w = run_decoder_layers(
            self.layers, hidden, self_mask, encoder_hidden_states, cross_mask, past_key_values, output_attentions,
            output_hidden_states, checkpointed=self.gradient_checkpointing and self.training)
        hidden, _ = self._finish(hidden, None)
        if states is not None:
            states = states + (hidden,)
        return BaseModelOutputWithPastAndCrossAttentions(last_hidden_state=hidden, past_key_values=past_key_values,
                                                         hidden_states=states, attentions=self_w,
                                                         cross_attentions=cross_w)


class BartModel(BartPreTrainedModel):
    _tied_weights_keys = {  # noqa: RUF012
        "encoder.embed_tokens.weight": "shared.weight",
        "decoder.embed_tokens.weight": "shared.weight",
    }
    positions_class = BartLearnedPositionalEmbedding
    encoder_class = BartEncoder
    decoder_class = BartDecoder

    def __init__(self, config):
        super().__init__(config)
        scale = config.d_model ** 0.5 if config.scale_embedding else 1.0
        self.shared = ScaledEmbedding(config.vocab_size, config.d_model, config.pad_token_id, embed_scale=scale)
        self.encoder = self.encoder_class(config, self, self.shared)
        self.decoder = self.decoder_class(config, self, self.shared)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.shared

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.shared = self.encoder.embed_tokens = self.decoder.embed_tokens = value

    def get_encoder(self):
        return self.encoder

    def get_decoder(self):
        return self.decoder

    def _default_decoder_input_ids(self, input_ids):
        """BART's denoising default: the input shifted right (Transformers does the same)."""
        if input_ids is None:
            raise ValueError(
                f"{type(self).__name__}: pass decoder_input_ids (or labels), or input_ids to shift right."
            )
        return shift_tokens_right(input_ids, self.config.pad_token_id, self.config.decoder_start_token_id)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, inputs_embeds=None, decoder_inputs_embeds=None,
                use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            decoder_input_ids = self._default_decoder_input_ids(input_ids)
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_ids, attention_mask, inputs_embeds, output_attentions,
                                           output_hidden_states)
        encoder_outputs = as_encoder_output(encoder_outputs)
        past_key_values = decoder_cache(past_key_values, use_cache, self.config, kwargs.get("labels"))
        decoder_out = self.decoder(decoder_input_ids, decoder_attention_mask, encoder_outputs.last_hidden_state,
                                   attention_mask, past_key_values, decoder_inputs_embeds, output_attentions,
                                   output_hidden_states)
        return seq2seq_model_output(decoder_out, encoder_outputs)


class BartForConditionalGeneration(GenerationMixin, BartPreTrainedModel):
    _tied_weights_keys = {  # noqa: RUF012
        "model.encoder.embed_tokens.weight": "model.shared.weight",
        "model.decoder.embed_tokens.weight": "model.shared.weight",
        "lm_head.weight": "model.shared.weight",
    }
    _keys_to_ignore_on_load_missing = (r"final_logits_bias",)
    base_model_class = BartModel

    def __init__(self, config):
        super().__init__(config)
        self.model = self.base_model_class(config)
        self.register_buffer("final_logits_bias", torch.zeros(1, config.vocab_size))
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()
        self.tie_weights()

    def get_encoder(self):
        return self.model.encoder

    def get_decoder(self):
        return self.model.decoder

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.shared

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Labels shifted right behind the decoder start token (DataCollatorForSeq2Seq(model=...) calls it)."""
        return shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, inputs_embeds=None, decoder_inputs_embeds=None,
                labels=None, use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **kwargs):
        if labels is not None and decoder_input_ids is None and decoder_inputs_embeds is None:
            decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)
        out = self.model(input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, encoder_outputs,
                         past_key_values, inputs_embeds, decoder_inputs_embeds, use_cache, output_attentions,
                         output_hidden_states, return_dict=True, labels=labels)
        logits = self.lm_head(out.last_hidden_state) + self.final_logits_bias.to(out.last_hidden_state.dtype)
        return lm_output(seq2seq_lm_loss(logits, labels), logits, out)
