"""CTRL: ``CTRLModel`` and ``CTRLLMHeadModel``.

Parameter names are the checkpoints' (``transformer.h.N.multi_head_attention.Wq``, ``ffn.0`` …).
The original was written in TensorFlow after "Attention Is All You Need": token embeddings
scaled by sqrt(n_embd), fixed sinusoidal positions laid out ``[sin of even channels | cos of odd
channels]``, pre-norm blocks whose LayerNorms use eps=1e-6 whatever the config says.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...core.errors import InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import SequenceClassifierOutput, model_forward
from ...generation import GenerationMixin
from ...generation.cache import ensure_cache
from ...nn.attention import attention, merge_heads, split_heads
from ...nn.decoder import (
    TiedLMHeadMixin,
    decoder_attention_mask,
    embed_inputs,
    run_block,
)
from ...nn.init import init_dense_and_norm
from ..outputs_decoder import (
    BaseModelOutputWithPast,
    causal_lm_output,
    last_token_classifier_output,
)
from .configuration import CTRLConfig


def positional_encoding(positions: int, dim: int) -> torch.Tensor:
    """``(positions, dim)`` table: angle ``pos / 10000^(2⌊i/2⌋/dim)``, sines of even i then cosines of odd i."""
    pos = torch.arange(positions, dtype=torch.int64).float()[:, None]
    i = torch.arange(dim, dtype=torch.int64).float()[None]
    angles = pos * (1 / torch.pow(10000, (2 * (i // 2)) / dim))
    return torch.cat([torch.sin(angles[:, 0::2]), torch.cos(angles[:, 1::2])], dim=-1)


class MultiHeadAttention(nn.Module):
    def __init__(self, config: CTRLConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads = config.n_head
        dim = config.n_embd
        self.Wq = nn.Linear(dim, dim)
        self.Wk = nn.Linear(dim, dim)
        self.Wv = nn.Linear(dim, dim)
        self.dense = nn.Linear(dim, dim)

    def forward(self, hidden_states, mask, past_key_values=None, output_attentions=False):
        query = split_heads(self.Wq(hidden_states), self.num_heads)  # (B, H, T, D)
        key = split_heads(self.Wk(hidden_states), self.num_heads)
        value = split_heads(self.Wv(hidden_states), self.num_heads)
        if past_key_values is not None:
            key, value = past_key_values.update(key, value, self.layer_idx)
        out, weights = attention(query, key, value, mask, output_attentions=output_attentions)
        return self.dense(merge_heads(out)), weights


class EncoderLayer(nn.Module):
    """One CTRL block (the reference's name; it is a causal decoder block)."""

    def __init__(self, config: CTRLConfig, layer_idx: int):
        super().__init__()
        self.multi_head_attention = MultiHeadAttention(config, layer_idx)
        self.ffn = nn.Sequential(nn.Linear(config.n_embd, config.dff), nn.ReLU(), nn.Linear(config.dff, config.n_embd))
        self.layernorm1 = nn.LayerNorm(config.n_embd, eps=1e-6)
        self.layernorm2 = nn.LayerNorm(config.n_embd, eps=1e-6)
        self.dropout1 = nn.Dropout(config.resid_pdrop)
        self.dropout2 = nn.Dropout(config.resid_pdrop)

    def forward(self, hidden_states, mask, past_key_values=None, output_attentions=False):
        attn_out, weights = self.multi_head_attention(self.layernorm1(hidden_states), mask, past_key_values,
                                                      output_attentions)
        hidden_states = hidden_states + self.dropout1(attn_out)
        return hidden_states + self.dropout2(self.ffn(self.layernorm2(hidden_states))), weights


class CTRLPreTrainedModel(PreTrainedModel):
    config_class = CTRLConfig
    base_model_prefix = "transformer"
    main_input_name = "input_ids"
    _learned_positions = True  # the sinusoid table has n_positions rows

    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.initializer_range, embeddings=True)


class CTRLModel(CTRLPreTrainedModel):
    def __init__(self, config: CTRLConfig):
        super().__init__(config)
        self.w = nn.Embedding(config.vocab_size, config.n_embd)
        self.register_buffer("pos_encoding", positional_encoding(config.n_positions, config.n_embd), persistent=False)
        self.dropout = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList(EncoderLayer(config, i) for i in range(config.n_layer))
        self.layernorm = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.scale = math.sqrt(config.n_embd)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self):
        return self.w

    def set_input_embeddings(self, value):
        self.w = value

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
        hidden = embed_inputs(self.w, input_ids, inputs_embeds) * self.scale
        batch, length, _ = hidden.shape
        cache = ensure_cache(past_key_values, self.config.use_cache if use_cache is None else use_cache)
        past = cache.get_seq_length() if cache is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past, past + length, device=hidden.device)[None]
        if int(position_ids.max()) >= self.config.n_positions:
            raise InvalidInputError(
                f"The sequence reaches position {int(position_ids.max())}, but the model has only "
                f"{self.config.n_positions} positions (n_positions). Truncate the input (tokenizer(..., truncation=True))."
            )
        hidden = hidden + self.pos_encoding.to(hidden.dtype)[position_ids]
        if token_type_ids is not None:
            hidden = hidden + self.w(token_type_ids) * self.scale
        hidden = self.dropout(hidden)
        mask = decoder_attention_mask(attention_mask, length, past, hidden.dtype, hidden.device)
        all_hidden, all_attn = ([] if output_hidden_states else None), ([] if output_attentions else None)
        for block in self.h:
            if all_hidden is not None:
                all_hidden.append(hidden)
            hidden, weights = run_block(self, block, hidden, mask, cache=cache, output_attentions=output_attentions)
            if all_attn is not None:
                all_attn.append(weights)
        hidden = self.layernorm(hidden)
        if all_hidden is not None:
            all_hidden.append(hidden)
        return BaseModelOutputWithPast(
            last_hidden_state=hidden, past_key_values=cache,
            hidden_states=tuple(all_hidden) if all_hidden is not None else None,
            attentions=tuple(all_attn) if all_attn is not None else None,
        )




class CTRLLMHeadModel(GenerationMixin, TiedLMHeadMixin, CTRLPreTrainedModel):
    _input_embeddings_path = "transformer.w"

    def __init__(self, config: CTRLConfig):
        super().__init__(config)
        self.transformer = CTRLModel(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=True)
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
        out = self.transformer(input_ids, past_key_values, attention_mask, token_type_ids, position_ids,
                               inputs_embeds, use_cache, output_attentions, output_hidden_states, return_dict=True)
        return causal_lm_output(self.lm_head, out, labels, logits_to_keep)


class CTRLForSequenceClassification(CTRLPreTrainedModel):
    """CTRL with a bias-free classifier read at each row's last non-padding token (as GPT-2's)."""

    def __init__(self, config: CTRLConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = CTRLModel(config)
        self.classifier = nn.Linear(config.n_embd, config.num_labels, bias=False)
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
        out = self.transformer(input_ids, past_key_values, attention_mask, token_type_ids, position_ids,
                               inputs_embeds, use_cache, output_attentions, output_hidden_states, return_dict=True)
        return last_token_classifier_output(self.classifier, out, input_ids, self.config, labels,
                                            output_class=SequenceClassifierOutput)  # no cache, as Transformers'
