"""T5 and its byte-level sibling ByT5 (same model, byte tokenizer)."""
