"""Special tokens: ``bos_token``/``bos_token_id`` … properties, extra special tokens, ``AddedToken``s."""

from __future__ import annotations

from typing import Any

from ..core.errors import InvalidInputError


class SpecialTokensMixin:
    """The named special tokens of a tokenizer (needs ``convert_tokens_to_ids`` from the tokenizer)."""

    SPECIAL_TOKENS_ATTRIBUTES = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                                 "cls_token", "mask_token"]

    def _init_special_tokens(self, kwargs: dict) -> None:
        """Pop the named and extra special tokens out of the ``__init__`` keywords."""
        if "additional_special_tokens" in kwargs and "extra_special_tokens" not in kwargs:
            kwargs["extra_special_tokens"] = kwargs.pop("additional_special_tokens")
        kwargs.pop("additional_special_tokens", None)
        self._special_tokens_map: dict[str, Any] = dict.fromkeys(self.SPECIAL_TOKENS_ATTRIBUTES)
        for key in self.SPECIAL_TOKENS_ATTRIBUTES:
            value = kwargs.pop(key, None)
            if value is not None and not isinstance(value, str) and not _is_added_token(value):
                raise InvalidInputError(f"{key} must be a str, got {type(value).__name__}.")
            self._special_tokens_map[key] = value
        extra = kwargs.pop("extra_special_tokens", None) or []
        self._extra_special_tokens = list(extra.values() if isinstance(extra, dict) else extra)
        self._pad_token_type_id = 0

    @property
    def pad_token_type_id(self) -> int:
        return self._pad_token_type_id

    @property
    def special_tokens_map(self) -> dict[str, str]:
        return {k: str(v) for k, v in self._special_tokens_map.items() if v is not None}

    @property
    def extra_special_tokens(self) -> list[str]:
        return [str(t) for t in self._extra_special_tokens]

    additional_special_tokens = extra_special_tokens

    @property
    def all_special_tokens(self) -> list[str]:
        seen: dict[str, None] = {}
        for value in [*self._special_tokens_map.values(), *self._extra_special_tokens]:
            if value is not None:
                seen.setdefault(str(value))
        return list(seen)

    @property
    def all_special_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self.all_special_tokens)

    def _special_token(self, name: str):
        value = self._special_tokens_map.get(name)
        return None if value is None else str(value)

    def _special_token_id(self, name: str):
        token = self._special_token(name)
        return None if token is None else self.convert_tokens_to_ids(token)

    def _set_special_token(self, name: str, value):
        if value is not None and not isinstance(value, str) and not _is_added_token(value):
            raise InvalidInputError(f"{name} must be a str (or None), got {type(value).__name__}.")
        self._special_tokens_map[name] = value

    def _set_special_token_id(self, name: str, value):
        self._set_special_token(name, None if value is None else self.convert_ids_to_tokens(int(value)))


def _make_special_properties():
    """``bos_token`` / ``bos_token_id`` … as properties (with setters) on the base class."""
    for name in SpecialTokensMixin.SPECIAL_TOKENS_ATTRIBUTES:
        token = property(lambda self, n=name: self._special_token(n),
                         lambda self, value, n=name: self._set_special_token(n, value))
        token_id = property(lambda self, n=name: self._special_token_id(n),
                            lambda self, value, n=name: self._set_special_token_id(n, value))
        setattr(SpecialTokensMixin, name, token)
        setattr(SpecialTokensMixin, f"{name}_id", token_id)


_make_special_properties()


def _is_added_token(value) -> bool:
    return type(value).__name__ == "AddedToken"


def _token_content(value):
    """special_tokens_map.json / tokenizer_config.json store a token as a str or an AddedToken dict."""
    if isinstance(value, dict):
        return value.get("content")
    return value


def _as_added_token(token, special: bool | None = None):
    from tokenizers import AddedToken

    if _is_added_token(token):
        return token
    if isinstance(token, dict):
        fields = {k: token[k] for k in ("lstrip", "rstrip", "single_word", "normalized", "special") if k in token}
        return AddedToken(token["content"], **fields)
    if special is None:
        return AddedToken(str(token))
    return AddedToken(str(token), special=special)
