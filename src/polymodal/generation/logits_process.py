"""Logits processors: each maps ``(input_ids (B, T), scores (B, V)) -> scores (B, V)``.

Names, arguments and maths follow Transformers' ``generation/logits_process.py`` so that the
same settings give the same token ids (sampling draws from the same distribution). The
"warpers" (temperature, top-k, top-p, typical, epsilon, eta, min-p) only run when sampling.
"""

from __future__ import annotations

import math

import torch

from ..core.errors import InvalidInputError


def _as_id_tensor(token_ids, device=None) -> torch.Tensor:
    if isinstance(token_ids, torch.Tensor):
        return token_ids.to(device) if device is not None else token_ids
    if isinstance(token_ids, int):
        token_ids = [token_ids]
    return torch.tensor(list(token_ids), device=device, dtype=torch.long)


def _vocab_mask(scores: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
    """``(V,)`` bool mask, True at ``token_ids``."""
    return torch.isin(torch.arange(scores.shape[-1], device=scores.device), token_ids.to(scores.device))


class LogitsProcessor:
    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(input_ids, scores).")


LogitsWarper = LogitsProcessor  # Transformers 4.x name


class LogitsProcessorList(list):
    """A list of processors applied in order."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.FloatTensor:
        for processor in self:
            scores = processor(input_ids, scores, **kwargs) if kwargs else processor(input_ids, scores)
        return scores


# --------------------------------------------------------------------------- warpers (sampling)
class TemperatureLogitsWarper(LogitsProcessor):
    def __init__(self, temperature: float):
        if not isinstance(temperature, (float, int)) or not temperature > 0:
            raise InvalidInputError(
                f"temperature must be a float > 0, got {temperature!r}. For greedy decoding set do_sample=False."
            )
        self.temperature = float(temperature)

    def __call__(self, input_ids, scores):
        return scores / self.temperature


class TopKLogitsWarper(LogitsProcessor):
    """Keep the ``top_k`` highest scores (ties with the k-th kept too)."""

    def __init__(self, top_k: int, filter_value: float = -float("inf"), min_tokens_to_keep: int = 1):
        if not isinstance(top_k, int) or top_k <= 0:
            raise InvalidInputError(f"top_k must be a positive int, got {top_k!r}.")
        self.top_k = max(top_k, min_tokens_to_keep)
        self.filter_value = filter_value

    def __call__(self, input_ids, scores):
        k = min(self.top_k, scores.shape[-1])
        kth = torch.topk(scores, k)[0][..., -1, None]
        return scores.masked_fill(scores < kth, self.filter_value)


class TopPLogitsWarper(LogitsProcessor):
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches ``top_p``."""

    def __init__(self, top_p: float, filter_value: float = -float("inf"), min_tokens_to_keep: int = 1):
        top_p = float(top_p)
        if not 0.0 <= top_p <= 1.0:
            raise InvalidInputError(f"top_p must be in [0, 1], got {top_p!r}.")
        self.top_p, self.filter_value, self.min_tokens_to_keep = top_p, filter_value, min_tokens_to_keep

    def __call__(self, input_ids, scores):
        # Ascending sort: the tokens whose cumulative mass stays under 1 - top_p are dropped.
        sorted_logits, sorted_indices = torch.sort(scores, descending=False)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove_sorted = cumulative <= (1 - self.top_p)
        remove_sorted[..., -self.min_tokens_to_keep:] = False
        remove = remove_sorted.scatter(1, sorted_indices, remove_sorted)
        return scores.masked_fill(remove, self.filter_value)


class MinPLogitsWarper(LogitsProcessor):
    """Drop tokens whose probability is below ``min_p`` times the top token's."""

    def __init__(self, min_p: float, filter_value: float = -float("inf"), min_tokens_to_keep: int = 1):
        if not 0.0 <= min_p <= 1.0:
            raise InvalidInputError(f"min_p must be in [0, 1], got {min_p!r}.")
        self.min_p, self.filter_value, self.min_tokens_to_keep = min_p, filter_value, min_tokens_to_keep

    def __call__(self, input_ids, scores):
        probs = scores.softmax(dim=-1)
        remove = probs < self.min_p * probs.amax(dim=-1, keepdim=True)
        keep = torch.topk(probs, min(self.min_tokens_to_keep, probs.shape[-1]), dim=-1).indices
        remove.scatter_(-1, keep, False)
        return scores.masked_fill(remove, self.filter_value)


class TypicalLogitsWarper(LogitsProcessor):
    """Locally typical sampling (Meister et al. 2022): keep tokens whose surprise is near the entropy."""

    def __init__(self, mass: float = 0.9, filter_value: float = -float("inf"), min_tokens_to_keep: int = 1):
        mass = float(mass)
        if not 0.0 < mass < 1.0:
            raise InvalidInputError(f"typical_p must be in (0, 1), got {mass!r}.")
        self.mass, self.filter_value, self.min_tokens_to_keep = mass, filter_value, min_tokens_to_keep

    def __call__(self, input_ids, scores):
        log_probs = scores.log_softmax(dim=-1)
        entropy = -(log_probs * log_probs.exp()).nansum(-1, keepdim=True)
        distance = (-log_probs - entropy).abs()
        sorted_distance, sorted_indices = torch.sort(distance, descending=False)
        cumulative = scores.gather(-1, sorted_indices).softmax(dim=-1).cumsum(dim=-1)
        last = (cumulative < self.mass).sum(dim=1).clamp_(max=sorted_distance.shape[-1] - 1)
        remove_sorted = sorted_distance > sorted_distance.gather(1, last.view(-1, 1))
        remove_sorted[..., : self.min_tokens_to_keep] = False
        remove = remove_sorted.scatter(1, sorted_indices, remove_sorted)
        return scores.masked_fill(remove, self.filter_value)


class EpsilonLogitsWarper(LogitsProcessor):
    """Truncation sampling (Hewitt et al. 2022): drop tokens with probability below ``epsilon``."""

    def __init__(self, epsilon: float, filter_value: float = -float("inf"), min_tokens_to_keep: int = 1):
        epsilon = float(epsilon)
        if not 0.0 < epsilon < 1.0:
            raise InvalidInputError(f"epsilon_cutoff must be in (0, 1), got {epsilon!r}.")
        self.epsilon, self.filter_value, self.min_tokens_to_keep = epsilon, filter_value, int(min_tokens_to_keep)

    def _cutoff(self, scores):
        return self.epsilon

    def __call__(self, input_ids, scores):
        remove = scores.softmax(dim=-1) < self._cutoff(scores)
        kth = torch.topk(scores, min(self.min_tokens_to_keep, scores.shape[-1]))[0][..., -1, None]
        return scores.masked_fill(remove & (scores < kth), self.filter_value)


class EtaLogitsWarper(EpsilonLogitsWarper):
    """Eta sampling: the epsilon cutoff shrinks with the distribution's entropy."""

    def __init__(self, epsilon: float, filter_value: float = -float("inf"), min_tokens_to_keep: int = 1, device="cpu"):
        super().__init__(epsilon, filter_value, min_tokens_to_keep)
        self.epsilon = torch.tensor(self.epsilon, device=device)

    def _cutoff(self, scores):
        entropy = torch.distributions.Categorical(logits=scores).entropy()
        return torch.min(self.epsilon, self.epsilon.sqrt() * torch.exp(-entropy))[..., None]


# --------------------------------------------------------------------------- processors
class RepetitionPenaltyLogitsProcessor(LogitsProcessor):
    """CTRL's penalty: divide positive (multiply negative) scores of tokens already in the sequence.

    ``prompt_ignore_length`` (an int, or one per row) skips that many leading positions — the
    left padding of a batch.
    """

    def __init__(self, penalty: float, prompt_ignore_length: int | torch.Tensor | None = None):
        if not penalty > 0:
            raise InvalidInputError(f"repetition_penalty must be > 0, got {penalty!r}.")
        self.penalty, self.prompt_ignore_length = float(penalty), prompt_ignore_length

    def __call__(self, input_ids, scores):
        vocab = scores.shape[-1]
        ignore = self.prompt_ignore_length
        if isinstance(ignore, int):
            input_ids = input_ids[:, ignore:]
        elif isinstance(ignore, torch.Tensor):
            positions = torch.arange(input_ids.shape[1], device=input_ids.device)
            input_ids = input_ids.masked_fill(positions[None, :] < ignore.to(input_ids.device)[:, None], vocab)
        # An extra column absorbs the ignored positions (id == vocab).
        padded = torch.nn.functional.pad(scores, (0, 1))
        ids = input_ids.clamp(max=vocab)
        picked = padded.gather(1, ids)
        picked = torch.where(picked < 0, picked * self.penalty, picked / self.penalty)
        return padded.scatter(1, ids, picked)[..., :vocab]


class NoRepeatNGramLogitsProcessor(LogitsProcessor):
    """Forbid any token that would repeat an n-gram already in the sequence."""

    def __init__(self, ngram_size: int):
        if not isinstance(ngram_size, int) or ngram_size <= 0:
            raise InvalidInputError(f"no_repeat_ngram_size must be a positive int, got {ngram_size!r}.")
        self.ngram_size = ngram_size

    def __call__(self, input_ids, scores):
        length, n = input_ids.shape[-1], self.ngram_size
        if length < n:
            return scores
        prefix = input_ids[:, length + 1 - n:]  # (B, n-1): the n-gram being continued
        windows = input_ids.unfold(1, n, 1)  # (B, L-n+1, n)
        matches = (windows[..., :-1] == prefix.unsqueeze(1)).all(dim=-1)
        vocab = scores.shape[-1]
        banned = scores.new_zeros((scores.shape[0], vocab + 1), dtype=torch.bool)
        banned.scatter_(1, torch.where(matches, windows[..., -1].clamp(max=vocab), vocab), True)
        return scores.masked_fill(banned[:, :vocab], -float("inf"))


class SequenceBiasLogitsProcessor(LogitsProcessor):
    """Add a bias to a token when it would complete a given token sequence.

    ``sequence_bias`` is ``{(ids…): bias}`` or the JSON-friendly ``[[[ids…], bias], …]``.
    """

    def __init__(self, sequence_bias):
        if isinstance(sequence_bias, list):
            try:
                sequence_bias = {tuple(ids): float(bias) for ids, bias in sequence_bias}
            except (TypeError, ValueError) as err:
                raise InvalidInputError(
                    f"sequence_bias as a list must look like [[[token ids], bias], ...], got {sequence_bias!r}."
                ) from err
        if not isinstance(sequence_bias, dict) or not sequence_bias:
            raise InvalidInputError(f"sequence_bias must be a non-empty dict {{(ids...): bias}}, got {sequence_bias!r}.")
        for ids, bias in sequence_bias.items():
            if not isinstance(ids, tuple) or not ids or any(not isinstance(i, int) or i < 0 for i in ids):
                raise InvalidInputError(f"sequence_bias keys must be non-empty tuples of token ids, got {ids!r}.")
            if not isinstance(bias, float):
                raise InvalidInputError(f"sequence_bias values must be floats, got {bias!r} for {ids}.")
        self.sequence_bias = sequence_bias
        self._prepared = None

    def _prepare(self, scores):
        vocab = scores.shape[-1]
        too_large = sorted({i for ids in self.sequence_bias for i in ids if i >= vocab})
        if too_large:
            raise InvalidInputError(f"Token ids {too_large} in sequence_bias/bad_words_ids are >= the vocabulary size {vocab}.")
        single = torch.zeros(vocab, dtype=torch.float, device=scores.device)
        groups: dict[int, list] = {}
        for ids, bias in self.sequence_bias.items():
            if len(ids) == 1:
                single[ids[0]] = bias
            else:
                groups.setdefault(len(ids) - 1, []).append((ids, bias))
        multi = [
            (
                torch.tensor([ids[:-1] for ids, _ in group], device=scores.device),
                torch.tensor([ids[-1] for ids, _ in group], device=scores.device),
                torch.tensor([bias for _, bias in group], dtype=torch.float, device=scores.device),
            )
            for group in groups.values()
        ]
        self._prepared = (single, multi)

    def __call__(self, input_ids, scores):
        if self._prepared is None:
            self._prepare(scores)
        single, multi = self._prepared
        bias = torch.zeros_like(scores) + single
        for prefixes, last_tokens, biases in multi:
            width = prefixes.shape[1]
            if width > input_ids.shape[1]:
                continue
            matching = (input_ids[:, None, -width:] == prefixes).all(dim=-1)  # (B, n_sequences)
            bias.index_add_(1, last_tokens, torch.where(matching, biases, 0.0).to(bias.dtype))
        return scores + bias


class NoBadWordsLogitsProcessor(SequenceBiasLogitsProcessor):
    """Forbid token sequences (``bad_words_ids=[[ids…], …]``); a lone EOS is never banned."""

    def __init__(self, bad_words_ids, eos_token_id=None):
        if not isinstance(bad_words_ids, list) or not bad_words_ids or any(not isinstance(s, list) for s in bad_words_ids):
            raise InvalidInputError(f"bad_words_ids must be a non-empty list of lists of token ids, got {bad_words_ids!r}.")
        if eos_token_id is not None:
            eos = _as_id_tensor(eos_token_id).tolist()
            bad_words_ids = [seq for seq in bad_words_ids if all(seq != [i] for i in eos)]
        self.bad_words_ids = bad_words_ids
        super().__init__({tuple(seq): float("-inf") for seq in bad_words_ids})


class MinLengthLogitsProcessor(LogitsProcessor):
    """Forbid EOS while the whole sequence (prompt included) is shorter than ``min_length``."""

    def __init__(self, min_length: int, eos_token_id, device="cpu"):
        self.min_length, self.eos_token_id = min_length, _as_id_tensor(eos_token_id, device)

    def __call__(self, input_ids, scores):
        if input_ids.shape[-1] < self.min_length:
            return torch.where(_vocab_mask(scores, self.eos_token_id), -math.inf, scores)
        return scores


class MinNewTokensLengthLogitsProcessor(LogitsProcessor):
    """Forbid EOS until ``min_new_tokens`` tokens follow the prompt."""

    def __init__(self, prompt_length_to_skip: int, min_new_tokens: int, eos_token_id, device="cpu"):
        self.prompt_length_to_skip, self.min_new_tokens = prompt_length_to_skip, min_new_tokens
        self.eos_token_id = _as_id_tensor(eos_token_id, device)

    def __call__(self, input_ids, scores):
        if input_ids.shape[-1] - self.prompt_length_to_skip < self.min_new_tokens:
            return torch.where(_vocab_mask(scores, self.eos_token_id), -math.inf, scores)
        return scores


class ForcedBOSTokenLogitsProcessor(LogitsProcessor):
    """Force ``bos_token_id`` as the first generated token (after a 1-token decoder start)."""

    def __init__(self, bos_token_id: int):
        self.bos_token_id = bos_token_id

    def __call__(self, input_ids, scores):
        if input_ids.shape[-1] != 1:
            return scores
        forced = torch.full_like(scores, -math.inf)
        forced[:, self.bos_token_id] = 0
        return forced


class ForcedEOSTokenLogitsProcessor(LogitsProcessor):
    """Force EOS as the last token when ``max_length`` is reached."""

    def __init__(self, max_length: int, eos_token_id, device="cpu"):
        self.max_length, self.eos_token_id = max_length, _as_id_tensor(eos_token_id, device)

    def __call__(self, input_ids, scores):
        if input_ids.shape[-1] != self.max_length - 1:
            return scores
        forced = torch.full_like(scores, -math.inf)
        forced[:, self.eos_token_id] = 0
        return forced


class SuppressTokensLogitsProcessor(LogitsProcessor):
    def __init__(self, suppress_tokens, device="cpu"):
        self.suppress_tokens = _as_id_tensor(list(suppress_tokens), device)

    def __call__(self, input_ids, scores):
        return torch.where(_vocab_mask(scores, self.suppress_tokens), -float("inf"), scores)


class SuppressTokensAtBeginLogitsProcessor(LogitsProcessor):
    """Suppress tokens only at the first generated position (``begin_index``)."""

    def __init__(self, begin_suppress_tokens, begin_index: int, device="cpu"):
        self.begin_suppress_tokens = _as_id_tensor(list(begin_suppress_tokens), device)
        self.begin_index = begin_index

    def set_begin_index(self, begin_index: int) -> None:
        self.begin_index = begin_index

    def __call__(self, input_ids, scores):
        if input_ids.shape[-1] == self.begin_index:
            return torch.where(_vocab_mask(scores, self.begin_suppress_tokens), -float("inf"), scores)
        return scores


class InfNanRemoveLogitsProcessor(LogitsProcessor):
    """Replace NaN by 0 and ±inf by the dtype's extremes, so sampling never fails."""

    def __call__(self, input_ids, scores):
        info = torch.finfo(scores.dtype)
        out = torch.where(scores != scores, 0.0, scores)
        out = torch.where(scores == float("inf"), info.max, out)
        return torch.where(scores == -float("inf"), info.min, out)


class ExponentialDecayLengthPenalty(LogitsProcessor):
    """Raise the EOS score exponentially after ``start`` new tokens: ``(start, factor)``."""

    def __init__(self, exponential_decay_length_penalty, eos_token_id, input_ids_seq_length: int):
        self.regulation_start = exponential_decay_length_penalty[0] + input_ids_seq_length
        self.regulation_factor = exponential_decay_length_penalty[1]
        self.eos_token_id = _as_id_tensor(eos_token_id)

    def __call__(self, input_ids, scores):
        length = input_ids.shape[-1]
        if length <= self.regulation_start:
            return scores
        eos = self.eos_token_id.to(scores.device)
        penalty = scores[:, eos].abs() * (pow(self.regulation_factor, length - self.regulation_start) - 1)
        penalties = torch.zeros_like(scores)
        penalties[:, eos] = penalty.masked_fill(~torch.isfinite(scores[:, eos]), 0.0)
        return scores + penalties


class LogitNormalization(LogitsProcessor):
    """Log-softmax the final scores (``renormalize_logits=True``)."""

    def __call__(self, input_ids, scores):
        return scores.log_softmax(dim=-1)
