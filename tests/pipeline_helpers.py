"""Tiny checkpoint folders (model + preprocessing files) saved by Transformers, for pipeline tests."""

from __future__ import annotations

import json
from pathlib import Path

from wav2vec2_helpers import NO_DROPOUT, hf_model

LABELS = ["balance", "freeze", "pay_bill", "abroad", "address", "card_issues"]
CHARS = ["<pad>", "<s>", "</s>", "<unk>", "|", "a", "b", "c", "d", "e", "h", "l", "o", "r", "w"]


def classifier_folder(path: Path, stable=True, norm="layer", seed=0) -> Path:
    import transformers

    id2label = dict(enumerate(LABELS))
    model = hf_model("Wav2Vec2ForSequenceClassification", stable, norm, seed=seed, num_labels=len(LABELS),
                     id2label=id2label, label2id={v: k for k, v in id2label.items()}, **NO_DROPOUT)
    model.save_pretrained(path)
    transformers.Wav2Vec2FeatureExtractor(return_attention_mask=norm == "layer").save_pretrained(path)
    return Path(path)


def ctc_folder(path: Path, stable=True, norm="layer", seed=0) -> Path:
    import transformers

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = {c: i for i, c in enumerate(CHARS)}
    (path / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = transformers.Wav2Vec2CTCTokenizer(str(path / "vocab.json"))
    extractor = transformers.Wav2Vec2FeatureExtractor(return_attention_mask=norm == "layer")
    transformers.Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(path)
    model = hf_model("Wav2Vec2ForCTC", stable, norm, seed=seed, vocab_size=len(CHARS), pad_token_id=0,
                     **NO_DROPOUT)
    # A large bias on a few characters makes the random model emit varied, non-blank text.
    import torch

    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)
    model.save_pretrained(path)
    return path
