"""Helpers for encoder-decoder parity tests (Whisper, BART family, T5)."""

from __future__ import annotations

import torch

from polymodal.generation.cache import EncoderDecoderCache

OUTPUT_KEYS = ("loss", "logits", "last_hidden_state", "encoder_last_hidden_state")
TUPLE_KEYS = ("hidden_states", "attentions", "decoder_hidden_states", "encoder_hidden_states", "decoder_attentions", "cross_attentions",
              "encoder_attentions")


def padded_batch(pad_id: int):
    """(input_ids, attention_mask, labels) of 3 rows, two of them padded, ids in 4..98 (seeded)."""
    torch.manual_seed(1)
    ids = torch.randint(4, 99, (3, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[2, 3:] = 0
    labels = torch.randint(4, 99, (3, 6))
    return ids.masked_fill(mask == 0, pad_id), mask, labels


def assert_outputs_close(ours, theirs, atol=1e-5, keep=None):
    """Every tensor field Transformers returned matches (``keep`` selects unpadded decoder rows)."""
    for key in OUTPUT_KEYS:
        if getattr(theirs, key, None) is not None:
            a, b = getattr(ours, key), getattr(theirs, key)
            if keep is not None and key in ("logits", "last_hidden_state"):
                a, b = a[keep], b[keep]
            torch.testing.assert_close(a, b, atol=atol, rtol=1e-4, msg=key)
    for key in TUPLE_KEYS:
        theirs_value = getattr(theirs, key, None)
        if theirs_value is None or all(v is None for v in theirs_value):
            continue
        ours_value = getattr(ours, key)
        assert len(ours_value) == len(theirs_value), key
        for a, b in zip(ours_value, theirs_value):
            if keep is not None and key.startswith("decoder_hidden"):
                a, b = a[keep], b[keep]
            if keep is None or not key.startswith(("decoder_att", "cross")):
                torch.testing.assert_close(a, b, atol=atol, rtol=1e-4, msg=key)


def incremental_logits(model, encoder_outputs, decoder_input_ids, split: int, **kwargs):
    """Logits from a prefix of ``split`` tokens, then one token at a time through the cache."""
    cache = EncoderDecoderCache()
    chunks = [model(encoder_outputs=encoder_outputs, decoder_input_ids=decoder_input_ids[:, :split],
                    past_key_values=cache, **kwargs).logits]
    for step in range(split, decoder_input_ids.shape[1]):
        out = model(encoder_outputs=encoder_outputs, decoder_input_ids=decoder_input_ids[:, step:step + 1],
                    past_key_values=cache, **kwargs)
        chunks.append(out.logits)
    return torch.cat(chunks, dim=1)


# ----------------------------------------------------------------------------- tiny checkpoints with tokenizers
T5_TASKS = {
    "summarization": {"prefix": "summarize: ", "num_beams": 2, "max_length": 12, "min_length": 3,
                      "no_repeat_ngram_size": 3, "early_stopping": True, "length_penalty": 2.0},
    "translation_en_to_fr": {"prefix": "translate English to French: ", "max_length": 10, "num_beams": 2},
}


def write_t5_tokenizer(folder, corpus=None):
    """A SentencePiece unigram ``spiece.model`` + Transformers' T5Tokenizer files (100 sentinels)."""
    import io
    from pathlib import Path

    import sentencepiece as spm
    import transformers
    from tokenizer_helpers import CORPUS

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for s in (corpus or CORPUS) if s.strip()]), model_writer=model, vocab_size=300,
        model_type="unigram", hard_vocab_limit=False, character_coverage=1.0, minloglevel=2,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    (folder / "spiece.model").write_bytes(model.getvalue())
    transformers.T5Tokenizer(vocab_file=str(folder / "spiece.model")).save_pretrained(folder)
    return folder


def write_tiny_t5_lm(folder, seed: int = 0, corpus=None, **config):
    """Random T5ForConditionalGeneration (with T5's task_specific_params) + its tokenizer, saved by Transformers."""
    import torch
    import transformers

    folder = write_t5_tokenizer(folder, corpus)
    size = len(transformers.T5Tokenizer.from_pretrained(folder))
    options = {"d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_decoder_layers": 2, "num_heads": 4,
               "relative_attention_num_buckets": 8, "relative_attention_max_distance": 20,
               "decoder_start_token_id": 0, "pad_token_id": 0, "eos_token_id": 1, "task_specific_params": T5_TASKS,
               **config}
    torch.manual_seed(seed)
    transformers.T5ForConditionalGeneration(transformers.T5Config(vocab_size=size, **options)).save_pretrained(folder)
    return folder


def write_tiny_bart_lm(folder, seed: int = 0, **config):
    """Random BartForConditionalGeneration + a RoBERTa-style BPE tokenizer, saved by Transformers."""
    import torch
    import transformers
    from tokenizer_helpers import write_roberta_files

    folder = write_roberta_files(folder)
    tokenizer = transformers.BartTokenizer.from_pretrained(folder)
    tokenizer.save_pretrained(folder)
    options = {"d_model": 32, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
               "decoder_attention_heads": 4, "encoder_ffn_dim": 37, "decoder_ffn_dim": 37,
               "max_position_embeddings": 64, **config}
    torch.manual_seed(seed)
    transformers.BartForConditionalGeneration(transformers.BartConfig(vocab_size=len(tokenizer), **options)) \
        .save_pretrained(folder)
    return folder
