"""``transformers.data``'s import path for the collators (``from polymodal.data import
DataCollatorWithPadding``, ``polymodal.data.data_collator``). The code is in :mod:`polymodal.train`."""

from .data_collator import (
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
