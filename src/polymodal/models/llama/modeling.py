"""Llama (and Code Llama, which is Llama): RMSNorm, rotary positions with the configured scaling,
SwiGLU MLP, grouped-query attention. Parameter names are the checkpoints' (``model.layers.N.
self_attn.q_proj`` …)."""

from __future__ import annotations

import torch
from torch import nn

from ...core.modeling import PreTrainedModel
from ...core.outputs import model_forward
from ...generation import GenerationMixin
from ...generation.cache import ensure_cache
from ...nn.activations import get_activation
from ...nn.attention import attention
from ...nn.decoder import (
    TiedLMHeadMixin,
    decoder_attention_mask,
    embed_inputs,
)
from ...nn.init import init_dense_and_norm
from ...nn.rotary import RotaryEmbedding, apply_rotary_pos_emb
from ..outputs_decoder import (
    BaseModelOutputWithPast,
    causal_lm_output,
    last_token_classifier_output,
)
from .configuration import LlamaConfig


class LlamaRMSNorm(nn.Module):
    def __init__(self, hidden_size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        dtype = hidden_states.dtype
        hidden = hidden_states.to(torch.float32)  # the variance in fp32, as the reference does
        hidden = hidden * torch.rsqrt(hidden.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        return self.weight * hidden.to(dtype)


def grouped_query_attention(query, key, value, mask, num_groups: int, **kwargs):
    """Attention where ``num_groups`` query heads share each key/value head, without copying K/V.

    The query heads of a group are stacked along the time axis, so each key/value head is read
    once: ``(B, H, T, D) -> (B, H_kv, G·T, D)``; the mask is repeated to match.
    """
    if num_groups == 1:
        return attention(query, key, value, mask, **kwargs)
    batch, heads, length, dim = query.shape
    query = query.reshape(batch, heads // num_groups, num_groups * length, dim)  # (B, H_kv, G·T, D)
    if mask is not None and mask.shape[-2] > 1:
        mask = mask.repeat(1, 1, num_groups, 1)  # (B, 1, G·T, K), row g·T + t
    out, weights = attention(query, key, value, mask, **kwargs)
    out = out.reshape(batch, heads, length, dim)
    if weights is not None:
        weights = weights.reshape(batch, heads, length, -1)
    return out, weights


class LlamaAttention(nn.Module):
    def __init__(self, config: LlamaConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.head_dim = config.head_dim
        self.num_heads, self.num_kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.scaling = self.head_dim ** -0.5
        self.attention_dropout = config.attention_dropout
        bias = config.attention_bias
        self.q_proj = nn.Linear(config.hidden_size, self.num_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(config.hidden_size, self.num_kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(config.hidden_size, self.num_kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, config.hidden_size, bias=bias)

    def forward(self, hidden_states, position_embeddings, mask, past_key_values=None, output_attentions=False):
        batch, length, _ = hidden_states.shape
        query = self.q_proj(hidden_states).view(batch, length, -1, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        key = self.k_proj(hidden_states).view(batch, length, -1, self.head_dim).transpose(1, 2)  # (B, H_kv, T, D)
        value = self.v_proj(hidden_states).view(batch, length, -1, self.head_dim).transpose(1, 2)
        query, key = apply_rotary_pos_emb(query, key, *position_embeddings)
        if past_key_values is not None:
            key, value = past_key_values.update(key, value, self.layer_idx)
        out, weights = grouped_query_attention(
            query, key, value, mask, self.num_heads // self.num_kv_heads,
            dropout=self.attention_dropout if self.training else 0.0, scale=self.scaling,
            output_attentions=output_attentions,
        )
        out = out.transpose(1, 2).reshape(batch, length, -1)  # (B, T, H·D)
        return self.o_proj(out), weights


class LlamaMLP(nn.Module):
    """SwiGLU: ``down(act(gate(x)) * up(x))``."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        bias = config.mlp_bias
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=bias)
        self.act_fn = get_activation(config.hidden_act)

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, config: LlamaConfig, layer_idx: int):
        super().__init__()
        self.self_attn = LlamaAttention(config, layer_idx)
        self.mlp = LlamaMLP(config)
        self.input_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, hidden_states, position_embeddings, mask, past_key_values=None, output_attentions=False):
        attn_out, weights = self.self_attn(
            self.input_layernorm(hidden_states), position_embeddings, mask, past_key_values, output_attentions
        )
        hidden_states = hidden_states + attn_out
        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states)), weights


class LlamaPreTrainedModel(PreTrainedModel):
    config_class = LlamaConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    _keys_to_ignore_on_load_unexpected = (r"rotary_emb\.inv_freq$",)

    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.initializer_range, norms=(LlamaRMSNorm,), embeddings=True)


class LlamaModel(LlamaPreTrainedModel):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.padding_idx = config.pad_token_id
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, self.padding_idx)
        self.layers = nn.ModuleList(LlamaDecoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.norm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(config.rope_parameters, config.head_dim, config.max_position_embeddings)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self):
        return self.embed_tokens

    def set_input_embeddings(self, value):
        self.embed_tokens = value

    @model_forward
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        position_ids=None,
        past_key_values=None,
        inputs_embeds=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        **kwargs,
    ):
        hidden = embed_inputs(self.embed_tokens, input_ids, inputs_embeds)
        batch, length, _ = hidden.shape
        past_key_values = ensure_cache(past_key_values, self.config.use_cache if use_cache is None else use_cache)
        past = past_key_values.get_seq_length() if past_key_values is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past, past + length, device=hidden.device)[None]
        position_embeddings = self.rotary_emb(hidden, position_ids)
        mask = decoder_attention_mask(attention_mask, length, past, hidden.dtype, hidden.device)
        all_hidden, all_attn = ([] if output_hidden_states else None), ([] if output_attentions else None)
        for layer in self.layers:
            if all_hidden is not None:
                all_hidden.append(hidden)
            hidden, weights = _run_layer(self, layer, hidden, position_embeddings, mask, past_key_values,
                                         output_attentions)
            if all_attn is not None:
                all_attn.append(weights)
        hidden = self.norm(hidden)
        if all_hidden is not None:
            all_hidden.append(hidden)
        return BaseModelOutputWithPast(
            last_hidden_state=hidden,
            past_key_values=past_key_values,
            hidden_states=tuple(all_hidden) if all_hidden is not None else None,
            attentions=tuple(all_attn) if all_attn is not None else None,
        )


def _run_layer(model, layer, hidden, position_embeddings, mask, cache, output_attentions):
    if model.gradient_checkpointing and model.training and torch.is_grad_enabled():
        from torch.utils.checkpoint import checkpoint

        return checkpoint(layer, hidden, position_embeddings, mask, None, output_attentions, use_reentrant=False)
    return layer(hidden, position_embeddings, mask, cache, output_attentions)


class LlamaForCausalLM(GenerationMixin, TiedLMHeadMixin, LlamaPreTrainedModel):
    _input_embeddings_path = "model.embed_tokens"

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model = LlamaModel(config)
        self.vocab_size = config.vocab_size
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()
        self.tie_weights()

    @model_forward
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        position_ids=None,
        past_key_values=None,
        inputs_embeds=None,
        labels=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        logits_to_keep: int = 0,
        **kwargs,
    ):
        out = self.model(
            input_ids, attention_mask, position_ids, past_key_values, inputs_embeds, use_cache,
            output_attentions, output_hidden_states, return_dict=True,
        )
        return causal_lm_output(self.lm_head, out, labels, logits_to_keep)


class LlamaForSequenceClassification(LlamaPreTrainedModel):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.model = LlamaModel(config)
        self.score = nn.Linear(config.hidden_size, config.num_labels, bias=False)
        self.post_init()

    @model_forward
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        position_ids=None,
        past_key_values=None,
        inputs_embeds=None,
        labels=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        **kwargs,
    ):
        out = self.model(
            input_ids, attention_mask, position_ids, past_key_values, inputs_embeds, use_cache,
            output_attentions, output_hidden_states, return_dict=True,
        )
        return last_token_classifier_output(self.score, out, input_ids, self.config, labels)
