"""OPT: ``OPTModel``, ``OPTForCausalLM`` and ``OPTForSequenceClassification``.

Parameter names are the checkpoints' (``model.decoder.layers.N.self_attn.q_proj`` …). Two OPT
quirks kept for exactness: learned positions are offset by 2 (fairseq reserved the first rows),
and the query is scaled before the product (the original's order). opt-350m is post-norm
(``do_layer_norm_before=False``) and projects its 512-wide embeddings in and out of the 1024-wide
decoder (``word_embed_proj_dim``).
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
)
from ...nn.init import init_dense_and_norm
from ..outputs_decoder import (
    BaseModelOutputWithPast,
    causal_lm_output,
    last_token_classifier_output,
)
from .configuration import OPTConfig

POSITION_OFFSET = 2  # fairseq's padding_idx + 1 rows come first in the position table


class OPTAttention(nn.Module):
    def __init__(self, config: OPTConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.num_heads
        self.scaling = self.head_dim ** -0.5
        self.dropout = config.attention_dropout
        dim, bias = config.hidden_size, config.enable_bias
        self.k_proj = nn.Linear(dim, dim, bias=bias)
        self.v_proj = nn.Linear(dim, dim, bias=bias)
        self.q_proj = nn.Linear(dim, dim, bias=bias)
        self.out_proj = nn.Linear(dim, dim, bias=bias)

    def forward(self, hidden_states, mask, past_key_values=None, output_attentions=False):
        batch, length, _ = hidden_states.shape

        def heads(x):  # (B, T, H·D) -> (B, H, T, D)
            return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

        query = heads(self.q_proj(hidden_states) * self.scaling)
        key, value = heads(self.k_proj(hidden_states)), heads(self.v_proj(hidden_states))
        if past_key_values is not None:
            key, value = past_key_values.update(key, value, self.layer_idx)
        out, weights = attention(query, key, value, mask, dropout=self.dropout if self.training else 0.0, scale=1.0,
                                 output_attentions=output_attentions)
        return self.out_proj(merge_heads(out)), weights


class OPTDecoderLayer(nn.Module):
    def __init__(self, config: OPTConfig, layer_idx: int):
        super().__init__()
        affine = config.layer_norm_elementwise_affine
        self.self_attn = OPTAttention(config, layer_idx)
        self.do_layer_norm_before = config.do_layer_norm_before
        self.dropout = nn.Dropout(config.dropout)
        self.activation_fn = get_activation(config.activation_function)
        self.self_attn_layer_norm = nn.LayerNorm(config.hidden_size, elementwise_affine=affine)
        self.fc1 = nn.Linear(config.hidden_size, config.ffn_dim, bias=config.enable_bias)
        self.fc2 = nn.Linear(config.ffn_dim, config.hidden_size, bias=config.enable_bias)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, elementwise_affine=affine)

    def forward(self, hidden_states, mask, past_key_values=None, output_attentions=False):
        pre = self.do_layer_norm_before
        x = self.self_attn_layer_norm(hidden_states) if pre else hidden_states
        attn_out, weights = self.self_attn(x, mask, past_key_values, output_attentions)
        hidden_states = hidden_states + self.dropout(attn_out)
        if not pre:
            hidden_states = self.self_attn_layer_norm(hidden_states)
        x = self.final_layer_norm(hidden_states) if pre else hidden_states
        hidden_states = hidden_states + self.dropout(self.fc2(self.activation_fn(self.fc1(x))))
        if not pre:
            hidden_states = self.final_layer_norm(hidden_states)
        return hidden_states, weights


class OPTPreTrainedModel(PreTrainedModel):
    config_class = OPTConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    _learned_positions = True  # generate() refuses to run past max_position_embeddings

    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.init_std, embeddings=True)


class OPTDecoder(nn.Module):
    def __init__(self, config: OPTConfig):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.word_embed_proj_dim, config.pad_token_id)
        self.embed_positions = nn.Embedding(config.max_position_embeddings + POSITION_OFFSET, config.hidden_size)
        projected = config.word_embed_proj_dim != config.hidden_size
        self.project_out = nn.Linear(config.hidden_size, config.word_embed_proj_dim, bias=False) if projected else None
        self.project_in = nn.Linear(config.word_embed_proj_dim, config.hidden_size, bias=False) if projected else None
        # Post-norm checkpoints (opt-350m) and some old ones have no final norm.
        final = config.do_layer_norm_before and not config._remove_final_layer_norm
        self.final_layer_norm = (
            nn.LayerNorm(config.hidden_size, elementwise_affine=config.layer_norm_elementwise_affine) if final else None
        )
        self.layers = nn.ModuleList(OPTDecoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.gradient_checkpointing = False

    def forward(self, input_ids, attention_mask, position_ids, past_key_values, inputs_embeds, use_cache,
                output_attentions, output_hidden_states):
        inputs_embeds = embed_inputs(self.embed_tokens, input_ids, inputs_embeds)
        batch, length, _ = inputs_embeds.shape
        cache = ensure_cache(past_key_values, self.config.use_cache if use_cache is None else use_cache)
        past = cache.get_seq_length() if cache is not None else 0
        if position_ids is None:
            position_ids = _positions_from_mask(attention_mask, batch, past, length, inputs_embeds.device)
        if int(position_ids.max()) >= self.config.max_position_embeddings:
            raise InvalidInputError(
                f"The sequence reaches position {int(position_ids.max())}, but the model has only "
                f"{self.config.max_position_embeddings} position embeddings (max_position_embeddings). "
                "Truncate the input (tokenizer(..., truncation=True))."
            )
        if self.project_in is not None:
            inputs_embeds = self.project_in(inputs_embeds)
        hidden = inputs_embeds + self.embed_positions(position_ids + POSITION_OFFSET)
        mask = decoder_attention_mask(attention_mask, length, past, hidden.dtype, hidden.device)
        all_hidden, all_attn = ([] if output_hidden_states else None), ([] if output_attentions else None)
        for layer in self.layers:
            if all_hidden is not None:
                all_hidden.append(hidden)
            if self.training and self.config.layerdrop > 0.0 and torch.rand([]) < self.config.layerdrop:
                continue
            hidden, weights = _run_layer(self, layer, hidden, mask, cache, output_attentions)
            if all_attn is not None:
                all_attn.append(weights)
        if self.final_layer_norm is not None:
            hidden = self.final_layer_norm(hidden)
        if self.project_out is not None:
            hidden = self.project_out(hidden)
        if all_hidden is not None:
            all_hidden.append(hidden)
        return BaseModelOutputWithPast(
            last_hidden_state=hidden, past_key_values=cache,
            hidden_states=tuple(all_hidden) if all_hidden is not None else None,
            attentions=tuple(all_attn) if all_attn is not None else None,
        )


def _positions_from_mask(attention_mask, batch, past, length, device):
    """Positions counted over real tokens (left padding does not shift them), as OPT defines them."""
    if attention_mask is None:
        return torch.arange(past, past + length, device=device)[None].expand(batch, -1)
    mask = attention_mask.long()
    return (mask.cumsum(1) * mask - 1)[:, past:]


def _run_layer(decoder, layer, hidden, mask, cache, output_attentions):
    if decoder.gradient_checkpointing and decoder.training and torch.is_grad_enabled():
        from torch.utils.checkpoint import checkpoint

        return checkpoint(layer, hidden, mask, None, output_attentions, use_reentrant=False)
    return layer(hidden, mask, cache, output_attentions)


class OPTModel(OPTPreTrainedModel):
    def __init__(self, config: OPTConfig):
        super().__init__(config)
        self.decoder = OPTDecoder(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.decoder.embed_tokens

    def set_input_embeddings(self, value):
        self.decoder.embed_tokens = value

    @model_forward
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        past_key_values=None,
        inputs_embeds=None,
        use_cache=None,
        position_ids=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        **kwargs,
    ):
        return self.decoder(input_ids, attention_mask, position_ids, past_key_values, inputs_embeds, use_cache,
                            output_attentions, output_hidden_states)


class OPTForCausalLM(GenerationMixin, TiedLMHeadMixin, OPTPreTrainedModel):
    _input_embeddings_path = "model.decoder.embed_tokens"

    def __init__(self, config: OPTConfig):
        super().__init__(config)
        self.model = OPTModel(config)
        self.lm_head = nn.Linear(config.word_embed_proj_dim, config.vocab_size, bias=False)
        self.post_init()
        self.tie_weights()

    @model_forward
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        past_key_values=None,
        inputs_embeds=None,
        labels=None,
        use_cache=None,
        position_ids=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        logits_to_keep: int = 0,
        **kwargs,
    ):
        out = self.model.decoder(input_ids, attention_mask, position_ids, past_key_values, inputs_embeds, use_cache,
                                 output_attentions, output_hidden_states)
        return causal_lm_output(self.lm_head, out, labels, logits_to_keep)


class OPTForSequenceClassification(OPTPreTrainedModel):
    def __init__(self, config: OPTConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.model = OPTModel(config)
        self.score = nn.Linear(config.word_embed_proj_dim, config.num_labels, bias=False)
        self.post_init()

    @model_forward
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        past_key_values=None,
        inputs_embeds=None,
        labels=None,
        use_cache=None,
        position_ids=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        **kwargs,
    ):
        out = self.model.decoder(input_ids, attention_mask, position_ids, past_key_values, inputs_embeds, use_cache,
                                 output_attentions, output_hidden_states)
        return last_token_classifier_output(self.score, out, input_ids, self.config, labels)
