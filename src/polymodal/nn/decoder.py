"""Pieces every decoder-only language model shares: the causal mask with a cache, the shifted
LM loss, and an LM head tied to the input embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.errors import InvalidInputError


def decoder_attention_mask(
    attention_mask: torch.Tensor | None,
    query_len: int,
    past_len: int,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor | None:
    """Additive ``(B or 1, 1, Tq, past + Tq)`` mask: causal over the keys, padding hidden.

    ``attention_mask`` is the ``(B, past + Tq)`` 1/0 mask over every key (cached ones included).
    Returns None when nothing needs hiding (one new token, no padding) so attention takes its
    unmasked fast path.
    """
    key_len = past_len + query_len
    padded = attention_mask is not None and not bool(attention_mask.all())
    if query_len == 1 and not padded:
        return None
    # Query i (absolute position past + i) may see keys 0 .. past + i.
    keys = torch.arange(key_len, device=device)
    queries = torch.arange(past_len, key_len, device=device)
    hidden = keys[None, :] > queries[:, None]  # (Tq, K)
    hidden = hidden[None, None]  # (1, 1, Tq, K)
    if padded:
        if attention_mask.shape[-1] != key_len:
            raise ValueError(
                f"attention_mask covers {attention_mask.shape[-1]} positions but the cache plus the input have "
                f"{key_len}: pass the mask of the whole sequence so far."
            )
        hidden = hidden | (attention_mask[:, None, None, :].to(device) == 0)
    return torch.zeros(hidden.shape, dtype=dtype, device=device).masked_fill(hidden, torch.finfo(dtype).min)


def embed_inputs(embedding, input_ids, inputs_embeds):
    """``inputs_embeds`` as given, or ``embedding(input_ids)``; exactly one must be passed."""
    if (input_ids is None) == (inputs_embeds is None):
        raise InvalidInputError("Pass exactly one of input_ids and inputs_embeds.")
    if inputs_embeds is not None:
        return inputs_embeds
    if input_ids.dim() == 1:
        input_ids = input_ids.unsqueeze(0)
    if input_ids.shape[-1] == 0:
        raise InvalidInputError("input_ids is empty (0 tokens): a decoder needs at least one token, e.g. the BOS token.")
    return embedding(input_ids)


def run_block(model, block, *inputs, cache=None, output_attentions=False):
    """``block(*inputs, cache, output_attentions)``, through activation checkpointing when the model
    trains with ``gradient_checkpointing`` (no cache then: checkpointed steps are recomputed)."""
    if model.gradient_checkpointing and model.training and torch.is_grad_enabled():
        from torch.utils.checkpoint import checkpoint

        return checkpoint(block, *inputs, None, output_attentions, use_reentrant=False)
    return block(*inputs, cache, output_attentions)


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Mean next-token cross-entropy: position ``t`` predicts ``labels[t + 1]`` (computed in fp32)."""
    shift_logits = logits[:, :-1, :].float()
    shift_labels = labels[:, 1:].to(logits.device)
    return F.cross_entropy(
        shift_logits.reshape(-1, shift_logits.shape[-1]), shift_labels.reshape(-1), ignore_index=ignore_index
    )


def pool_last_token(logits, input_ids, pad_token_id):
    """Each row's logits at its last non-padding token (left or right padding)."""
    batch = logits.shape[0]
    if pad_token_id is None and batch != 1:
        raise InvalidInputError(
            "A batch of several sequences needs config.pad_token_id to find each sequence's last token. "
            "Set model.config.pad_token_id = tokenizer.pad_token_id."
        )
    if pad_token_id is None or input_ids is None:
        last = torch.full((batch,), -1, device=logits.device)
    else:
        keep = (input_ids != pad_token_id).to(torch.int32)
        positions = torch.arange(input_ids.shape[-1], device=input_ids.device, dtype=torch.int32)
        last = (positions * keep).argmax(-1)
    return logits[torch.arange(batch, device=logits.device), last]


def sequence_classification_loss(config, logits, labels):
    """Transformers' problem-type rule: regression, single- or multi-label classification."""
    num_labels = config.num_labels
    problem = config.problem_type
    if problem is None:
        if num_labels == 1:
            problem = "regression"
        elif labels.dtype in (torch.long, torch.int):
            problem = "single_label_classification"
        else:
            problem = "multi_label_classification"
    if problem == "regression":
        loss = F.mse_loss
        return loss(logits.squeeze(), labels.squeeze().to(logits.dtype)) if num_labels == 1 else loss(logits, labels)
    if problem == "single_label_classification":
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


class TiedLMHeadMixin:
    """For a ``PreTrainedModel`` whose ``lm_head.weight`` is the input embedding matrix.

    Checkpoints of tied models store the matrix once (under the embedding's name); loading
    re-ties the head instead of reporting it missing, and saving writes it once again.
    Subclasses name the embedding with ``_input_embeddings_path`` (e.g. ``"transformer.wte"``), and
    the head with ``_output_embeddings_name`` where it is not ``lm_head`` (BioGPT's
    ``output_projection``).
    """

    _input_embeddings_path = ""
    _output_embeddings_name = "lm_head"

    def get_input_embeddings(self):
        return self.get_submodule(self._input_embeddings_path)

    def get_output_embeddings(self):
        return getattr(self, self._output_embeddings_name)

    def set_output_embeddings(self, new_embeddings) -> None:
        setattr(self, self._output_embeddings_name, new_embeddings)

    def _tied(self) -> bool:
        return bool(getattr(self.config, "tie_word_embeddings", True))

    def tie_weights(self) -> None:
        if self._tied():
            self.get_output_embeddings().weight = self.get_input_embeddings().weight

    def _load_weights(self, state_dict, dtype, ignore_mismatched):
        report = super()._load_weights(state_dict, dtype, ignore_mismatched)
        if self._tied():
            self.tie_weights()
            for key in ("missing_keys", "head_keys"):
                report[key] = [k for k in report[key] if k != f"{self._output_embeddings_name}.weight"]
        return report

    def _state_dict_for_saving(self, state_dict):
        state_dict = super()._state_dict_for_saving(state_dict)
        if self._tied():
            state_dict.pop(f"{self._output_embeddings_name}.weight", None)
        return state_dict
