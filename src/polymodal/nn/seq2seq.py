"""Blocks shared by the encoder-decoder families: Whisper, BART, mBART, Blenderbot(-Small) ….

They all use one attention module (``q_proj``/``k_proj``/``v_proj``/``out_proj``) and one
encoder and one decoder layer (``self_attn``, ``self_attn_layer_norm``, ``encoder_attn``,
``encoder_attn_layer_norm``, ``fc1``, ``fc2``, ``final_layer_norm``). The families differ in
where the layer norm goes (BART normalises after each residual, Whisper/mBART/Blenderbot
before): that is one ``normalize_before`` switch, not a second layer class.

The decoder cache is an encoder-decoder cache object: ``cache.self_attention_cache.update(k, v,
layer_idx)`` returns the keys/values so far; cross-attention keys/values are computed once from
the encoder output and read back on every later step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .activations import get_activation
from .attention import attention, causal_mask, merge_heads, split_heads
from .checkpointing import run_layer


def shift_tokens_right(input_ids: torch.Tensor, pad_token_id: int | None, decoder_start_token_id: int | None):
    """Labels → decoder inputs: prepend the start token, drop the last label, -100 becomes padding."""
    if decoder_start_token_id is None:
        raise ValueError("config.decoder_start_token_id is not set; it is needed to build decoder_input_ids from labels.")
    if pad_token_id is None:
        raise ValueError("config.pad_token_id is not set; it is needed to build decoder_input_ids from labels.")
    shifted = input_ids.new_full(input_ids.shape, decoder_start_token_id)
    shifted[:, 1:] = input_ids[:, :-1]
    return shifted.masked_fill(shifted == -100, pad_token_id)


def seq2seq_lm_loss(logits: torch.Tensor, labels: torch.Tensor | None):
    """Token cross-entropy; label -100 is ignored (padding of the collator)."""
    if labels is None:
        return None
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1).to(logits.device))


def cache_length(cache) -> int:
    """Tokens the decoder has already seen (0 without a cache)."""
    if cache is None:
        return 0
    own = getattr(cache, "self_attention_cache", cache)
    return int(own.get_seq_length())


def decoder_cache(cache, use_cache, config, labels=None):
    """The cache to decode with: the caller's, or a new one when caching is on (not while training on labels)."""
    if cache is not None or labels is not None:
        return cache
    if not (config.use_cache if use_cache is None else use_cache):
        return None
    from ..generation.cache import EncoderDecoderCache

    return EncoderDecoderCache()


def decoder_self_mask(attention_mask, length: int, past: int, dtype, device):
    """Additive ``(B|1, 1, T, past+T)`` causal mask, with the decoder's padding when given.

    ``None`` when one new token sees everything (the usual generation step): attention then
    needs no mask at all.
    """
    total = past + length
    if attention_mask is not None and attention_mask.shape[-1] != total:
        raise ValueError(
            f"decoder_attention_mask covers {attention_mask.shape[-1]} positions but the decoder has {total} "
            f"({past} cached + {length} new); pass a mask over the cached and the new tokens."
        )
    has_padding = attention_mask is not None and not bool(attention_mask.all())
    if length == 1 and not has_padding:
        return None
    mask = causal_mask(total, dtype, device)[:, :, past:]  # (1, 1, T, past+T)
    if has_padding:
        keep = attention_mask[:, None, None, :].to(torch.bool)
        mask = mask.masked_fill(~keep, torch.finfo(dtype).min)
    return mask


def cached_keys_values(project, hidden_states, encoder_states, cache, layer_idx: int):
    """Keys/values of one attention layer through the cache.

    Self-attention (``encoder_states`` None) appends the new positions and returns all so far;
    cross-attention projects the encoder output once, at the first step, then reads it back.
    """
    if encoder_states is None:
        key, value = project(hidden_states)
        return (key, value) if cache is None else cache.self_attention_cache.update(key, value, layer_idx)
    if cache is None:
        return project(encoder_states)
    if cache.is_updated.get(layer_idx):
        return cache.cross_attention_cache[layer_idx]
    # Stored head-major (B, H, S, D) contiguous: every later step reads all S keys of each head, and
    # the strided view of the projection (heads interleaved per position) made SDPA ~35% slower per
    # step on Whisper's 1500 encoder frames.
    group = getattr(cache, "cross_group", 1)
    if group > 1:  # rows repeated by generate(): project one per input (attention() shares it)
        encoder_states = encoder_states[::group]
    key, value = (t.contiguous() for t in project(encoder_states))
    key, value = cache.cross_attention_cache.update(key, value, layer_idx)
    cache.is_updated[layer_idx] = True
    return key, value


class Seq2SeqAttention(nn.Module):
    """Multi-head attention, as self-attention or as cross-attention over the encoder output."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 key_bias: bool = True, layer_idx: int = 0):
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.layer_idx = layer_idx
        self.scaling = (embed_dim // num_heads) ** -0.5
        # Whisper's key projection has no bias (a bias on keys cancels in softmax anyway).
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=bias and key_bias)
        self.v_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def _keys_values(self, states):
        return split_heads(self.k_proj(states), self.num_heads), split_heads(self.v_proj(states), self.num_heads)

    def forward(self, hidden_states, key_value_states=None, mask=None, cache=None, output_attentions=False):
        # The query is scaled before the product, as the original code does (the rounding differs).
        query = split_heads(self.q_proj(hidden_states) * self.scaling, self.num_heads)  # (B, H, T, D)
        key, value = cached_keys_values(self._keys_values, hidden_states, key_value_states, cache, self.layer_idx)
        context, weights = attention(query, key, value, mask, dropout=self.dropout if self.training else 0.0,
                                     scale=1.0, output_attentions=output_attentions)
        return self.out_proj(merge_heads(context)), weights


class _FeedForward(nn.Module):
    """``fc1`` → activation → ``fc2`` with the two dropouts; names are the checkpoint's."""

    def _init_ffn(self, config, width: int):
        self.activation_fn = get_activation(config.activation_function)
        self.activation_dropout = config.activation_dropout
        self.dropout = config.dropout
        self.fc1 = nn.Linear(config.d_model, width)
        self.fc2 = nn.Linear(width, config.d_model)
        self.final_layer_norm = nn.LayerNorm(config.d_model)

    def _drop(self, x, p):
        return F.dropout(x, p=p, training=self.training) if p else x

    def _feed_forward(self, hidden_states):
        residual = hidden_states
        if self.normalize_before:
            hidden_states = self.final_layer_norm(hidden_states)
        hidden_states = self._drop(self.activation_fn(self.fc1(hidden_states)), self.activation_dropout)
        hidden_states = residual + self._drop(self.fc2(hidden_states), self.dropout)
        return hidden_states if self.normalize_before else self.final_layer_norm(hidden_states)

    def _residual(self, norm, sublayer, hidden_states, *args, **kwargs):
        """``x + sublayer(norm(x))`` (pre-norm) or ``norm(x + sublayer(x))`` (post-norm)."""
        residual = hidden_states
        if self.normalize_before:
            hidden_states = norm(hidden_states)
        out, weights = sublayer(hidden_states, *args, **kwargs)
        out = residual + self._drop(out, self.dropout)
        return (out if self.normalize_before else norm(out)), weights


class Seq2SeqEncoderLayer(_FeedForward):
    def __init__(self, config, normalize_before: bool, key_bias: bool = True):
        super().__init__()
        self.normalize_before = normalize_before
        self.self_attn = Seq2SeqAttention(config.d_model, config.encoder_attention_heads, config.attention_dropout,
                                          key_bias=key_bias)
        self.self_attn_layer_norm = nn.LayerNorm(config.d_model)
        self._init_ffn(config, config.encoder_ffn_dim)

    def forward(self, hidden_states, mask=None, output_attentions=False):
        hidden_states, weights = self._residual(self.self_attn_layer_norm, self.self_attn, hidden_states,
                                                mask=mask, output_attentions=output_attentions)
        return self._feed_forward(hidden_states), weights


class Seq2SeqDecoderLayer(_FeedForward):
    def __init__(self, config, layer_idx: int, normalize_before: bool, key_bias: bool = True):
        super().__init__()
        self.normalize_before = normalize_before
        heads, dropout = config.decoder_attention_heads, config.attention_dropout
        self.self_attn = Seq2SeqAttention(config.d_model, heads, dropout, key_bias=key_bias, layer_idx=layer_idx)
        self.self_attn_layer_norm = nn.LayerNorm(config.d_model)
        self.encoder_attn = Seq2SeqAttention(config.d_model, heads, dropout, key_bias=key_bias, layer_idx=layer_idx)
        self.encoder_attn_layer_norm = nn.LayerNorm(config.d_model)
        self._init_ffn(config, config.decoder_ffn_dim)

    def forward(self, hidden_states, self_mask, encoder_states, cross_mask, cache=None, output_attentions=False):
        hidden_states, self_weights = self._residual(self.self_attn_layer_norm, self.self_attn, hidden_states,
                                                     mask=self_mask, cache=cache, output_attentions=output_attentions)
        cross_weights = None
        if encoder_states is not None:  # a decoder run alone (…ForCausalLM) skips cross-attention
            hidden_states, cross_weights = self._residual(
                self.encoder_attn_layer_norm, self.encoder_attn, hidden_states, key_value_states=encoder_states,
                mask=cross_mask, cache=cache, output_attentions=output_attentions)
        return self._feed_forward(hidden_states), self_weights, cross_weights


def run_decoder_layers(layers, hidden_states, self_mask, encoder_states, cross_mask, cache,
                       output_attentions: bool, output_hidden_states: bool, checkpointed: bool = False):
    """The decoder stack; returns ``(last, hidden_states, self_attentions, cross_attentions)`` (tuples or None)."""
    all_hidden = [] if output_hidden_states else None
    self_weights = [] if output_attentions else None
    cross_weights = [] if output_attentions else None
    for layer in layers:
        if output_hidden_states:
            all_hidden.append(hidden_states)
        hidden_states, own, cross = run_layer(layer, hidden_states, self_mask, encoder_states, cross_mask, cache,
                                              output_attentions, checkpointed=checkpointed and cache is None)
        if output_attentions:
            self_weights.append(own)
            cross_weights.append(cross)
    return hidden_states, _tuple(all_hidden), _tuple(self_weights), _tuple(cross_weights)


def _tuple(items):
    return None if items is None else tuple(items)


class ScaledEmbedding(nn.Embedding):
    """Token embedding multiplied by ``embed_scale`` (√d_model when ``scale_embedding``)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, embed_scale: float = 1.0):
        super().__init__(num_embeddings, embedding_dim, padding_idx)
        self.embed_scale = embed_scale

    def forward(self, input_ids):
        return super().forward(input_ids) * self.embed_scale


class TiedWeightsMixin:
    """Parameters shared between modules, declared once as ``{target key: source key}``.

    Checkpoints store only the source (``model.shared.weight``); loading fills the targets from it
    (so nothing is reported missing) and re-ties afterwards, because loading assigns new tensors.
    """

    _tied_weights_keys: dict[str, str] = {}  # noqa: RUF012 - read-only class table

    def _active_ties(self) -> dict[str, str]:
        return self._tied_weights_keys if getattr(self.config, "tie_word_embeddings", True) else {
            t: s for t, s in self._tied_weights_keys.items() if "embed_tokens" in t}

    def _fix_checkpoint_keys(self, state_dict):
        state_dict = super()._fix_checkpoint_keys(state_dict)
        for target, source in self._active_ties().items():
            if target not in state_dict and source in state_dict:
                state_dict[target] = state_dict[source]
        return state_dict

    def _load_weights(self, state_dict, dtype, ignore_mismatched):
        report = super()._load_weights(state_dict, dtype, ignore_mismatched)
        self.tie_weights()
        return report

    def tie_weights(self) -> None:
        for target, source in self._active_ties().items():
            owner, _, name = target.rpartition(".")
            setattr(self.get_submodule(owner), name, self.get_parameter(source))
