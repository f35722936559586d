"""CodeGen's tokenizer: GPT-2's byte-level BPE (CodeGen's vocabulary adds runs of spaces and tabs
as tokens, which needs no code). ``decode(..., truncate_before_pattern=[regex, …])`` cuts a
completion where one of the patterns (e.g. ``"^#"``, ``"\\n\\n\\n"``) first matches, as Transformers' does."""

from __future__ import annotations

import re

from ..gpt2.tokenization import GPT2Tokenizer


class CodeGenTokenizer(GPT2Tokenizer):
    def decode(self, token_ids, skip_special_tokens=False, clean_up_tokenization_spaces=None,
               truncate_before_pattern=None, **kwargs):
        text = super().decode(token_ids, skip_special_tokens=skip_special_tokens,
                              clean_up_tokenization_spaces=clean_up_tokenization_spaces, **kwargs)
        if truncate_before_pattern:
            text = _truncate(text, truncate_before_pattern)
        return text


def _truncate(completion: str, patterns) -> str:
    """The reference's rule: stop before a second top-level ``print``/``def``, and before the first
    match of any pattern."""
    def first_match(regex, start=0):
        found = regex.search(completion, start)
        return found.start() if found else -1

    terminals = [re.compile(p, re.MULTILINE) for p in patterns]
    prints = list(re.finditer("^print", completion, re.MULTILINE))
    if len(prints) > 1:
        completion = completion[: prints[1].start()]
    defs = list(re.finditer("^def", completion, re.MULTILINE))
    if len(defs) > 1:
        completion = completion[: defs[1].start()]
    positions = [pos for pos in (first_match(t) for t in terminals) if pos != -1]
    return completion[: min(positions)] if positions else completion


CodeGenTokenizerFast = CodeGenTokenizer

__all__ = ["CodeGenTokenizer", "CodeGenTokenizerFast"]
