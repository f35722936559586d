"""Beam search and beam sampling, vectorised over batch and beams.

The bookkeeping follows Transformers 5's ``_beam_search`` step for step (top ``2·num_beams``
candidates per row, finished hypotheses kept in a second ``(B, num_beams)`` pool, the same
early-stopping heuristic), so the same model gives the same beams. Tensors are laid out
``(batch, beams, ...)``; the model sees ``(batch·beams, ...)``.
"""

from __future__ import annotations

import torch

from .outputs import GenerateBeamDecoderOnlyOutput, GenerateBeamEncoderDecoderOutput

_NEG = -1.0e9


def _gather(tensor: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``tensor[b, index[b, k], ...]`` for every ``b, k``."""
    while index.dim() < tensor.dim():
        index = index.unsqueeze(-1)
    return torch.take_along_dim(tensor, index, dim=1)


class _BeamState:
    def __init__(self, input_ids, batch, num_beams, max_length, fill, n_eos):
        device, length = input_ids.device, input_ids.shape[1]
        self.batch, self.num_beams, self.prompt_len = batch, num_beams, length
        self.keep = max(2, 1 + n_eos) * num_beams
        self.top_mask = torch.arange(self.keep, device=device) < num_beams
        self.running = torch.full((batch, num_beams, max_length), fill, dtype=torch.long, device=device)
        self.running[:, :, :length] = input_ids.view(batch, num_beams, length)
        self.finished = self.running.clone()
        self.running_scores = torch.zeros((batch, num_beams), device=device)
        self.running_scores[:, 1:] = _NEG  # all beams start equal: only the first may expand at step one
        self.finished_scores = torch.full((batch, num_beams), _NEG, device=device)
        self.is_finished = torch.zeros((batch, num_beams), dtype=torch.bool, device=device)
        self.can_improve = torch.ones((batch, 1), dtype=torch.bool, device=device)
        self.running_indices = torch.full((batch, num_beams, max_length - length), -1, dtype=torch.int32, device=device)
        self.finished_indices = self.running_indices.clone()

    def candidates(self, log_probs, length, do_sample):
        """Top ``keep`` continuations of every row, over all beams × vocabulary."""
        if do_sample:
            flat = torch.multinomial(log_probs.softmax(dim=-1), num_samples=self.keep)
            top_scores = log_probs.gather(1, flat)
        else:
            top_scores, flat = torch.topk(log_probs, k=self.keep)
        vocab = log_probs.shape[-1] // self.num_beams
        source_beam = flat // vocab
        sequences = _gather(self.running, source_beam)
        sequences[:, :, length] = flat % vocab
        indices = _gather(self.running_indices, source_beam)
        offset = torch.arange(self.batch, device=flat.device).view(-1, 1) * self.num_beams
        indices[:, :, length - self.prompt_len] = (source_beam + offset).to(indices.dtype)
        return top_scores, sequences, indices

    def advance(self, top_scores, sequences, indices, hits_stop, length, length_penalty, early_stopping):
        # Running beams: best candidates that did not stop.
        running_scores = top_scores + hits_stop.to(torch.float32) * _NEG
        best = torch.topk(running_scores, k=self.num_beams)[1]
        self.running = _gather(sequences, best)
        self.running_scores = _gather(running_scores, best)
        self.running_indices = _gather(indices, best)
        # Finished pool: merge candidates that just stopped (only the top num_beams count).
        just_finished = hits_stop & self.top_mask[None, :]
        scores = top_scores / ((length + 1 - self.prompt_len) ** length_penalty)
        full = self.is_finished.all(dim=-1, keepdim=True) & (early_stopping is True)
        scores = scores + full.to(torch.float32) * _NEG + (~self.can_improve).to(torch.float32) * _NEG
        scores = scores + (~just_finished) * _NEG
        merged_scores = torch.cat((self.finished_scores, scores), dim=1)
        best = torch.topk(merged_scores, k=self.num_beams)[1]
        self.finished = _gather(torch.cat((self.finished, sequences), dim=1), best)
        self.finished_scores = _gather(merged_scores, best)
        self.finished_indices = _gather(torch.cat((self.finished_indices, indices), dim=1), best)
        self.is_finished = _gather(torch.cat((self.is_finished, just_finished), dim=1), best)

    def update_can_improve(self, length, max_length, early_stopping, length_penalty):
        """Could a running beam still beat the worst finished one? (Transformers' heuristic.)"""
        if early_stopping == "never" and length_penalty > 0.0:
            best_length = max_length - self.prompt_len
        else:
            best_length = length - self.prompt_len
        best_running = self.running_scores[:, :1] / (best_length ** length_penalty)
        worst_finished = torch.where(self.is_finished, self.finished_scores.min(dim=1, keepdim=True)[0], -1.0e9)
        self.can_improve = self.can_improve & (best_running > worst_finished).any(dim=-1, keepdim=True)

    def done(self, hits_stop, early_stopping) -> bool:
        improvable = bool(self.can_improve.any())
        open_beam = not (bool(self.is_finished.all()) and early_stopping is True)
        return not (improvable and open_beam and not bool(hits_stop.all()))


def beam_search(model, input_ids, processors, criteria, config, pad_id, eos, model_kwargs):
    from .utils import _Buffers, _Recorder

    num_beams, max_length = config.num_beams, config.max_length
    flat_batch, prompt_len = input_ids.shape
    batch = flat_batch // num_beams
    # Transformers' fill value for unused positions: `(pad or eos[0]) if eos else -1`.
    fill = (pad_id if pad_id else int(eos[0])) if eos is not None else -1
    state = _BeamState(input_ids, batch, num_beams, max_length, fill, 0 if eos is None else eos.shape[0])
    buffers = _Buffers(input_ids, model_kwargs, max_length)
    record = _Recorder(config, model.config.is_encoder_decoder)
    step_kwargs = dict(model_kwargs)
    length = prompt_len
    while True:
        buffers.fill(step_kwargs, length)
        flat_sequences = state.running[:, :, :length].reshape(flat_batch, length)
        inputs = model.prepare_inputs_for_generation(flat_sequences, **step_kwargs)
        outputs = model(**inputs, return_dict=True)
        if getattr(outputs, "past_key_values", None) is not None and "past_key_values" in step_kwargs:
            step_kwargs["past_key_values"] = outputs.past_key_values
        step_kwargs.pop("inputs_embeds", None)
        logits = outputs.logits[:, -1, :].to(dtype=torch.float32, copy=True)
        log_probs = processors(flat_sequences, logits.log_softmax(dim=-1))
        record.step(outputs, logits, log_probs)
        del outputs
        log_probs = log_probs.view(batch, num_beams, -1) + state.running_scores[:, :, None]
        top_scores, sequences, indices = state.candidates(log_probs.view(batch, -1), length, config.do_sample)
        hits_stop = criteria(sequences[:, :, : length + 1].reshape(batch * state.keep, length + 1), record.scores)
        hits_stop = hits_stop.view(batch, state.keep)
        state.advance(top_scores, sequences, indices, hits_stop, length, config.length_penalty, config.early_stopping)
        cache = step_kwargs.get("past_key_values")
        if cache is not None:
            beam_idx = state.running_indices[..., length - prompt_len].reshape(-1).long()
            step_kwargs["past_key_values"] = model._reorder_cache_for_beams(cache, beam_idx)
        length += 1
        state.update_can_improve(length, max_length, config.early_stopping, config.length_penalty)
        if state.done(hits_stop, config.early_stopping):
            break
    return _finish(state, config, record, step_kwargs, model_kwargs, model.config.is_encoder_decoder)


def _finish(state, config, record, step_kwargs, model_kwargs, is_encoder_decoder):
    returns = config.num_return_sequences
    sequences = state.finished[:, :returns].reshape(-1, state.finished.shape[-1])
    scores = state.finished_scores[:, :returns].reshape(-1)
    indices = state.finished_indices[:, :returns].reshape(-1, state.finished_indices.shape[-1])
    generated = int((indices + 1).bool().sum(dim=1).max())
    sequences = sequences[:, : state.prompt_len + generated]
    indices = indices[:, :generated]
    if not config.return_dict_in_generate:
        return sequences
    common = dict(
        sequences=sequences,
        sequences_scores=scores if config.output_scores else None,
        scores=record.scores,
        logits=record.logits,
        beam_indices=indices,
        past_key_values=step_kwargs.get("past_key_values"),
    )
    if is_encoder_decoder:
        encoder_outputs = model_kwargs["encoder_outputs"]
        return GenerateBeamEncoderDecoderOutput(
            **common,
            encoder_attentions=encoder_outputs.get("attentions") if record.attentions is not None else None,
            encoder_hidden_states=encoder_outputs.get("hidden_states") if record.hidden is not None else None,
            decoder_attentions=record.attentions,
            cross_attentions=record.cross,
            decoder_hidden_states=record.hidden,
        )
    return GenerateBeamDecoderOnlyOutput(**common, attentions=record.attentions, hidden_states=record.hidden)
