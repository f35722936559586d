"""``transformers.data.data_collator``'s import path. The collators live in
:mod:`polymodal.train.collators` (the text ones in :mod:`polymodal.train.text_collators`)."""

from ..train.collators import (
    DataCollatorForLanguageModeling,
    DataCollatorForMultipleChoice,
    DataCollatorForTokenClassification,
    DataCollatorForWholeWordMask,
    DataCollatorWithPadding,
    DefaultDataCollator,
    default_data_collator,
)

__all__ = [
    "DataCollatorForLanguageModeling", "DataCollatorForMultipleChoice",
    "DataCollatorForTokenClassification", "DataCollatorForWholeWordMask", "DataCollatorWithPadding",
    "DefaultDataCollator", "default_data_collator",
]
