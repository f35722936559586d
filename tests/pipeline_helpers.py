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


# ----------------------------------------------------------------------------- batch invariance
def assert_batch_invariant(pipe, inputs, batch_size: int = 2, atol: float = 1e-5, **call_kwargs):
    """Every input's result with ``batch_size`` (as a list and as a stream) equals its result alone.

    ``inputs`` should mix lengths (and, for a bucketing pipeline, repeat one length) so that the
    batches really pad. Usage, for any pipeline::

        assert_batch_invariant(pipe, [clip_3000, clip_7000, clip_5000, clip_3000b], batch_size=3, top_k=3)
    """
    inputs = list(inputs)
    alone = [pipe(item, **call_kwargs) for item in inputs]
    batched = pipe(inputs, batch_size=batch_size, **call_kwargs)
    streamed = list(pipe(iter(inputs), batch_size=batch_size, **call_kwargs))
    assert len(batched) == len(streamed) == len(inputs)
    for i, (one, many, stream) in enumerate(zip(alone, batched, streamed)):
        assert_same_result(many, one, atol, where=f"input {i} (list, batch_size={batch_size})")
        assert_same_result(stream, one, atol, where=f"input {i} (stream, batch_size={batch_size})")
    return alone


def assert_same_result(got, expected, atol: float = 1e-5, where: str = "result"):
    """Pipeline results equal within ``atol`` for floats; ranked ``{"score", "label"}`` lists are
    compared label by label, so two near-tied labels may swap places."""
    import numpy as np

    if _is_ranking(got) and _is_ranking(expected):
        a = {r["label"]: r["score"] for r in got}
        b = {r["label"]: r["score"] for r in expected}
        assert set(a) == set(b), f"{where}: labels {sorted(a)} != {sorted(b)}"
        for label in a:
            assert abs(a[label] - b[label]) <= atol, f"{where}: {label!r} {a[label]} vs {b[label]}"
        return
    if isinstance(expected, dict):
        assert isinstance(got, dict) and set(got) == set(expected), f"{where}: keys {got} vs {expected}"
        for key in expected:
            assert_same_result(got[key], expected[key], atol, f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(expected), f"{where}: {got} vs {expected}"
        for k, (g, e) in enumerate(zip(got, expected)):
            assert_same_result(g, e, atol, f"{where}[{k}]")
    elif isinstance(expected, (float, np.floating)):  # Transformers' pipelines return np.float32 scores
        assert abs(got - expected) <= atol, f"{where}: {got} vs {expected}"
    elif isinstance(expected, np.ndarray):
        np.testing.assert_allclose(got, expected, atol=atol, err_msg=where)
    else:
        assert got == expected, f"{where}: {got!r} vs {expected!r}"


def _is_ranking(value) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(r, dict) and set(r) == {"score", "label"} for r in value)


class ForwardPasses:
    """Records the batch size of every forward pass of ``model`` inside the ``with`` block::

        with ForwardPasses(pipe.model) as passes:
            pipe(clips, chunk_length_s=0.25)
        assert passes.sizes == [8, 1]
    """

    def __init__(self, model, input_name: str = "input_values"):
        self.model, self.input_name, self.sizes = model, input_name, []

    def __enter__(self):
        def record(module, args, kwargs):
            inputs = kwargs.get(self.input_name, args[0] if args else None)
            self.sizes.append(int(inputs.shape[0]))

        self.handle = self.model.register_forward_pre_hook(record, with_kwargs=True)
        return self

    def __exit__(self, *exc):
        self.handle.remove()
