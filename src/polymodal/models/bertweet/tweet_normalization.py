"""BERTweet's tweet normalisation: NLTK's TweetTokenizer split, then mentions → ``@USER``,
links → ``HTTPURL``, emoji → text (``emoji.demojize``) and a few contraction re-spacings.

The word pattern is NLTK's casual tokenizer (URLs, phone numbers, emoticons, HTML tags, arrows,
handles, hashtags, e-mails, then words / numbers / ellipses / any other character), which
BERTweet's vocabulary was built with; it needs the ``regex`` package, whose ``\\w`` also covers
combining marks (Python's ``re`` would cut Hindi or decomposed accents apart). Needs
``pip install "polymodal[bertweet]"`` (emoji, regex).
"""

from __future__ import annotations

import html.entities
from functools import lru_cache

# NLTK's casual-tokenizer pieces, tried in this order (a phone number may hold spaces, so it
# comes before the words; the last alternative takes any single non-space character).
_EYES, _NOSE, _MOUTH = r"[:;=8]", r"[\-o\*\']", r"[\)\]\(\[dDpP/\:\}\{@\|\\]"
EMOTICONS = rf"(?:[<>]?{_EYES}{_NOSE}?{_MOUTH}|{_MOUTH}{_NOSE}?{_EYES}[<>]?|<3)"
_BALANCED_NESTED, _BALANCED = r"\([^\s()]*?\([^\s()]+\)[^\s()]*?\)", r"\([^\s]+?\)"
URLS = (
    r"(?:https?:(?:/{1,3}|[a-z0-9%])|[a-z0-9.\-]+[.](?:[a-z]{2,13})/)"  # scheme, or a domain and a slash
    rf"(?:[^\s()<>{{}}\[\]]+|{_BALANCED_NESTED}|{_BALANCED})+"  # the body, balanced parentheses allowed
    rf"(?:{_BALANCED_NESTED}|{_BALANCED}|[^\s`!()\[\]{{}};:'\".,<>?«»“”‘’])"  # not ending in punctuation
    r"|(?:(?<!@)[a-z0-9]+(?:[.\-][a-z0-9]+)*[.](?:[a-z]{2,13})\b/?(?!@))"  # a bare domain (not an e-mail)
)
PHONE = r"(?:(?:\+?[01][ *\-.\)]*)?(?:[\(]?\d{3}[ *\-.\)]*)?\d{3}[ *\-.\)]*\d{4})"
HTML_TAG, ARROW = r"<[^>\s]+>", r"[\-]+>|<[\-]+"
HANDLE, HASHTAG = r"(?:@[\w_]+)", r"(?:\#+[\w_]+[\w\'_\-]*[\w_]+)"
EMAIL = r"[\w.+-]+@[\w-]+\.(?:[\w-]\.?)+[\w-]"
WORDS = (
    r"(?:[^\W\d_](?:[^\W\d_]|['\-_])+[^\W\d_])"  # words with apostrophes or dashes
    r"|(?:[+\-]?\d+[,/.:-]\d+[+\-]?)"  # numbers, fractions, decimals
    r"|(?:[\w_]+)"  # other words
    r"|(?:\.(?:\s*\.){1,})"  # ellipses
    r"|(?:\S)"  # any other non-space character
)
SPECIAL_PUNCTS = {"’": "'", "…": "..."}


def _regex():
    try:
        import regex
    except ImportError:
        raise ImportError('BertweetTokenizer(normalization=True) needs regex and emoji: '
                          'pip install "polymodal[bertweet]"') from None
    return regex


@lru_cache(maxsize=1)
def _patterns():
    regex = _regex()
    flags = regex.IGNORECASE | regex.UNICODE
    words = regex.compile("|".join((URLS, PHONE, EMOTICONS, HTML_TAG, ARROW, HANDLE, HASHTAG, EMAIL, WORDS)), flags)
    # Long runs of one non-alphanumeric character make the word pattern slow: cut them to three.
    hang = regex.compile(r"([^a-zA-Z0-9])\1{3,}")
    entity = regex.compile(r"&(#?(x?))([^&;\s]+);")
    return words, hang, entity


def _entity_to_text(match) -> str:
    """``&amp;`` / ``&#233;`` / ``&#xe9;`` → the character; an entity that names nothing is dropped."""
    body = match.group(3)
    number = None
    if match.group(1):
        try:
            number = int(body, 16 if match.group(2) else 10)
            if 0x80 <= number <= 0x9F:  # browsers read these as Windows-1252 bytes
                return bytes((number,)).decode("cp1252")
        except ValueError:  # includes a cp1252 byte that maps to nothing
            number = None
    else:
        number = html.entities.name2codepoint.get(body)
    if number is not None:
        try:
            return chr(number)
        except (ValueError, OverflowError):
            pass
    return ""


def tweet_words(text: str) -> list[str]:
    """NLTK's TweetTokenizer (case kept, lengthening kept, handles kept)."""
    words, hang, entity = _patterns()
    text = entity.sub(_entity_to_text, text)
    return [m.group(0) for m in words.finditer(hang.sub(r"\1\1\1", text))]


def _demojizer():
    try:
        from emoji import demojize
    except ImportError:
        raise ImportError('BertweetTokenizer(normalization=True) needs emoji and regex: '
                          'pip install "polymodal[bertweet]"') from None
    return demojize


def check_normalization_dependencies() -> None:
    """Fail at construction, not at the first call, when normalisation cannot run."""
    _regex()
    _demojizer()


def normalize_token(token: str, demojize) -> str:
    lowered = token.lower()
    if token.startswith("@"):
        return "@USER"
    if lowered.startswith("http") or lowered.startswith("www"):
        return "HTTPURL"
    if len(token) == 1:
        return SPECIAL_PUNCTS.get(token) or demojize(token)
    return token


# Contractions and times re-spaced the way BERTweet's pre-training corpus was (order matters).
_RESPACINGS = (
    ("cannot ", "can not "), ("n't ", " n't "), ("n 't ", " n't "), ("ca n't", "can't"), ("ai n't", "ain't"),
    ("'m ", " 'm "), ("'re ", " 're "), ("'s ", " 's "), ("'ll ", " 'll "), ("'d ", " 'd "), ("'ve ", " 've "),
    (" p . m .", "  p.m."), (" p . m ", " p.m "), (" a . m .", " a.m."), (" a . m ", " a.m "),
)


def normalize_tweet(tweet: str) -> str:
    """One tweet in BERTweet's pre-training form (words separated by single spaces)."""
    demojize = _demojizer()
    for punct, replacement in SPECIAL_PUNCTS.items():
        tweet = tweet.replace(punct, replacement)
    text = " ".join(normalize_token(token, demojize) for token in tweet_words(tweet))
    for before, after in _RESPACINGS:
        text = text.replace(before, after)
    return " ".join(text.split())


__all__ = ["normalize_tweet", "tweet_words", "check_normalization_dependencies"]
