"""CodeGen: ``CodeGenModel`` and ``CodeGenForCausalLM``.

Parameter names are the checkpoints' (``transformer.h.N.attn.qkv_proj`` …). A GPT-J block:
attention and MLP read the same LayerNorm output and are added in parallel to the residual;
rotary positions rotate interleaved pairs over the first ``rotary_dim`` channels of each head.
The fused projection is stored as 4 shards of ``[query | value | key]`` (the TPU training
layout), which ``_split_qvk`` undoes without copying weights.
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
from ...nn.decoder import decoder_attention_mask, embed_inputs, run_block
from ...nn.init import init_dense_and_norm
from ..outputs_decoder import BaseModelOutputWithPast, causal_lm_output
from .configuration import MP_NUM, CodeGenConfig


def sinusoidal_table(num_pos: int, dim: int) -> torch.Tensor:
    """``(num_pos, dim)``: ``[sin | cos]`` of position × inverse frequency (GPT-J's table)."""
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.int64) / dim))
    angles = torch.arange(num_pos, dtype=torch.int64).float()[:, None] * inv_freq
    return torch.cat((torch.sin(angles), torch.cos(angles)), dim=1)


def rotate_interleaved(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (0,1), (2,3) … of ``x`` ``(B, T, H, R)``; ``sin``/``cos`` are ``(B, T, R/2)``."""
    sin = sin.repeat_interleave(2, dim=-1)[:, :, None]  # (B, T, 1, R)
    cos = cos.repeat_interleave(2, dim=-1)[:, :, None]
    rotated = torch.stack((-x[..., 1::2], x[..., ::2]), dim=-1).flatten(-2)
    return x * cos + rotated * sin


class CodeGenAttention(nn.Module):
    def __init__(self, config: CodeGenConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.embed_dim, self.num_heads = config.n_embd, config.n_head
        self.head_dim = self.embed_dim // self.num_heads
        self.rotary_dim = config.rotary_dim
        self.qkv_proj = nn.Linear(self.embed_dim, 3 * self.embed_dim, bias=False)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=False)
        self.attn_dropout = config.attn_pdrop
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        table = sinusoidal_table(config.n_positions, self.rotary_dim or self.embed_dim)
        self.register_buffer("embed_positions", table, persistent=False)

    def _split_qvk(self, qkv):
        batch, length, _ = qkv.shape
        shards = qkv.view(batch, length, MP_NUM, 3, -1)  # (B, T, 4, [q|v|k], H/4·D)
        query, value, key = shards.unbind(3)

        def heads(x):  # (B, T, 4, H/4·D) -> (B, T, H, D), heads ordered shard by shard
            return x.reshape(batch, length, self.num_heads, self.head_dim)

        return heads(query), heads(key), heads(value)

    def _rotate(self, x, sin, cos):
        if self.rotary_dim is None:
            return rotate_interleaved(x, sin, cos)
        r = self.rotary_dim
        return torch.cat([rotate_interleaved(x[..., :r], sin, cos), x[..., r:]], dim=-1)

    def forward(self, hidden_states, position_ids, mask, past_key_values=None, output_attentions=False):
        query, key, value = self._split_qvk(self.qkv_proj(hidden_states))
        sin, cos = self.embed_positions[position_ids].chunk(2, dim=-1)  # each (B, T, R/2)
        query = self._rotate(query, sin, cos).transpose(1, 2)  # (B, H, T, D)
        key = self._rotate(key, sin, cos).transpose(1, 2)
        value = value.transpose(1, 2)
        if past_key_values is not None:
            key, value = past_key_values.update(key, value, self.layer_idx)
        # The reference takes q·k in fp32 whatever the model's dtype.
        out, weights = attention(query.float(), key.float(), value.float(), None if mask is None else mask.float(),
                                 dropout=self.attn_dropout if self.training else 0.0, scale=self.head_dim ** -0.5,
                                 output_attentions=output_attentions)
        out = self.out_proj(merge_heads(out.to(hidden_states.dtype)))
        return self.resid_dropout(out), weights


class CodeGenMLP(nn.Module):
    def __init__(self, intermediate_size: int, config: CodeGenConfig):
        super().__init__()
        self.fc_in = nn.Linear(config.n_embd, intermediate_size)
        self.fc_out = nn.Linear(intermediate_size, config.n_embd)
        self.act = get_activation(config.activation_function)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x):
        return self.dropout(self.fc_out(self.act(self.fc_in(x))))


class CodeGenBlock(nn.Module):
    def __init__(self, config: CodeGenConfig, layer_idx: int):
        super().__init__()
        inner = config.n_inner if config.n_inner is not None else 4 * config.n_embd
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = CodeGenAttention(config, layer_idx)
        self.mlp = CodeGenMLP(inner, config)

    def forward(self, hidden_states, position_ids, mask, past_key_values=None, output_attentions=False):
        normed = self.ln_1(hidden_states)
        attn_out, weights = self.attn(normed, position_ids, mask, past_key_values, output_attentions)
        return hidden_states + attn_out + self.mlp(normed), weights  # parallel residual (GPT-J)


class CodeGenPreTrainedModel(PreTrainedModel):
    config_class = CodeGenConfig
    base_model_prefix = "transformer"
    main_input_name = "input_ids"
    # Old checkpoints carry causal-mask buffers.
    _keys_to_ignore_on_load_unexpected = (r"attn\.causal_mask$", r"attn\.masked_bias$", r"attn\.bias$")
    _learned_positions = True  # the rotary table has n_positions rows

    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.initializer_range, embeddings=True)


class CodeGenModel(CodeGenPreTrainedModel):
    def __init__(self, config: CodeGenConfig):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList(CodeGenBlock(config, i) for i in range(config.n_layer))
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
        hidden = embed_inputs(self.wte, input_ids, inputs_embeds)
        batch, length, _ = hidden.shape
        cache = ensure_cache(past_key_values, self.config.use_cache if use_cache is None else use_cache)
        past = cache.get_seq_length() if cache is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past, past + length, device=hidden.device)[None]
        position_ids = position_ids.expand(batch, -1)
        if int(position_ids.max()) >= self.config.n_positions:
            raise InvalidInputError(
                f"The sequence reaches position {int(position_ids.max())}, but the model has only "
                f"{self.config.n_positions} positions (n_positions). Truncate the input (tokenizer(..., truncation=True))."
            )
        if token_type_ids is not None:
            hidden = hidden + self.wte(token_type_ids)
        hidden = self.drop(hidden)
        mask = decoder_attention_mask(attention_mask, length, past, hidden.dtype, hidden.device)
        all_hidden, all_attn = ([] if output_hidden_states else None), ([] if output_attentions else None)
        for block in self.h:
            if all_hidden is not None:
                all_hidden.append(hidden)
            hidden, weights = run_block(self, block, hidden, position_ids, mask, cache=cache, output_attentions=output_attentions)
            if all_attn is not None:
                all_attn.append(weights)
        hidden = self.ln_f(hidden)
        if all_hidden is not None:
            all_hidden.append(hidden)
        return BaseModelOutputWithPast(
            last_hidden_state=hidden, past_key_values=cache,
            hidden_states=tuple(all_hidden) if all_hidden is not None else None,
            attentions=tuple(all_attn) if all_attn is not None else None,
        )




class CodeGenForCausalLM(GenerationMixin, CodeGenPreTrainedModel):
    def __init__(self, config: CodeGenConfig):
        super().__init__(config)
        self.transformer = CodeGenModel(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size)
        self.post_init()

    def get_input_embeddings(self):
        return self.transformer.wte

    def get_output_embeddings(self):
        return self.lm_head

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
        out = self.transformer(input_ids, past_key_values, attention_mask, token_type_ids, position_ids,
                               inputs_embeds, use_cache, output_attentions, output_hidden_states, return_dict=True)
        return causal_lm_output(self.lm_head, out, labels, logits_to_keep)
