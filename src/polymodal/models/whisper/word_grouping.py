"""Grouping Whisper's tokens into words, for word-level timestamps.

Byte-level BPE tokens are first joined until they decode to whole characters (a multi-byte
character can span tokens); languages written without spaces keep each character group as a
"word", others start a new word at a leading space or a punctuation mark. Opening punctuation is
then attached to the word after it and closing punctuation to the word before it (OpenAI's sets).
A word's time runs from the start of its first token to the end of its last. These are
Transformers' rules, so the words (and their times) are the same.
"""

from __future__ import annotations

PREPEND_PUNCTUATIONS = "\"'“¡¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
_ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
# Written without spaces between words: every whole character group is its own word.
_NO_SPACE_LANGUAGES = {"chinese", "japanese", "thai", "lao", "myanmar", "cantonese"}
_REPLACEMENT = "\ufffd"


def split_tokens_on_unicode(tokenizer, tokens: list[int]):
    """Runs of tokens that decode to whole characters: ``(texts, token lists, index lists)``."""
    decoded_full = tokenizer.decode(tokens, decode_with_timestamps=True)
    words, word_tokens, indices = [], [], []
    current, current_indices, offset = [], [], 0
    for index, token in enumerate(tokens):
        current.append(token)
        current_indices.append(index)
        decoded = tokenizer.decode(current, decode_with_timestamps=True)
        broken = decoded.find(_REPLACEMENT)
        # A U+FFFD that the full text also has at that place is a real character, not a cut one.
        if broken < 0 or offset + broken >= len(decoded_full) or decoded_full[offset + broken] == _REPLACEMENT:
            words.append(decoded)
            word_tokens.append(current)
            indices.append(current_indices)
            current, current_indices = [], []
            offset += len(decoded)
    return words, word_tokens, indices


def split_tokens_on_spaces(tokenizer, tokens: list[int]):
    """Words: a new one at a leading space, a punctuation mark or a special token."""
    words, word_tokens, indices = [], [], []
    for text, pieces, where in zip(*split_tokens_on_unicode(tokenizer, tokens)):
        special = pieces[0] >= tokenizer.eos_token_id
        # (substring test, as the reference: "" and runs like ".," count as punctuation)
        punctuation = text.strip() in _ASCII_PUNCTUATION
        if special or text.startswith(" ") or punctuation or not words:
            words.append(text)
            word_tokens.append(pieces)
            indices.append(where)
        else:
            words[-1] += text
            word_tokens[-1].extend(pieces)
            indices[-1].extend(where)
    return words, word_tokens, indices


def merge_punctuations(words, tokens, indices, prepended: str = PREPEND_PUNCTUATIONS,
                       appended: str = APPEND_PUNCTUATIONS) -> None:
    """In place: opening marks join the next word, closing marks the previous one; empties dropped."""
    i, j = len(words) - 2, len(words) - 1
    while i >= 0:  # right to left, so "(" "«" "word" all end up on "word"
        if words[i].startswith(" ") and words[i].strip() in prepended:
            words[j], tokens[j], indices[j] = words[i] + words[j], tokens[i] + tokens[j], indices[i] + indices[j]
            words[i], tokens[i], indices[i] = "", [], []
        else:
            j = i
        i -= 1
    i, j = 0, 1
    while j < len(words):
        if not words[i].endswith(" ") and words[j] in appended:
            words[i], tokens[i], indices[i] = words[i] + words[j], tokens[i] + tokens[j], indices[i] + indices[j]
            words[j], tokens[j], indices[j] = "", [], []
        else:
            i = j
        j += 1
    words[:] = [w for w in words if w]
    tokens[:] = [t for t in tokens if t]
    indices[:] = [x for x in indices if x]


def combine_tokens_into_words(tokenizer, tokens: list[int], language: str | None = None):
    """``(words, token lists, index lists)`` of text tokens; ``language`` is a name ("english")."""
    language = language or tokenizer.language or "english"
    if language in _NO_SPACE_LANGUAGES:
        words, word_tokens, indices = split_tokens_on_unicode(tokenizer, tokens)
    else:
        words, word_tokens, indices = split_tokens_on_spaces(tokenizer, tokens)
    merge_punctuations(words, word_tokens, indices)
    return words, word_tokens, indices


def collate_word_timestamps(tokenizer, tokens, token_times, language, return_language) -> list[dict]:
    """``[{"text": word, "timestamp": (start, end)[, "language"]}]`` from per-token ``(start, end)``."""
    words, _, indices = combine_tokens_into_words(tokenizer, tokens, language)
    extra = {"language": language} if return_language else {}
    return [{"text": word, "timestamp": (token_times[where[0]][0], token_times[where[-1]][1]), **extra}
            for word, where in zip(words, indices)]
