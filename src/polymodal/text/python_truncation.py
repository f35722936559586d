"""Pair truncation the way Transformers' Python tokenizers do it, for tokenizers whose reference is one.

With ``truncation="longest_first"`` both libraries first cut the longer text down to the other's
length and then share the remaining cut; when that cut is odd, Transformers' Python tokenizers
always take the extra token from the second text, the Rust library from the first unless the first
is the longer. Mixing this in before ``PreTrainedTokenizerFast`` gives the Python reference's ids;
every other call is unchanged.
"""

from __future__ import annotations

from ..core.errors import InvalidInputError
from .encoding import BatchEncoding, _check_text


def python_longest_first(first: int, second: int, budget: int) -> tuple[int, int]:
    """Tokens kept of each text when ``first + second`` must fit in ``budget`` (Transformers' Python rule)."""
    remove = first + second - budget
    if remove <= 0:
        return first, second
    first_remove = min(abs(second - first), remove)
    shared = remove - first_remove
    if first > second:
        cut_first, cut_second = first_remove + shared // 2, shared - shared // 2
    else:
        cut_first, cut_second = shared // 2, first_remove + shared - shared // 2
    return max(first - cut_first, 0), max(second - cut_second, 0)


class PythonPairTruncationMixin:
    """``_encode_plus`` for text pairs under ``longest_first``; other calls go to the next class."""

    def _encode_plus(self, text, text_pair=None, **options):
        if (text_pair is None or options.get("truncation_strategy") != "longest_first"
                or options.get("max_length") is None or options.get("is_split_into_words")
                or options.get("return_overflowing_tokens")):
            return super()._encode_plus(text, text_pair, **options)
        _check_text(text, "text")
        _check_text(text_pair, "text_pair")
        batched = isinstance(text, (list, tuple))
        firsts, seconds = (list(text), list(text_pair)) if batched else ([text], [text_pair])
        if isinstance(text_pair, str) and batched or len(firsts) != len(seconds):
            raise InvalidInputError("text_pair must be a list with one entry per text of the batch.")
        encodings = self._truncated_pairs(firsts, seconds, options)
        self._pad_encodings(encodings, options)
        data, flat = self._collect(encodings, options.get("return_token_type_ids"),
                                   options.get("return_attention_mask"), False,
                                   options.get("return_special_tokens_mask", False),
                                   options.get("return_offsets_mapping", False), options.get("return_length", False))
        output = BatchEncoding(data, flat, tensor_type=options.get("return_tensors"))
        if not batched and options.get("return_tensors") is None:
            output = BatchEncoding({k: (v[0] if v and isinstance(v[0], list) else v) for k, v in output.items()},
                                   output.encodings)
        return output

    def _truncated_pairs(self, firsts, seconds, options) -> list:
        backend, special = self._tokenizer, options.get("add_special_tokens", True)
        self._configure("do_not_pad", "do_not_truncate", None, 0, None, None)
        backend.encode_special_tokens = bool(options.get("split_special_tokens", False))
        budget = options["max_length"] - (self.num_special_tokens_to_add(pair=True) if special else 0)
        encodings = []
        for one, two in zip(backend.encode_batch(firsts, add_special_tokens=False),
                            backend.encode_batch(seconds, add_special_tokens=False)):
            keep_one, keep_two = python_longest_first(len(one.ids), len(two.ids), budget)
            one.truncate(keep_one, direction=self.truncation_side)
            two.truncate(keep_two, direction=self.truncation_side)
            encodings.append(backend.post_process(one, two, add_special_tokens=special))
        return encodings

    def _pad_encodings(self, encodings: list, options) -> None:
        strategy = options.get("padding_strategy", "do_not_pad")
        if strategy == "do_not_pad" or not encodings:
            return
        length = options["max_length"] if strategy == "max_length" else max(len(e.ids) for e in encodings)
        multiple = options.get("pad_to_multiple_of")
        if multiple:
            length = -(-length // multiple) * multiple
        for encoding in encodings:
            encoding.pad(length, pad_id=self.pad_token_id, pad_type_id=self.pad_token_type_id,
                         pad_token=str(self.pad_token), direction=options.get("padding_side") or self.padding_side)


__all__ = ["PythonPairTruncationMixin", "python_longest_first"]
