"""Padding and truncation: Transformers' argument rules and the one ``pad`` routine."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..core.errors import InvalidInputError
from .encoding import BatchEncoding, _to_py

# Transformers' "no limit" value for model_max_length (int(1e30)); written back verbatim.
VERY_LARGE_INTEGER = int(1e30)
LARGE_INTEGER = int(1e20)

_PADDING = ("longest", "max_length", "do_not_pad")
_TRUNCATION = ("longest_first", "only_first", "only_second", "do_not_truncate")


def _padding_strategy(padding) -> str:
    padding = getattr(padding, "value", padding)
    if padding is True:
        return "longest"
    if padding is False or padding is None:
        return "do_not_pad"
    if padding not in _PADDING:
        raise InvalidInputError(f"padding={padding!r} is not one of True, False, {', '.join(map(repr, _PADDING))}.")
    return padding


def _truncation_strategy(truncation) -> str:
    truncation = getattr(truncation, "value", truncation)
    if truncation is True:
        return "longest_first"
    if truncation is False or truncation is None:
        return "do_not_truncate"
    if truncation not in _TRUNCATION:
        raise InvalidInputError(
            f"truncation={truncation!r} is not one of True, False, {', '.join(map(repr, _TRUNCATION))}."
        )
    return truncation


class PaddingMixin:
    """``_resolve_strategies`` (how padding/truncation/max_length combine) and ``pad``."""

    def _resolve_strategies(self, padding, truncation, max_length, pad_to_multiple_of):
        """Transformers' rules for combining padding / truncation / max_length."""
        if max_length is not None and padding is False and truncation is None:
            truncation = "longest_first"  # max_length alone means "truncate to it"
        padding = _padding_strategy(padding)
        truncation = _truncation_strategy(truncation)
        if max_length is None:
            if padding == "max_length":
                if self.model_max_length > LARGE_INTEGER:
                    padding = "do_not_pad"
                else:
                    max_length = self.model_max_length
            if truncation != "do_not_truncate":
                if self.model_max_length > LARGE_INTEGER:
                    truncation = "do_not_truncate"
                else:
                    max_length = self.model_max_length
        if padding != "do_not_pad" and (self.pad_token is None or (self.pad_token_id or 0) < 0):
            raise InvalidInputError(
                "Asking to pad but the tokenizer has no pad token. Set one, e.g. "
                "tokenizer.pad_token = tokenizer.eos_token."
            )
        if (truncation != "do_not_truncate" and padding != "do_not_pad" and pad_to_multiple_of
                and max_length is not None and max_length % pad_to_multiple_of):
            raise InvalidInputError(
                f"Truncation length ({max_length}) is not a multiple of pad_to_multiple_of ({pad_to_multiple_of})."
            )
        return padding, truncation, max_length

    def pad(self, encoded_inputs, padding=True, max_length=None, pad_to_multiple_of=None, padding_side=None,
            return_attention_mask=None, return_tensors=None, verbose: bool = True) -> BatchEncoding:
        """Pad already-encoded inputs (a dict of lists, or a list of dicts as a collator gets)."""
        if isinstance(encoded_inputs, (list, tuple)) and encoded_inputs and isinstance(encoded_inputs[0], Mapping):
            encoded_inputs = {key: [example[key] for example in encoded_inputs] for key in encoded_inputs[0]}
        if not isinstance(encoded_inputs, Mapping):
            raise InvalidInputError(
                f"pad() expects a dict of encoded inputs or a list of such dicts, got {type(encoded_inputs).__name__}."
            )
        main = self.model_input_names[0]
        if main not in encoded_inputs:
            raise InvalidInputError(f"pad() needs '{main}' in its input; got keys {list(encoded_inputs)}.")
        encoded_inputs = dict(encoded_inputs)
        first = encoded_inputs[main]
        if return_tensors is None:  # keep the input's tensor type, as Transformers does
            probe = first[0] if isinstance(first, (list, tuple)) and len(first) else first
            if hasattr(probe, "detach"):
                return_tensors = "pt"
            elif isinstance(probe, np.ndarray) or isinstance(first, np.ndarray):
                return_tensors = "np"
        encoded_inputs = {k: _to_py(v) for k, v in encoded_inputs.items()}
        if len(encoded_inputs[main]) == 0:
            if return_attention_mask:
                encoded_inputs["attention_mask"] = []
            return BatchEncoding(encoded_inputs)
        strategy, _, max_length = self._resolve_strategies(padding, False, max_length, None)
        rows = encoded_inputs[main]
        if not isinstance(rows[0], (list, tuple)):  # a single example
            out = self._pad_one(encoded_inputs, max_length, strategy, pad_to_multiple_of, padding_side,
                                return_attention_mask)
            return BatchEncoding(out, tensor_type=return_tensors)
        if strategy == "longest":
            max_length, strategy = max(len(r) for r in rows), "max_length"
        batch: dict[str, list] = {}
        for i in range(len(rows)):
            one = self._pad_one({k: v[i] for k, v in encoded_inputs.items()}, max_length, strategy,
                                pad_to_multiple_of, padding_side, return_attention_mask)
            for key, value in one.items():
                batch.setdefault(key, []).append(value)
        return BatchEncoding(batch, tensor_type=return_tensors)

    def _pad_one(self, inputs: dict, max_length, strategy, pad_to_multiple_of, padding_side, return_attention_mask):
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        main = self.model_input_names[0]
        ids = list(inputs[main])
        if strategy == "longest":
            max_length = len(ids)
        if max_length is not None and pad_to_multiple_of and max_length % pad_to_multiple_of:
            max_length = (max_length // pad_to_multiple_of + 1) * pad_to_multiple_of
        out = dict(inputs)
        if return_attention_mask and "attention_mask" not in out:
            out["attention_mask"] = [1] * len(ids)
        missing = 0 if strategy == "do_not_pad" or max_length is None else max_length - len(ids)
        if missing <= 0:
            return out
        side = padding_side or self.padding_side
        fills = {main: self.pad_token_id, "attention_mask": 0, "token_type_ids": self.pad_token_type_id,
                 "special_tokens_mask": 1, "offset_mapping": (0, 0)}  # offsets: polymodal pads them too
        for key, fill in fills.items():
            if key in out and (key != "attention_mask" or return_attention_mask):
                pad = [fill] * missing
                out[key] = list(out[key]) + pad if side == "right" else pad + list(out[key])
        return out
