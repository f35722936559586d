"""CANINE's encoder and task heads, with Transformers' parameter names.

The input ids are Unicode code points. The model runs, in order:

1. hashed character embeddings: ``num_hash_functions`` tables, each indexed by
   ``(id + 1) * prime % num_hash_buckets`` and filling an equal slice of the vector, plus
   position (``char_position_embeddings``) and token-type embeddings;
2. ``initial_char_encoder``: one BERT-style layer whose attention only looks inside blocks of
   ``local_transformer_stride`` characters (run block by block, as the reference does, so a
   block of padding attends uniformly within itself);
3. ``chars_to_molecules``: a strided convolution (``downsampling_rate``) to "molecules", the
   [CLS] character kept as the first molecule and the last window dropped;
4. ``encoder``: the deep stack over molecules (the pooler reads its first position);
5. upsampling: each molecule repeated ``downsampling_rate`` times (the last one also covers the
   remainder), concatenated with step 2's characters, ``projection`` conv back to ``hidden_size``;
6. ``final_char_encoder``: one full-attention layer over characters.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import InvalidInputError
from ...core.outputs import BaseModelOutputWithPooling, model_forward
from ...nn.activations import get_activation
from ...nn.attention import attention, merge_heads, padding_mask, split_heads
from ..bert.heads import (
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)
from ..bert.modeling import (
    BertIntermediate,
    BertOutput,
    BertPooler,
    BertPreTrainedModel,
    BertSelfOutput,
    _check_text_inputs,
)
from .configuration import PRIMES, CanineConfig

__all__ = ["CanineConfig", "CanineForMultipleChoice", "CanineForQuestionAnswering", "CanineForSequenceClassification",
           "CanineForTokenClassification", "CanineModel", "CaninePreTrainedModel"]


class CanineEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_hash_functions, self.num_hash_buckets = config.num_hash_functions, config.num_hash_buckets
        shard = config.hidden_size // config.num_hash_functions
        for i in range(config.num_hash_functions):
            setattr(self, f"HashBucketCodepointEmbedder_{i}", nn.Embedding(config.num_hash_buckets, shard))
        self.char_position_embeddings = nn.Embedding(config.num_hash_buckets, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings)[None], persistent=False)

    def hashed(self, input_ids: torch.Tensor) -> torch.Tensor:
        shards = [getattr(self, f"HashBucketCodepointEmbedder_{i}")((input_ids + 1) * prime % self.num_hash_buckets)
                  for i, prime in enumerate(PRIMES[: self.num_hash_functions])]
        return torch.cat(shards, dim=-1)

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None):
        embeddings = self.hashed(input_ids) if inputs_embeds is None else inputs_embeds
        if position_ids is None:
            position_ids = self.position_ids[:, : embeddings.shape[1]]
        types = self.token_type_embeddings.weight[0] if token_type_ids is None \
            else self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + types + self.char_position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class CanineSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_p = config.attention_probs_dropout_prob

    def forward(self, from_tensor, to_tensor, mask=None, output_attentions=False, eager=False):
        heads = self.num_attention_heads
        context, weights = attention(split_heads(self.query(from_tensor), heads),
                                     split_heads(self.key(to_tensor), heads), split_heads(self.value(to_tensor), heads),
                                     mask, dropout=self.dropout_p if self.training else 0.0,
                                     output_attentions=output_attentions, eager=eager)
        return merge_heads(context), weights


class CanineAttention(nn.Module):
    """Full attention, or (``local``) attention inside consecutive blocks of ``block`` positions."""

    def __init__(self, config, local: bool = False, block: int = 128):
        super().__init__()
        self.self = CanineSelfAttention(config)
        self.output = BertSelfOutput(config)
        self.local, self.block = local, block

    def forward(self, hidden_states, mask=None, output_attentions=False):
        if not self.local:
            context, weights = self.self(hidden_states, hidden_states, mask, output_attentions)
            return self.output(context, hidden_states), weights
        # A block of padding has every key masked. SDPA's backward rebuilds such a row's softmax from a
        # log-sum-exp that lost its log(n) to the huge mask, so under autograd the plain path runs.
        eager = mask is not None and torch.is_grad_enabled()
        pieces, all_weights = [], []
        for start in range(0, hidden_states.shape[1], self.block):
            chunk = hidden_states[:, start:start + self.block]
            chunk_mask = None if mask is None else mask[..., start:start + self.block]
            context, weights = self.self(chunk, chunk, chunk_mask, output_attentions, eager)
            pieces.append(context)
            all_weights.append(weights)
        # the reference reports the first block's weights for a local layer
        return self.output(torch.cat(pieces, dim=1), hidden_states), all_weights[0]


class CanineLayer(nn.Module):
    def __init__(self, config, local: bool = False, block: int = 128):
        super().__init__()
        self.attention = CanineAttention(config, local, block)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        attended, weights = self.attention(hidden_states, mask, output_attentions)
        return self.output(self.intermediate(attended), attended), weights


class CanineEncoder(nn.Module):
    def __init__(self, config, local: bool = False, block: int = 128):
        super().__init__()
        self.layer = nn.ModuleList([CanineLayer(config, local, block) for _ in range(config.num_hidden_layers)])

    def forward(self, hidden_states, mask=None, output_attentions=False, output_hidden_states=False):
        states, attentions = [], []
        for layer in self.layer:
            if output_hidden_states:
                states.append(hidden_states)
            hidden_states, weights = layer(hidden_states, mask, output_attentions)
            if output_attentions:
                attentions.append(weights)
        if output_hidden_states:
            states.append(hidden_states)
        return hidden_states, states, attentions


class CharactersToMolecules(nn.Module):
    def __init__(self, config):
        super().__init__()
        rate = config.downsampling_rate
        self.conv = nn.Conv1d(config.hidden_size, config.hidden_size, kernel_size=rate, stride=rate)
        self.activation = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, chars):
        molecules = self.activation(self.conv(chars.transpose(1, 2)).transpose(1, 2))
        return self.LayerNorm(torch.cat([chars[:, :1], molecules[:, :-1]], dim=1))


class ConvProjection(nn.Module):
    """``2 * hidden`` → ``hidden`` over a window of ``upsampling_kernel_size`` characters ('same' padding)."""

    def __init__(self, config):
        super().__init__()
        self.kernel = config.upsampling_kernel_size
        self.conv = nn.Conv1d(config.hidden_size * 2, config.hidden_size, kernel_size=self.kernel, stride=1)
        self.activation = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, inputs):
        before = (self.kernel - 1) // 2
        padded = F.pad(inputs.transpose(1, 2), (before, self.kernel - 1 - before))
        return self.dropout(self.LayerNorm(self.activation(self.conv(padded).transpose(1, 2))))


class CaninePreTrainedModel(BertPreTrainedModel):
    config_class = CanineConfig
    base_model_prefix = "canine"
    # Padded characters enter the strided downsampling convolution before any mask applies, so a
    # padded row's outputs move (~1e-4 in logits, in Transformers too): pipelines batch equal lengths.
    text_padding_is_exact = False
    _keys_to_ignore_on_load_unexpected = (r"position_ids$", r"^classifier\.", r"^qa_outputs\.")


class CanineModel(CaninePreTrainedModel):
    """``last_hidden_state`` per character, ``pooler_output`` from the first molecule."""

    def __init__(self, config, add_pooling_layer: bool = True):
        super().__init__(config)
        shallow = copy.deepcopy(config)
        shallow.num_hidden_layers = 1
        self.char_embeddings = CanineEmbeddings(config)
        self.initial_char_encoder = CanineEncoder(shallow, local=True, block=config.local_transformer_stride)
        self.chars_to_molecules = CharactersToMolecules(config)
        self.encoder = CanineEncoder(config)
        self.projection = ConvProjection(config)
        self.final_char_encoder = CanineEncoder(shallow)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self):
        return self.char_embeddings

    def _check_length(self, length: int) -> None:
        limit = min(self.config.max_position_embeddings, self.config.num_hash_buckets)
        if length > limit:
            raise InvalidInputError(
                f"CanineModel: the input has {length} characters but the position table holds {limit}. Tokenize with "
                f"truncation=True (max_length={limit}) or split the text."
            )

    def _repeat_molecules(self, molecules, length: int):
        """Back to one vector per character: molecule i covers ``rate`` characters, the last also the rest."""
        rate = self.config.downsampling_rate
        repeated = molecules[:, 1:].repeat_interleave(rate, dim=1)
        tail = molecules[:, -1:].repeat_interleave(length % rate + rate, dim=1)
        return torch.cat([repeated, tail], dim=1)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        _check_text_inputs(input_ids, inputs_embeds, attention_mask, type(self).__name__)
        length = (input_ids if input_ids is not None else inputs_embeds).shape[1]
        if position_ids is None:
            self._check_length(length)
        if length < self.config.downsampling_rate:
            raise InvalidInputError(f"CanineModel: the input has {length} characters; downsampling_rate="
                                    f"{self.config.downsampling_rate} needs at least that many (pad the input).")
        chars = self.char_embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        dtype = chars.dtype
        if attention_mask is not None and bool(attention_mask.all()):
            attention_mask = None
        char_mask = padding_mask(attention_mask, dtype)
        molecule_mask = None
        if attention_mask is not None:  # a molecule is kept when any of its characters is
            rate = self.config.downsampling_rate
            pooled = F.max_pool1d(attention_mask[:, None].float(), kernel_size=rate, stride=rate)[:, 0]
            molecule_mask = padding_mask(pooled, dtype)
        initial, states_a, attn_a = self.initial_char_encoder(chars, char_mask, output_attentions, output_hidden_states)
        molecules = self.chars_to_molecules(initial)
        deep, states_b, attn_b = self.encoder(molecules, molecule_mask, output_attentions, output_hidden_states)
        pooled_output = self.pooler(deep) if self.pooler is not None else None
        upsampled = self.projection(torch.cat([initial, self._repeat_molecules(deep, length)], dim=-1))
        last, states_c, attn_c = self.final_char_encoder(upsampled, char_mask, output_attentions,
                                                         output_hidden_states)
        return BaseModelOutputWithPooling(
            last_hidden_state=last, pooler_output=pooled_output,
            hidden_states=tuple(states_a + states_b + states_c) if output_hidden_states else None,
            attentions=tuple(attn_a + attn_b + attn_c) if output_attentions else None)


# --------------------------------------------------------------------------- heads
class _Canine:
    config_class = CanineConfig
    base_model_class = CanineModel
    base_model_prefix = "canine"
    with_pooler = True  # every Transformers head builds the pooler, used or not: same checkpoints
    text_padding_is_exact = CaninePreTrainedModel.text_padding_is_exact
    _keys_to_ignore_on_load_unexpected = (r"position_ids$",)


class CanineForSequenceClassification(_Canine, BertForSequenceClassification):
    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)


class CanineForMultipleChoice(_Canine, BertForMultipleChoice):
    @staticmethod
    def choice_dropout(config) -> float:
        return config.hidden_dropout_prob


class CanineForTokenClassification(_Canine, BertForTokenClassification):
    def build_head(self, config) -> None:
        self.num_labels = config.num_labels
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)


class CanineForQuestionAnswering(_Canine, BertForQuestionAnswering):
    pass
