"""Tiny checkpoints for the BertGeneration / EncoderDecoderModel and Blenderbot-Small docs (issue 16).

Saved by Transformers, as a reader's downloaded folders would be; no hub access.
"""

from __future__ import annotations

import json
from pathlib import Path

TINY_BERT = {"vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
             "intermediate_size": 37, "max_position_embeddings": 64}


def write_tiny_bert(folder) -> Path:
    """A random ``BertModel`` (what google-bert/bert-base-uncased is, in small)."""
    import torch
    import transformers

    folder = Path(folder)
    torch.manual_seed(0)
    transformers.BertModel(transformers.BertConfig(**TINY_BERT)).save_pretrained(folder)
    return folder


def write_tiny_bert2bert(folder) -> Path:
    """A random BertGeneration encoder-decoder (``EncoderDecoderModel``) with start/pad ids set."""
    import torch
    import transformers

    folder = Path(folder)
    torch.manual_seed(0)
    ids = {"pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 1}
    encoder = transformers.BertGenerationEncoder(transformers.BertGenerationConfig(**TINY_BERT, **ids))
    decoder = transformers.BertGenerationDecoder(transformers.BertGenerationConfig(
        **TINY_BERT, **ids, is_decoder=True, add_cross_attention=True))
    model = transformers.EncoderDecoderModel(encoder=encoder, decoder=decoder)
    model.config.decoder_start_token_id, model.config.pad_token_id = 2, 0
    model.save_pretrained(folder)
    return folder


def write_tiny_blenderbot_small(folder) -> Path:
    """A random ``BlenderbotSmallForConditionalGeneration`` with a ParlAI-style BPE tokenizer."""
    import torch
    import transformers

    folder = write_blenderbot_small_files(Path(folder))
    tokenizer = transformers.BlenderbotSmallTokenizer.from_pretrained(folder)
    config = transformers.BlenderbotSmallConfig(vocab_size=len(tokenizer), d_model=32, encoder_layers=2,
                                                decoder_layers=2, encoder_attention_heads=4,
                                                decoder_attention_heads=4, encoder_ffn_dim=37, decoder_ffn_dim=37,
                                                max_position_embeddings=64, scale_embedding=True)
    torch.manual_seed(0)
    transformers.BlenderbotSmallForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_blenderbot_small_files(folder) -> Path:
    """ParlAI-style vocab.json (``hel@@`` / ``lo``, ``__null__ __start__ __end__ __unk__`` first) + merges.txt."""
    from tokenizer_helpers import CORPUS
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from polymodal.models.blenderbot_small.tokenization import _normalizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    tok.normalizer = _normalizer()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(vocab_size=500, end_of_word_suffix="</w>", show_progress=False)
    tok.train_from_iterator([t for t in CORPUS if "北京" not in t], trainer)  # leave some characters unknown
    model = json.loads(tok.to_str())["model"]
    specials = ["__null__", "__start__", "__end__", "__unk__"]
    pieces = [t[:-4] if t.endswith("</w>") else t + "@@" for t, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
    vocab = {t: i for i, t in enumerate(specials + [p for p in pieces if p not in specials])}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return folder
