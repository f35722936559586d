"""A tiny Whisper tokenizer/processor folder built at test time (byte-level BPE + Whisper's tokens)."""

from __future__ import annotations

from pathlib import Path

from tokenizer_helpers import _trained_bpe, _write_bpe

from polymodal.models.whisper.languages import LANGUAGES

CONTROL = ["<|endoftext|>", "<|startoftranscript|>", *[f"<|{code}|>" for code in LANGUAGES], "<|translate|>",
           "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]
TIMESTAMPS = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]


def write_whisper_tokenizer(folder) -> Path:
    """Save a Transformers WhisperTokenizer laid out like the real one; returns the folder."""
    import transformers
    from tokenizers import AddedToken, pre_tokenizers

    folder = Path(folder)
    trained, merges = _trained_bpe(pre_tokenizers.ByteLevel(add_prefix_space=False), vocab_size=500)
    _write_bpe(folder, trained + ["<|endoftext|>"], merges)
    tokenizer = transformers.WhisperTokenizer(vocab=str(folder / "vocab.json"),
                                              merges=str(folder / "merges.txt"))
    tokenizer.add_special_tokens({"additional_special_tokens": CONTROL})
    tokenizer.add_tokens([AddedToken(t, normalized=False, special=False) for t in TIMESTAMPS])
    tokenizer.save_pretrained(folder)
    return folder


def vocab_size(folder) -> int:
    import transformers

    return len(transformers.WhisperTokenizer.from_pretrained(folder))
