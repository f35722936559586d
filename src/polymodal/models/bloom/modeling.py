"""BLOOM: ``BloomModel``, ``BloomForCausalLM`` and ``BloomForSequenceClassification``.

Parameter names are the checkpoints' (``transformer.h.N.self_attention.query_key_value`` …).
No position embeddings: ALiBi biases the attention scores (``nn/alibi.py``), computed from the
attention mask so left padding does not shift positions. The fused projection is laid out per
head as ``(H, 3, D)``, and the embeddings pass through a LayerNorm first.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.modeling import PreTrainedModel
from ...core.outputs import model_forward
from ...generation import GenerationMixin
from ...generation.cache import ensure_cache
from ...nn.alibi import alibi_bias
from ...nn.attention import attention, merge_heads
from ...nn.decoder import (
    TiedLMHeadMixin,
    decoder_attention_mask,
    embed_inputs,
    run_block,
)
from ...nn.init import init_dense_and_norm
from ..outputs_decoder import (
    BaseModelOutputWithPastAndCrossAttentions,
    CausalLMOutputWithCrossAttentions,
    causal_lm_output,
    last_token_classifier_output,
)
from .configuration import BloomConfig


def bloom_gelu(x: torch.Tensor) -> torch.Tensor:
    """The tanh GELU with Megatron-DeepSpeed's rounded constant (0.79788456 for sqrt(2/pi))."""
    return x * 0.5 * (1.0 + torch.tanh(0.79788456 * x * (1 + 0.044715 * x * x)))


class BloomAttention(nn.Module):
    def __init__(self, config: BloomConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads = config.n_head
        self.head_dim = config.hidden_size // config.n_head
        self.query_key_value = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=True)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.attention_dropout = config.attention_dropout

    def forward(self, hidden_states, bias, past_key_values=None, output_attentions=False):
        batch, length, _ = hidden_states.shape
        qkv = self.query_key_value(hidden_states).view(batch, length, self.num_heads, 3, self.head_dim)
        query, key, value = qkv.permute(3, 0, 2, 1, 4).unbind(0)  # each (B, H, T, D)
        if past_key_values is not None:
            key, value = past_key_values.update(key, value, self.layer_idx)
        out, weights = attention(
            query, key, value, bias, dropout=self.attention_dropout if self.training else 0.0,
            scale=self.head_dim ** -0.5, output_attentions=output_attentions,
        )
        return self.dense(merge_heads(out)), weights


class BloomMLP(nn.Module):
    def __init__(self, config: BloomConfig):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(config.hidden_size, 4 * config.hidden_size)
        self.dense_4h_to_h = nn.Linear(4 * config.hidden_size, config.hidden_size)

    def forward(self, x):
        return self.dense_4h_to_h(bloom_gelu(self.dense_h_to_4h(x)))


class BloomBlock(nn.Module):
    def __init__(self, config: BloomConfig, layer_idx: int):
        super().__init__()
        self.input_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_epsilon)
        self.self_attention = BloomAttention(config, layer_idx)
        self.post_attention_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_epsilon)
        self.mlp = BloomMLP(config)
        # Some checkpoints add the residual after the norm instead of before it.
        self.post_norm_residual = config.apply_residual_connection_post_layernorm
        self.dropout = nn.Dropout(config.hidden_dropout)

    def forward(self, hidden_states, bias, past_key_values=None, output_attentions=False):
        normed = self.input_layernorm(hidden_states)
        residual = normed if self.post_norm_residual else hidden_states
        attn_out, weights = self.self_attention(normed, bias, past_key_values, output_attentions)
        hidden_states = residual + self.dropout(attn_out)
        normed = self.post_attention_layernorm(hidden_states)
        residual = normed if self.post_norm_residual else hidden_states
        return residual + self.dropout(self.mlp(normed)), weights


class BloomPreTrainedModel(PreTrainedModel):
    config_class = BloomConfig
    base_model_prefix = "transformer"
    main_input_name = "input_ids"

    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.initializer_range, embeddings=True)


class BloomModel(BloomPreTrainedModel):
    def __init__(self, config: BloomConfig):
        super().__init__(config)
        self.num_heads = config.n_head
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.word_embeddings_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_epsilon)
        self.h = nn.ModuleList(BloomBlock(config, i) for i in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_epsilon)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self):
        return self.word_embeddings

    def set_input_embeddings(self, value):
        self.word_embeddings = value

    @model_forward
    def forward(
        self,
        input_ids=None,
        past_key_values=None,
        attention_mask=None,
        inputs_embeds=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        **kwargs,
    ):
        inputs_embeds = embed_inputs(self.word_embeddings, input_ids, inputs_embeds)
        batch, length, _ = inputs_embeds.shape
        cache = ensure_cache(past_key_values, self.config.use_cache if use_cache is None else use_cache)
        past = cache.get_seq_length() if cache is not None else 0
        hidden = self.word_embeddings_layernorm(inputs_embeds)
        bias = _attention_bias(attention_mask, batch, past + length, length, past, self.num_heads, hidden)
        all_hidden, all_attn = ([] if output_hidden_states else None), ([] if output_attentions else None)
        for block in self.h:
            if all_hidden is not None:
                all_hidden.append(hidden)
            hidden, weights = run_block(self, block, hidden, bias, cache=cache, output_attentions=output_attentions)
            if all_attn is not None:
                all_attn.append(weights)
        hidden = self.ln_f(hidden)
        if all_hidden is not None:
            all_hidden.append(hidden)
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=cache,
            hidden_states=tuple(all_hidden) if all_hidden is not None else None,
            attentions=tuple(all_attn) if all_attn is not None else None,
        )


def _attention_bias(attention_mask, batch, keys, length, past, num_heads, hidden):
    """ALiBi ``(B, H, 1, K)`` plus the causal/padding mask ``(B, 1, T, K)``: one additive tensor."""
    if attention_mask is None:
        attention_mask = torch.ones(batch, keys, dtype=torch.long, device=hidden.device)
    bias = alibi_bias(attention_mask.to(hidden.device), num_heads, hidden.dtype)
    mask = decoder_attention_mask(attention_mask, length, past, hidden.dtype, hidden.device)
    return bias if mask is None else bias + mask




class BloomForCausalLM(GenerationMixin, TiedLMHeadMixin, BloomPreTrainedModel):
    _input_embeddings_path = "transformer.word_embeddings"

    def __init__(self, config: BloomConfig):
        super().__init__(config)
        self.transformer = BloomModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()
        self.tie_weights()

    @model_forward
    def forward(
        self,
        input_ids=None,
        past_key_values=None,
        attention_mask=None,
        inputs_embeds=None,
        labels=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        logits_to_keep: int = 0,
        **kwargs,
    ):
        out = self.transformer(input_ids, past_key_values, attention_mask, inputs_embeds, use_cache,
                               output_attentions, output_hidden_states, return_dict=True)
        return causal_lm_output(self.lm_head, out, labels, logits_to_keep, CausalLMOutputWithCrossAttentions)


class BloomForSequenceClassification(BloomPreTrainedModel):
    def __init__(self, config: BloomConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = BloomModel(config)
        self.score = nn.Linear(config.hidden_size, config.num_labels, bias=False)
        self.post_init()

    @model_forward
    def forward(
        self,
        input_ids=None,
        past_key_values=None,
        attention_mask=None,
        inputs_embeds=None,
        labels=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        **kwargs,
    ):
        out = self.transformer(input_ids, past_key_values, attention_mask, inputs_embeds, use_cache,
                               output_attentions, output_hidden_states, return_dict=True)
        return last_token_classifier_output(self.score, out, input_ids, self.config, labels)
