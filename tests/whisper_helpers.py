"""A tiny Whisper tokenizer/processor folder built at test time (byte-level BPE + Whisper's tokens)."""

from __future__ import annotations

import json
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


TINY_MODEL = {"d_model": 32, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
              "decoder_attention_heads": 4, "encoder_ffn_dim": 48, "decoder_ffn_dim": 48, "num_mel_bins": 80,
              "max_source_positions": 1500, "max_target_positions": 64}


def write_tiny_whisper(folder, seed: int = 0, alignment_heads=None) -> Path:
    """A complete random multilingual Whisper checkpoint: model, generation config, tokenizer, processor.

    ``alignment_heads`` (``[[layer, head], ...]``) goes into the generation config, for word timestamps.
    """
    import torch
    import transformers

    folder = Path(folder)
    write_whisper_tokenizer(folder)
    tokenizer = transformers.WhisperTokenizer.from_pretrained(folder)
    ids = tokenizer.convert_tokens_to_ids
    eot, sot = ids("<|endoftext|>"), ids("<|startoftranscript|>")
    config = transformers.WhisperConfig(vocab_size=len(tokenizer), pad_token_id=eot, bos_token_id=eot,
                                        eos_token_id=eot, decoder_start_token_id=sot,
                                        begin_suppress_tokens=[220, eot], **TINY_MODEL)
    torch.manual_seed(seed)
    model = transformers.WhisperForConditionalGeneration(config)
    model.save_pretrained(folder)
    path = folder / "generation_config.json"
    generation = json.loads(path.read_text())
    generation.update(
        lang_to_id={f"<|{code}|>": ids(f"<|{code}|>") for code in LANGUAGES},
        task_to_id={"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")},
        no_timestamps_token_id=ids("<|notimestamps|>"), prev_sot_token_id=ids("<|startofprev|>"),
        _from_model_config=False, is_multilingual=True, max_initial_timestamp_index=50, max_length=24, begin_suppress_tokens=[220, eot],
        suppress_tokens=[1, 2, 7, 8, ids("<|startofprev|>"), ids("<|startoflm|>")])
    if alignment_heads is not None:
        generation["alignment_heads"] = alignment_heads
    path.write_text(json.dumps(generation, indent=2))
    transformers.WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    return folder
