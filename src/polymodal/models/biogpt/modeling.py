"""BioGPT: ``BioGptModel``, ``BioGptForCausalLM`` and ``BioGptForSequenceClassification``.

Parameter names are the checkpoints' (``biogpt.layers.N.self_attn.q_proj`` …, the LM head is
``output_projection``). A fairseq pre-norm decoder: token embeddings scaled by sqrt(hidden_size),
learned positions offset by 2 (fairseq's reserved rows), a final LayerNorm.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...core.errors import InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import model_forward
from ...core.text_outputs import TokenClassifierOutput
from ...generation import GenerationMixin
from ...generation.cache import ensure_cache
from ...nn.activations import get_activation
from ...nn.attention import attention, merge_heads, split_heads
from ...nn.classification_loss import token_loss
from ...nn.decoder import (
    TiedLMHeadMixin,
    decoder_attention_mask,
    embed_inputs,
)
from ...nn.init import init_dense_and_norm
from ..outputs_decoder import (
    BaseModelOutputWithPastAndCrossAttentions,
    CausalLMOutputWithCrossAttentions,
    causal_lm_output,
    last_token_classifier_output,
)
from .configuration import BioGptConfig

POSITION_OFFSET = 2


class BioGptAttention(nn.Module):
    def __init__(self, config: BioGptConfig, layer_idx: int):
        super().__init__()
        dim = config.hidden_size
        self.layer_idx = layer_idx
        self.num_heads = config.num_attention_heads
        self.head_dim = dim // self.num_heads
        self.dropout = config.attention_probs_dropout_prob
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, hidden_states, mask, past_key_values=None, output_attentions=False):
        query = split_heads(self.q_proj(hidden_states), self.num_heads)  # (B, H, T, D)
        key = split_heads(self.k_proj(hidden_states), self.num_heads)
        value = split_heads(self.v_proj(hidden_states), self.num_heads)
        if past_key_values is not None:
            key, value = past_key_values.update(key, value, self.layer_idx)
        out, weights = attention(query, key, value, mask, dropout=self.dropout if self.training else 0.0,
                                 scale=self.head_dim ** -0.5, output_attentions=output_attentions)
        return self.out_proj(merge_heads(out)), weights


class BioGptDecoderLayer(nn.Module):
    def __init__(self, config: BioGptConfig, layer_idx: int):
        super().__init__()
        self.self_attn = BioGptAttention(config, layer_idx)
        self.self_attn_layer_norm = nn.LayerNorm(config.hidden_size)
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size)
        self.activation_fn = get_activation(config.hidden_act)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.activation_dropout = nn.Dropout(config.activation_dropout)

    def forward(self, hidden_states, mask, past_key_values=None, output_attentions=False):
        attn_out, weights = self.self_attn(self.self_attn_layer_norm(hidden_states), mask, past_key_values,
                                           output_attentions)
        hidden_states = hidden_states + self.dropout(attn_out)
        x = self.activation_dropout(self.activation_fn(self.fc1(self.final_layer_norm(hidden_states))))
        return hidden_states + self.dropout(self.fc2(x)), weights


class BioGptPreTrainedModel(PreTrainedModel):
    config_class = BioGptConfig
    base_model_prefix = "biogpt"
    main_input_name = "input_ids"
    _learned_positions = True

    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.initializer_range, embeddings=True)


class BioGptModel(BioGptPreTrainedModel):
    def __init__(self, config: BioGptConfig):
        super().__init__(config)
        self.embed_scale = math.sqrt(config.hidden_size) if config.scale_embedding else 1.0
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)
        self.embed_positions = nn.Embedding(config.max_position_embeddings + POSITION_OFFSET, config.hidden_size)
        self.layers = nn.ModuleList(BioGptDecoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.layer_norm = nn.LayerNorm(config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
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
        inputs_embeds=None,
        past_key_values=None,
        use_cache=None,
        position_ids=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        **kwargs,
    ):
        if inputs_embeds is None:  # the scale applies to looked-up embeddings only, as in the reference
            inputs_embeds = embed_inputs(self.embed_tokens, input_ids, None) * self.embed_scale
        batch, length, _ = inputs_embeds.shape
        cache = ensure_cache(past_key_values, self.config.use_cache if use_cache is None else use_cache)
        past = cache.get_seq_length() if cache is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past, past + length, device=inputs_embeds.device)[None]
        if int(position_ids.max()) >= self.config.max_position_embeddings:
            raise InvalidInputError(
                f"The sequence reaches position {int(position_ids.max())}, but the model has only "
                f"{self.config.max_position_embeddings} position embeddings (max_position_embeddings). "
                "Truncate the input (tokenizer(..., truncation=True))."
            )
        hidden = self.dropout(inputs_embeds + self.embed_positions(position_ids + POSITION_OFFSET))
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
        hidden = self.layer_norm(hidden)
        if all_hidden is not None:
            all_hidden.append(hidden)
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=cache,
            hidden_states=tuple(all_hidden) if all_hidden is not None else None,
            attentions=tuple(all_attn) if all_attn is not None else None,
        )


def _run_layer(model, layer, hidden, mask, cache, output_attentions):
    if model.gradient_checkpointing and model.training and torch.is_grad_enabled():
        from torch.utils.checkpoint import checkpoint

        return checkpoint(layer, hidden, mask, None, output_attentions, use_reentrant=False)
    return layer(hidden, mask, cache, output_attentions)


class BioGptForCausalLM(GenerationMixin, TiedLMHeadMixin, BioGptPreTrainedModel):
    _input_embeddings_path = "biogpt.embed_tokens"
    _output_embeddings_name = "output_projection"

    def __init__(self, config: BioGptConfig):
        super().__init__(config)
        self.biogpt = BioGptModel(config)
        self.output_projection = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()
        self.tie_weights()

    @model_forward
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        inputs_embeds=None,
        past_key_values=None,
        labels=None,
        use_cache=None,
        position_ids=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        logits_to_keep: int = 0,
        **kwargs,
    ):
        out = self.biogpt(input_ids, attention_mask, inputs_embeds, past_key_values, use_cache, position_ids,
                          output_attentions, output_hidden_states, return_dict=True)
        return causal_lm_output(self.output_projection, out, labels, logits_to_keep, CausalLMOutputWithCrossAttentions)


class BioGptForSequenceClassification(BioGptPreTrainedModel):
    def __init__(self, config: BioGptConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.biogpt = BioGptModel(config)
        self.score = nn.Linear(config.hidden_size, config.num_labels, bias=False)
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
        out = self.biogpt(input_ids, attention_mask, inputs_embeds, past_key_values, use_cache, position_ids,
                          output_attentions, output_hidden_states, return_dict=True)
        return last_token_classifier_output(self.score, out, input_ids, self.config, labels)


class BioGptForTokenClassification(BioGptPreTrainedModel):
    """A linear tagger over BioGPT's hidden states; the loss counts only attended positions."""

    def __init__(self, config: BioGptConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.biogpt = BioGptModel(config)
        dropout = getattr(config, "classifier_dropout", None)
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    @model_forward
    def forward(
        self,
        input_ids=None,
        token_type_ids=None,
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
        out = self.biogpt(input_ids, attention_mask, inputs_embeds, past_key_values, use_cache, position_ids,
                          output_attentions, output_hidden_states, return_dict=True)
        logits = self.classifier(self.dropout(out.last_hidden_state))
        loss = None
        if labels is not None:
            if attention_mask is not None and attention_mask.shape == labels.shape:
                labels = labels.masked_fill(attention_mask != 1, -100)  # padded positions never count
            loss = token_loss(logits, labels, self.num_labels, "label")
        return TokenClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                     attentions=out.attentions)
