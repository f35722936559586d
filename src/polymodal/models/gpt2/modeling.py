"""GPT-2: ``GPT2Model``, ``GPT2LMHeadModel`` and ``GPT2ForSequenceClassification``.

Parameter names are the checkpoints' (``transformer.h.N.attn.c_attn`` …). GPT-2's projections
are "Conv1D" layers: a linear layer whose weight is stored transposed, ``(in, out)``. We keep that
layout so checkpoints load unchanged, and apply it with one ``addmm``.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.errors import InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import model_forward
from ...generation import GenerationMixin
from ...generation.cache import ensure_cache
from ...nn.activations import get_activation
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
from .configuration import GPT2Config


class Conv1D(nn.Module):
    """``y = x @ weight + bias`` with ``weight`` of shape ``(in, out)`` (OpenAI's layout)."""

    def __init__(self, nf: int, nx: int):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight)
        return out.view(*x.shape[:-1], self.nf)


class GPT2Attention(nn.Module):
    def __init__(self, config: GPT2Config, layer_idx: int):
        super().__init__()
        self.embed_dim, self.num_heads = config.n_embd, config.n_head
        self.head_dim = self.embed_dim // self.num_heads
        self.layer_idx = layer_idx
        self.scaling = self.head_dim ** -0.5 if config.scale_attn_weights else 1.0
        if config.scale_attn_by_inverse_layer_idx:
            self.scaling /= float(layer_idx + 1)
        self.c_attn = Conv1D(3 * self.embed_dim, self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, hidden_states, mask, past_key_values=None, output_attentions=False):
        batch, length, _ = hidden_states.shape
        qkv = self.c_attn(hidden_states).view(batch, length, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, T, D)
        if past_key_values is not None:
            key, value = past_key_values.update(key, value, self.layer_idx)
        dropout = self.attn_dropout.p if self.training else 0.0
        out, weights = attention(
            query, key, value, mask, dropout=dropout, scale=self.scaling, output_attentions=output_attentions
        )
        return self.resid_dropout(self.c_proj(merge_heads(out))), weights


class GPT2MLP(nn.Module):
    def __init__(self, intermediate_size: int, config: GPT2Config):
        super().__init__()
        self.c_fc = Conv1D(intermediate_size, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, intermediate_size)
        self.act = get_activation(config.activation_function)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x):
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class GPT2Block(nn.Module):
    def __init__(self, config: GPT2Config, layer_idx: int):
        super().__init__()
        inner = config.n_inner if config.n_inner is not None else 4 * config.n_embd
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(inner, config)

    def forward(self, hidden_states, mask, past_key_values=None, output_attentions=False):
        attn_out, weights = self.attn(self.ln_1(hidden_states), mask, past_key_values, output_attentions)
        hidden_states = hidden_states + attn_out
        return hidden_states + self.mlp(self.ln_2(hidden_states)), weights


class GPT2PreTrainedModel(PreTrainedModel):
    config_class = GPT2Config
    base_model_prefix = "transformer"
    main_input_name = "input_ids"
    # Old checkpoints carry the causal-mask buffers (attn.bias, attn.masked_bias).
    _keys_to_ignore_on_load_unexpected = (r"attn\.bias$", r"attn\.masked_bias$", r"crossattention\.bias$")
    _learned_positions = True  # generate() refuses to run past n_positions

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        init_dense_and_norm(module, std, dense=(nn.Linear, Conv1D), embeddings=True)
        if isinstance(module, (GPT2Attention, GPT2MLP)):
            # GPT-2 paper: residual projections scaled by 1/sqrt(2 * n_layer).
            module.c_proj.weight.data.normal_(0.0, std / (2 * self.config.n_layer) ** 0.5)


class GPT2Model(GPT2PreTrainedModel):
    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList(GPT2Block(config, i) for i in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self):
        return self.wte

    def set_input_embeddings(self, value):
        self.wte = value

    @model_forward
    def forward(
        self,
        input_ids=None,
        past_key_values=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        **kwargs,
    ):
        inputs_embeds = embed_inputs(self.wte, input_ids, inputs_embeds)
        batch, length, _ = inputs_embeds.shape
        past_key_values = ensure_cache(past_key_values, self.config.use_cache if use_cache is None else use_cache)
        past = past_key_values.get_seq_length() if past_key_values is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past, past + length, device=inputs_embeds.device)[None]
        _check_positions(position_ids, self.config.n_positions)
        hidden = inputs_embeds + self.wpe(position_ids)
        if token_type_ids is not None:
            hidden = hidden + self.wte(token_type_ids)
        hidden = self.drop(hidden)
        mask = decoder_attention_mask(attention_mask, length, past, hidden.dtype, hidden.device)
        all_hidden, all_attn = ([] if output_hidden_states else None), ([] if output_attentions else None)
        for block in self.h:
            if all_hidden is not None:
                all_hidden.append(hidden)
            hidden, weights = run_block(self, block, hidden, mask, cache=past_key_values, output_attentions=output_attentions)
            if all_attn is not None:
                all_attn.append(weights)
        hidden = self.ln_f(hidden)
        if all_hidden is not None:
            all_hidden.append(hidden)
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden,
            past_key_values=past_key_values,
            hidden_states=tuple(all_hidden) if all_hidden is not None else None,
            attentions=tuple(all_attn) if all_attn is not None else None,
        )


def _check_positions(position_ids, limit: int) -> None:
    if int(position_ids.max()) >= limit:
        raise InvalidInputError(
            f"The sequence reaches position {int(position_ids.max())}, but the model has only {limit} "
            "position embeddings (n_positions). Truncate the input (tokenizer(..., truncation=True))."
        )




class GPT2LMHeadModel(GenerationMixin, TiedLMHeadMixin, GPT2PreTrainedModel):
    _input_embeddings_path = "transformer.wte"

    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.post_init()
        self.tie_weights()

    @model_forward
    def forward(
        self,
        input_ids=None,
        past_key_values=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        labels=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        logits_to_keep: int = 0,
        **kwargs,
    ):
        out = self.transformer(
            input_ids, past_key_values, attention_mask, token_type_ids, position_ids, inputs_embeds,
            use_cache, output_attentions, output_hidden_states, return_dict=True,
        )
        return causal_lm_output(self.lm_head, out, labels, logits_to_keep, CausalLMOutputWithCrossAttentions)


class GPT2ForSequenceClassification(GPT2PreTrainedModel):
    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = GPT2Model(config)
        self.score = nn.Linear(config.n_embd, config.num_labels, bias=False)
        self.post_init()

    @model_forward
    def forward(
        self,
        input_ids=None,
        past_key_values=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        labels=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        **kwargs,
    ):
        out = self.transformer(
            input_ids, past_key_values, attention_mask, token_type_ids, position_ids, inputs_embeds,
            use_cache, output_attentions, output_hidden_states, return_dict=True,
        )
        return last_token_classifier_output(self.score, out, input_ids, self.config, labels)
