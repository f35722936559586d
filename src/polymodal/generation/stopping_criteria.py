"""Stopping criteria: each maps ``(input_ids (B, T), scores) -> (B,)`` bool "this row is done"."""

from __future__ import annotations

import time

import torch

from ..core.errors import InvalidInputError


class StoppingCriteria:
    def __call__(self, input_ids: torch.LongTensor, scores=None, **kwargs) -> torch.BoolTensor:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(input_ids, scores).")


class StoppingCriteriaList(list):
    """Rows are done when any criterion says so."""

    def __call__(self, input_ids: torch.LongTensor, scores=None, **kwargs) -> torch.BoolTensor:
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for criterion in self:
            done = done | criterion(input_ids, scores, **kwargs)
        return done

    @property
    def max_length(self) -> int | None:
        for criterion in self:
            if isinstance(criterion, MaxLengthCriteria):
                return criterion.max_length
        return None


class MaxLengthCriteria(StoppingCriteria):
    """Stop at ``max_length`` tokens (prompt included)."""

    def __init__(self, max_length: int, max_position_embeddings: int | None = None):
        self.max_length, self.max_position_embeddings = max_length, max_position_embeddings

    def __call__(self, input_ids, scores=None, **kwargs):
        done = input_ids.shape[-1] >= self.max_length
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


class MaxTimeCriteria(StoppingCriteria):
    """Stop every row once ``max_time`` seconds have passed since ``initial_timestamp``."""

    def __init__(self, max_time: float, initial_timestamp: float | None = None):
        self.max_time = max_time
        self.initial_timestamp = time.time() if initial_timestamp is None else initial_timestamp

    def __call__(self, input_ids, scores=None, **kwargs):
        done = time.time() - self.initial_timestamp > self.max_time
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


class EosTokenCriteria(StoppingCriteria):
    """A row is done when its last token is one of ``eos_token_id``."""

    def __init__(self, eos_token_id):
        if isinstance(eos_token_id, int):
            eos_token_id = [eos_token_id]
        self.eos_token_id = torch.as_tensor(eos_token_id, dtype=torch.long)

    def __call__(self, input_ids, scores=None, **kwargs):
        return torch.isin(input_ids[:, -1], self.eos_token_id.to(input_ids.device))


class StopStringCriteria(StoppingCriteria):
    """A row is done when its last token completes one of ``stop_strings`` in the decoded text.

    Only the tail of each row is decoded: enough tokens to hold the longest stop string (a
    token holds at least one character), so the check costs the same at every step.
    """

    def __init__(self, tokenizer, stop_strings):
        if isinstance(stop_strings, str):
            stop_strings = [stop_strings]
        if not stop_strings or any(not isinstance(s, str) or not s for s in stop_strings):
            raise InvalidInputError(f"stop_strings must be a non-empty string or list of them, got {stop_strings!r}.")
        if tokenizer is None:
            raise InvalidInputError("stop_strings need the tokenizer: call generate(..., tokenizer=tokenizer).")
        self.tokenizer, self.stop_strings = tokenizer, list(stop_strings)
        self._window = max(len(s) for s in self.stop_strings) + 1

    def __call__(self, input_ids, scores=None, **kwargs):
        done = [self._row_done(row) for row in input_ids[:, -self._window:].tolist()]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    def _row_done(self, ids: list[int]) -> bool:
        before = self.tokenizer.decode(ids[:-1])
        text = self.tokenizer.decode(ids)
        for stop in self.stop_strings:
            # The occurrence must end inside the text the last token added.
            if text.find(stop, max(0, len(before) - len(stop) + 1)) != -1:
                return True
        return False
