"""Output classes of decoder language models (Transformers' names), and the two heads that
turn a decoder's output into them: next-token logits and last-token classification."""

from __future__ import annotations

from typing import Any

from ..core.outputs import ModelOutput, output_dataclass
from ..nn.decoder import causal_lm_loss, pool_last_token, sequence_classification_loss


@output_dataclass
class BaseModelOutputWithPast(ModelOutput):
    last_hidden_state: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class BaseModelOutputWithPastAndCrossAttentions(ModelOutput):
    last_hidden_state: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None
    cross_attentions: Any = None


@output_dataclass
class CausalLMOutputWithPast(ModelOutput):
    loss: Any = None
    logits: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None


@output_dataclass
class CausalLMOutputWithCrossAttentions(ModelOutput):
    loss: Any = None
    logits: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None
    cross_attentions: Any = None


@output_dataclass
class SequenceClassifierOutputWithPast(ModelOutput):
    loss: Any = None
    logits: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None


def causal_lm_output(lm_head, base: ModelOutput, labels=None, logits_to_keep: int = 0,
                     output_class=CausalLMOutputWithPast) -> ModelOutput:
    """``lm_head`` over the decoder output ``base``, with the shifted LM loss when ``labels`` are given.

    ``logits_to_keep=N`` projects only the last N positions (generation needs one; 0 keeps all).
    The cache, hidden states and attentions are ``base``'s."""
    hidden = base.last_hidden_state
    logits = lm_head(hidden[:, -logits_to_keep:] if logits_to_keep else hidden)
    return output_class(
        loss=causal_lm_loss(logits, labels) if labels is not None else None, logits=logits,
        past_key_values=base.past_key_values, hidden_states=base.hidden_states, attentions=base.attentions,
    )


def last_token_classifier_output(score, base: ModelOutput, input_ids, config, labels=None,
                                 output_class=SequenceClassifierOutputWithPast) -> ModelOutput:
    """``score`` read at each row's last non-padding token (GPT-2's classifier), with Transformers'
    problem-type loss when ``labels`` are given. An ``output_class`` without ``past_key_values``
    (CTRL's) drops the cache."""
    pooled = pool_last_token(score(base.last_hidden_state), input_ids, config.pad_token_id)
    values = {"loss": sequence_classification_loss(config, pooled, labels) if labels is not None else None,
              "logits": pooled, "past_key_values": base.past_key_values, "hidden_states": base.hidden_states,
              "attentions": base.attentions}
    return output_class(**{k: v for k, v in values.items() if k in output_class.__dataclass_fields__})
