"""Text encoders: polymodal vs Transformers at BERT-base shape (random weights), 2 threads.

    python benchmarks/bench_text.py [--layers 12] [--repeats 5] [--threads 2]

Both libraries load the *same* folder: a ``BertForSequenceClassification`` / ``…ForQuestionAnswering``
of BERT-base shape (hidden 768, 12 heads, ``--layers`` layers) with a WordPiece tokenizer
trained on generated text, written once by Transformers. Cases (issue 14):

(a) text-classification pipeline, 256 sentences of mixed length, ``batch_size=32``;
(b) one forward pass, batch 8 × 128 tokens, fp32 (polymodal and Transformers) and bf16
    (polymodal; its target is relative to Transformers' fp32);
(c) tokenizing 10,000 sentence pairs (``padding=True, truncation=True``, tensors);
(d) question answering over a ~5,000-token context (``max_seq_len=384, doc_stride=128``).
    Transformers 5 has no QA pipeline: its side is what the documented pipeline did — the
    tokenizer's windows, then the model span by span (batch 1), then the same span selection.

Runs are interleaved (rotating who goes first); medians. Ratios are polymodal / Transformers.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import interleaved_times, medians, paired_ratios, print_table

ROOT = Path(__file__).resolve().parents[1]

WORDS = ("the a of to and in is was for on that with as by at from his her it an be this which or are have not "
         "had but one all were they their been has more when who will would there can about city river music "
         "history science team season album film village school church war station company system family "
         "language island population university government national state world first new time year people "
         "water light house market mountain garden letter window friend morning evening journey bridge").split()


def sentence(rng: random.Random, low: int = 6, high: int = 40) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize() + "."


def make_folder(root: Path, head: str, layers: int) -> Path:
    import torch
    import transformers
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    folder = root / head
    if (folder / "config.json").exists():
        return folder
    folder.mkdir(parents=True)
    rng = random.Random(0)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator([sentence(rng) for _ in range(2000)], trainers.WordPieceTrainer(
        vocab_size=2000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False))
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    (folder / "vocab.txt").write_text("\n".join(t for t, _ in vocab) + "\n")
    tokenizer = transformers.BertTokenizer.from_pretrained(str(folder), model_max_length=512)
    tokenizer.save_pretrained(str(folder))
    config = transformers.BertConfig(num_hidden_layers=layers, num_labels=2 if head != "sst" else 3)
    torch.manual_seed(0)
    model_cls = transformers.BertForQuestionAnswering if head == "qa" else transformers.BertForSequenceClassification
    model_cls(config).save_pretrained(str(folder))
    return folder


def bench_pipeline(folder, repeats):
    import transformers

    import polymodal

    rng = random.Random(1)
    texts = [sentence(rng) for _ in range(256)]
    ours = polymodal.pipeline("text-classification", model=str(folder))
    theirs = transformers.pipeline("text-classification", model=str(folder))
    return interleaved_times({"polymodal": lambda: ours(texts, batch_size=32),
                              "transformers": lambda: theirs(texts, batch_size=32)}, repeats)


def bench_forward(folder, repeats):
    import torch
    import transformers

    import polymodal

    ours = polymodal.BertForSequenceClassification.from_pretrained(str(folder)).eval()
    ours_bf16 = polymodal.BertForSequenceClassification.from_pretrained(str(folder), torch_dtype=torch.bfloat16)
    theirs = transformers.BertForSequenceClassification.from_pretrained(str(folder)).eval()
    ids = torch.randint(5, 2000, (8, 128))
    mask = torch.ones_like(ids)
    mask[::2, 100:] = 0

    def run(model):
        def call():
            with torch.inference_mode():
                model(input_ids=ids, attention_mask=mask)
        return call

    return interleaved_times({"polymodal": run(ours), "polymodal bf16": run(ours_bf16.eval()),
                              "transformers": run(theirs)}, repeats)


def bench_tokenize(folder, repeats):
    import transformers

    import polymodal

    rng = random.Random(2)
    firsts = [sentence(rng, 4, 20) for _ in range(10_000)]
    seconds = [sentence(rng, 10, 60) for _ in range(10_000)]
    ours = polymodal.AutoTokenizer.from_pretrained(str(folder))
    theirs = transformers.AutoTokenizer.from_pretrained(str(folder))
    options = dict(padding=True, truncation=True, max_length=128, return_tensors="pt")
    return interleaved_times({"polymodal": lambda: ours(firsts, seconds, **options),
                              "transformers": lambda: theirs(firsts, seconds, **options)}, repeats)


def transformers_qa(tokenizer, model, question, context):
    """The documented QA pipeline on Transformers' parts: windows, model span by span, selection."""
    import torch

    enc = tokenizer(question, context, truncation="only_second", max_length=384, stride=128,
                    return_overflowing_tokens=True, return_offsets_mapping=True)
    best = None
    for span in range(len(enc["input_ids"])):
        inputs = {k: torch.tensor([enc[k][span]]) for k in tokenizer.model_input_names}
        with torch.inference_mode():
            out = model(**inputs)
        allowed = np.array([1 if s == 1 else 0 for s in enc.sequence_ids(span)])
        start = np.where(allowed, out.start_logits[0].numpy(), -10000.0)
        end = np.where(allowed, out.end_logits[0].numpy(), -10000.0)
        start, end = np.exp(start - start.max()), np.exp(end - end.max())
        start, end = start / start.sum(), end / end.sum()
        scores = np.tril(np.triu(np.outer(start, end)), 14)
        s, e = np.unravel_index(int(scores.argmax()), scores.shape)
        if best is None or scores[s, e] > best[0]:
            best = (scores[s, e], enc.encodings[span].offsets[s][0], enc.encodings[span].offsets[e][1])
    return {"score": float(best[0]), "answer": context[best[1]:best[2]]}


def bench_qa(folder, repeats):
    import transformers

    import polymodal

    rng = random.Random(3)
    context = " ".join(sentence(rng) for _ in range(230))
    question = "Which river flows through the village?"
    ours = polymodal.pipeline("question-answering", model=str(folder))
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = transformers.BertForQuestionAnswering.from_pretrained(str(folder)).eval()
    tokens = len(tokenizer(context)["input_ids"])
    times = interleaved_times({"polymodal": lambda: ours(question=question, context=context),
                               "transformers": lambda: transformers_qa(tokenizer, model, question, context)},
                              repeats)
    return times, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    print(f"load average before: {os.getloadavg()}; threads={args.threads}, layers={args.layers}")
    root = Path(tempfile.gettempdir()) / f"polymodal-bench-text-{args.layers}"
    cls_folder, qa_folder = make_folder(root, "cls", args.layers), make_folder(root, "qa", args.layers)
    rows = []
    started = time.perf_counter()

    def add(case, times, baseline="transformers", target=None, side="polymodal", note=""):
        med = medians(times)
        ratio = paired_ratios(times, baseline)[side]
        rows.append({"case": case, "polymodal s": med[side], "transformers s": med[baseline], "ratio": ratio,
                     "target": target or "", "met": "yes" if target is None or ratio <= target else "no",
                     "note": note})

    times = bench_pipeline(cls_folder, args.repeats)
    add("text-classification pipeline, 256 sentences, batch 32", times, target=0.9)
    times = bench_forward(cls_folder, args.repeats)
    add("forward 8×128 fp32", times, target=1.0)
    add("forward 8×128 bf16 (vs Transformers fp32)", times, side="polymodal bf16", target=0.6)
    times = bench_tokenize(cls_folder, args.repeats)
    add("tokenize 10,000 pairs (pad, truncate, pt)", times, target=1.0)
    times, tokens = bench_qa(qa_folder, max(3, args.repeats // 2))
    add(f"question answering, {tokens}-token context", times, target=0.8,
        note="baseline: documented pipeline on Transformers' tokenizer+model, spans one by one")
    print_table(rows, ["case", "polymodal s", "transformers s", "ratio", "target", "met", "note"])
    print(f"load average after: {os.getloadavg()}; total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
