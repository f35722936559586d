"""``MBartConfig``: BART's fields with mBART's defaults (``facebook/mbart-large-cc25`` shapes)."""

from __future__ import annotations

from ..bart.configuration import BartConfig


class MBartConfig(BartConfig):
    model_type = "mbart"

    # mBART has no single decoder start token: the decoder input starts with the language id that
    # ends the target (see modeling.shift_tokens_right).
    decoder_start_token_id: int | None = None
