"""T5: ``T5Model``, ``T5ForConditionalGeneration`` and ``T5EncoderModel``.

Pre-norm blocks with an RMS norm (no mean, no bias), attention without the 1/√d scaling (it
is folded into the initialisation) and no biases, and positions as a learned bias per
relative-distance bucket, computed by the first block of each stack and reused by the rest.
Parameter names are the checkpoint's: ``encoder.block.N.layer.0.SelfAttention.q`` ….
"""

from __future__ import annotations

import torch
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
from ...nn.activations import get_activation
from ...nn.attention import attention, merge_heads, padding_mask, split_heads
from ...nn.checkpointing import run_layer
from ...nn.relative_position import relative_position_bucket, relative_positions
from ...nn.seq2seq import (
    TiedWeightsMixin,
    cache_length,
    cached_keys_values,
    decoder_cache,
    decoder_self_mask,
    seq2seq_lm_loss,
    shift_tokens_right,
)
from .configuration import T5Config


class T5LayerNorm(nn.Module):
    """RMS norm: scale only, statistics in float32 (half-precision sums overflow)."""

    def __init__(self, hidden_size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        variance = hidden_states.float().pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        if self.weight.dtype in (torch.float16, torch.bfloat16):
            hidden_states = hidden_states.to(self.weight.dtype)
        return self.weight * hidden_states


class T5DenseActDense(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.wi = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout_rate)
        self.act = get_activation(config.dense_act_fn)

    def forward(self, hidden_states):
        return self.wo(self.dropout(self.act(self.wi(hidden_states))))


class T5DenseGatedActDense(nn.Module):
    """T5 v1.1 / Flan-T5: ``act(wi_0 x) * wi_1 x``."""

    def __init__(self, config):
        super().__init__()
        self.wi_0 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wi_1 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout_rate)
        self.act = get_activation(config.dense_act_fn)

    def forward(self, hidden_states):
        gated = self.act(self.wi_0(hidden_states)) * self.wi_1(hidden_states)
        return self.wo(self.dropout(gated))


class T5LayerFF(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.DenseReluDense = T5DenseGatedActDense(config) if config.is_gated_act else T5DenseActDense(config)
        self.layer_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden_states):
        return hidden_states + self.dropout(self.DenseReluDense(self.layer_norm(hidden_states)))


class T5Attention(nn.Module):
    def __init__(self, config, has_relative_attention_bias: bool = False, is_decoder: bool = False,
                 layer_idx: int = 0):
        super().__init__()
        self.is_decoder = is_decoder
        self.n_heads = config.num_heads
        self.layer_idx = layer_idx
        self.dropout = config.dropout_rate
        self.num_buckets = config.relative_attention_num_buckets
        self.max_distance = config.relative_attention_max_distance
        inner = config.num_heads * config.d_kv
        self.q = nn.Linear(config.d_model, inner, bias=False)
        self.k = nn.Linear(config.d_model, inner, bias=False)
        self.v = nn.Linear(config.d_model, inner, bias=False)
        self.o = nn.Linear(inner, config.d_model, bias=False)
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(self.num_buckets, self.n_heads)

    def compute_bias(self, query_length: int, key_length: int, past: int = 0):
        """Learned bias per distance bucket, ``(1, H, Tq, Tk)``."""
        device = self.relative_attention_bias.weight.device
        buckets = relative_position_bucket(relative_positions(query_length, key_length, past, device),
                                           bidirectional=not self.is_decoder, num_buckets=self.num_buckets,
                                           max_distance=self.max_distance)
        return self.relative_attention_bias(buckets).permute(2, 0, 1)[None]

    def _keys_values(self, states):
        return split_heads(self.k(states), self.n_heads), split_heads(self.v(states), self.n_heads)

    def forward(self, hidden_states, bias, key_value_states=None, cache=None, output_attentions=False):
        query = split_heads(self.q(hidden_states), self.n_heads)  # (B, H, T, D)
        key, value = cached_keys_values(self._keys_values, hidden_states, key_value_states, cache, self.layer_idx)
        # T5 does not scale scores by 1/sqrt(D): the initialisation accounts for it.
        context, weights = attention(query, key, value, bias, dropout=self.dropout if self.training else 0.0,
                                     scale=1.0, output_attentions=output_attentions)
        return self.o(merge_heads(context)), weights


class T5LayerSelfAttention(nn.Module):
    def __init__(self, config, has_relative_attention_bias=False, is_decoder=False, layer_idx=0):
        super().__init__()
        self.SelfAttention = T5Attention(config, has_relative_attention_bias, is_decoder, layer_idx)
        self.layer_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden_states, bias, cache=None, output_attentions=False):
        out, weights = self.SelfAttention(self.layer_norm(hidden_states), bias, cache=cache,
                                          output_attentions=output_attentions)
        return hidden_states + self.dropout(out), weights


class T5LayerCrossAttention(nn.Module):
    def __init__(self, config, layer_idx=0):
        super().__init__()
        self.EncDecAttention = T5Attention(config, False, is_decoder=True, layer_idx=layer_idx)
        self.layer_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden_states, encoder_states, bias, cache=None, output_attentions=False):
        out, weights = self.EncDecAttention(self.layer_norm(hidden_states), bias, encoder_states, cache,
                                            output_attentions)
        return hidden_states + self.dropout(out), weights


class T5Block(nn.Module):
    def __init__(self, config, has_relative_attention_bias=False, is_decoder=False, layer_idx=0):
        super().__init__()
        self.is_decoder = is_decoder
        layers = [T5LayerSelfAttention(config, has_relative_attention_bias, is_decoder, layer_idx)]
        if is_decoder:
            layers.append(T5LayerCrossAttention(config, layer_idx))
        layers.append(T5LayerFF(config))
        self.layer = nn.ModuleList(layers)

    def forward(self, hidden_states, self_bias, encoder_states=None, cross_bias=None, cache=None,
                output_attentions=False):
        hidden_states, self_weights = self.layer[0](hidden_states, self_bias, cache, output_attentions)
        cross_weights = None
        if self.is_decoder:
            hidden_states, cross_weights = self.layer[1](hidden_states, encoder_states, cross_bias, cache,
                                                         output_attentions)
        return self.layer[-1](hidden_states), self_weights, cross_weights


class T5Stack(nn.Module):
    """The encoder (``is_decoder=False``) or the decoder: blocks, final norm, dropouts."""

    def __init__(self, config, embed_tokens, is_decoder: bool):
        super().__init__()
        self.config = config
        self.is_decoder = is_decoder
        self.embed_tokens = embed_tokens
        count = config.num_decoder_layers if is_decoder else config.num_layers
        self.block = nn.ModuleList([T5Block(config, i == 0, is_decoder, i) for i in range(count)])
        self.final_layer_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)
        self.gradient_checkpointing = False

    def _self_bias(self, hidden, attention_mask, past):
        length = hidden.shape[1]
        bias = self.block[0].layer[0].SelfAttention.compute_bias(length, past + length, past).to(hidden.dtype)
        if self.is_decoder:
            mask = decoder_self_mask(attention_mask, length, past, hidden.dtype, hidden.device)
        else:
            mask = None if attention_mask is None else padding_mask(attention_mask, hidden.dtype)
        return bias if mask is None else bias + mask

    def forward(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                inputs_embeds=None, past_key_values=None, output_attentions=False, output_hidden_states=False,
                return_dict=True, **kwargs):
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("T5: pass exactly one of input_ids or inputs_embeds (decoder_input_ids for the decoder).")
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids)
        past = cache_length(past_key_values) if self.is_decoder else 0
        hidden = self.dropout(inputs_embeds)
        self_bias = self._self_bias(hidden, attention_mask, past)
        cross_bias = None
        if self.is_decoder and encoder_attention_mask is not None:
            cross_bias = padding_mask(encoder_attention_mask, hidden.dtype)
        all_hidden, self_w, cross_w = [], [], []
        checkpointed = self.gradient_checkpointing and self.training and past_key_values is None
        for block in self.block:
            all_hidden.append(hidden)
            hidden, own, cross = run_layer(block, hidden, self_bias, encoder_hidden_states, cross_bias,
                                           past_key_values, output_attentions, checkpointed=checkpointed)
            self_w.append(own)
            cross_w.append(cross)
        hidden = self.dropout(self.final_layer_norm(hidden))
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden,
            past_key_values=past_key_values,
            hidden_states=(*all_hidden, hidden) if output_hidden_states else None,
            attentions=tuple(self_w) if output_attentions else None,
            cross_attentions=tuple(cross_w) if output_attentions and self.is_decoder else None,
        )


class T5PreTrainedModel(TiedWeightsMixin, PreTrainedModel):
    _shares_cross_attention_rows = True  # beam search shares cross-attention keys across beams
    config_class = T5Config
    base_model_prefix = "transformer"
    main_input_name = "input_ids"

    def _init_weights(self, module: nn.Module) -> None:
        """Mesh TensorFlow's initialisation: normal with std scaled by fan-in (×initializer_factor)."""
        factor, d_model = self.config.initializer_factor, self.config.d_model
        if isinstance(module, T5LayerNorm):
            nn.init.constant_(module.weight, factor)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=factor)
        elif isinstance(module, (T5DenseActDense, T5DenseGatedActDense)):
            for linear in module.children():
                if isinstance(linear, nn.Linear):
                    fan_in = self.config.d_ff if linear is module.wo else d_model
                    nn.init.normal_(linear.weight, std=factor * fan_in ** -0.5)
        elif isinstance(module, T5Attention):
            d_kv, heads = self.config.d_kv, self.config.num_heads
            nn.init.normal_(module.q.weight, std=factor * (d_model * d_kv) ** -0.5)
            for linear in (module.k, module.v):
                nn.init.normal_(linear.weight, std=factor * d_model ** -0.5)
            nn.init.normal_(module.o.weight, std=factor * (heads * d_kv) ** -0.5)
            if hasattr(module, "relative_attention_bias"):
                nn.init.normal_(module.relative_attention_bias.weight, std=factor * d_model ** -0.5)
        elif isinstance(module, nn.Linear) and module.out_features == self.config.vocab_size:
            nn.init.normal_(module.weight, std=factor)


class T5EncoderModel(T5PreTrainedModel):
    _tied_weights_keys = {"encoder.embed_tokens.weight": "shared.weight"}  # noqa: RUF012
    _keys_to_ignore_on_load_unexpected = (r"^decoder\.", r"^lm_head\.")

    def __init__(self, config):
        super().__init__(config)
        self.shared = nn.Embedding(config.vocab_size, config.d_model)
        self.encoder = T5Stack(config, self.shared, is_decoder=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.shared

    def get_encoder(self) -> T5Stack:
        return self.encoder

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):
        out = self.encoder(input_ids, attention_mask, inputs_embeds=inputs_embeds,
                           output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        return BaseModelOutput(last_hidden_state=out.last_hidden_state, hidden_states=out.hidden_states,
                               attentions=out.attentions)


class T5Model(T5EncoderModel):
    _tied_weights_keys = {  # noqa: RUF012
        "encoder.embed_tokens.weight": "shared.weight",
        "decoder.embed_tokens.weight": "shared.weight",
    }
    _keys_to_ignore_on_load_unexpected = (r"^lm_head\.",)

    def __init__(self, config):
        super().__init__(config)
        self.decoder = T5Stack(config, self.shared, is_decoder=True)
        self.post_init()

    def get_decoder(self) -> T5Stack:
        return self.decoder

    def _encode_decode(self, input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, encoder_outputs,
                       past_key_values, inputs_embeds, decoder_inputs_embeds, use_cache, output_attentions,
                       output_hidden_states, labels=None):
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_ids, attention_mask, inputs_embeds=inputs_embeds,
                                           output_attentions=output_attentions,
                                           output_hidden_states=output_hidden_states)
        encoder_outputs = as_encoder_output(encoder_outputs)
        past_key_values = decoder_cache(past_key_values, use_cache, self.config, labels)
        decoder_out = self.decoder(decoder_input_ids, decoder_attention_mask, encoder_outputs.last_hidden_state,
                                   attention_mask, decoder_inputs_embeds, past_key_values, output_attentions,
                                   output_hidden_states)
        return seq2seq_model_output(decoder_out, encoder_outputs)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, inputs_embeds=None, decoder_inputs_embeds=None,
                use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        return self._encode_decode(input_ids, attention_mask, decoder_input_ids, decoder_attention_mask,
                                   encoder_outputs, past_key_values, inputs_embeds, decoder_inputs_embeds, use_cache,
                                   output_attentions, output_hidden_states)


class T5ForConditionalGeneration(GenerationMixin, T5Model):
    _tied_weights_keys = {  # noqa: RUF012
        "encoder.embed_tokens.weight": "shared.weight",
        "decoder.embed_tokens.weight": "shared.weight",
        "lm_head.weight": "shared.weight",
    }
    _keys_to_ignore_on_load_unexpected = ()

    def __init__(self, config):
        super().__init__(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()
        self.tie_weights()

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
        out = self._encode_decode(input_ids, attention_mask, decoder_input_ids, decoder_attention_mask,
                                  encoder_outputs, past_key_values, inputs_embeds, decoder_inputs_embeds, use_cache,
                                  output_attentions, output_hidden_states, labels)
        hidden = out.last_hidden_state
        if self.config.scale_decoder_outputs:
            hidden = hidden * self.config.d_model ** -0.5  # original T5: rescale before the tied head
        logits = self.lm_head(hidden)
        return lm_output(seq2seq_lm_loss(logits, labels), logits, out)
