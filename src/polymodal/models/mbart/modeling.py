"""mBART: BART's encoder-decoder with pre-norm blocks and a layer norm closing encoder and decoder
(the embedding norm and fairseq's position offset of 2 stay) — class switches on BART's classes
(see models/bart/modeling.py), same weight names as Transformers. BARThez and BARTpho
checkpoints (``model_type: "mbart"``) load here."""

from __future__ import annotations

import torch

from ..bart.modeling import BartForConditionalGeneration, BartModel, BartPreTrainedModel
from .configuration import MBartConfig


def shift_tokens_right(input_ids: torch.Tensor, pad_token_id: int | None) -> torch.Tensor:
    """Decoder inputs from targets: shifted right, with the last non-pad token (the language id) first.

    mBART's targets end in ``</s> <lang>``; fairseq starts decoding from that language id.
    """
    if pad_token_id is None:
        raise ValueError("mBART needs config.pad_token_id to shift labels into decoder inputs; set it in the config.")
    ids = input_ids.masked_fill(input_ids == -100, pad_token_id)  # -100 marks ignored label positions
    last = (ids.ne(pad_token_id).sum(dim=1) - 1).clamp(min=0).unsqueeze(-1)  # (B, 1)
    shifted = torch.empty_like(ids)
    shifted[:, 1:] = ids[:, :-1]
    shifted[:, 0] = ids.gather(1, last).squeeze(-1)
    return shifted


class MBartPreTrainedModel(BartPreTrainedModel):
    config_class = MBartConfig
    normalize_before = True
    final_layer_norm = True


class MBartModel(BartModel):
    config_class = MBartConfig
    normalize_before = True
    final_layer_norm = True

    def _default_decoder_input_ids(self, input_ids):
        if input_ids is None:
            raise ValueError("MBartModel: pass decoder_input_ids (or labels), or input_ids to shift right.")
        return shift_tokens_right(input_ids, self.config.pad_token_id)


class MBartForConditionalGeneration(BartForConditionalGeneration):
    config_class = MBartConfig
    base_model_class = MBartModel
    normalize_before = True
    final_layer_norm = True

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Labels shifted right with their language id first (DataCollatorForSeq2Seq(model=...) calls it)."""
        return shift_tokens_right(labels, self.config.pad_token_id)

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, inputs_embeds=None, decoder_inputs_embeds=None,
                labels=None, use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **kwargs):
        if labels is not None and decoder_input_ids is None and decoder_inputs_embeds is None:
            decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)  # BART's shift differs
        return super().forward(input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, encoder_outputs,
                               past_key_values, inputs_embeds, decoder_inputs_embeds, labels, use_cache,
                               output_attentions, output_hidden_states, return_dict, **kwargs)


__all__ = ["MBartForConditionalGeneration", "MBartModel", "MBartPreTrainedModel", "shift_tokens_right"]
