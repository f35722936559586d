"""``polymodal text MODEL_DIR [TEXT …]``: run an NLP pipeline from the command line.

    polymodal text sst2_model "great movie" "awful plot"             # task picked from the config
    polymodal text --aggregation-strategy simple ner_model "Ada Lovelace lived in London"
    polymodal text --top-k 3 mlm_model "Paris is the [MASK] of France."
    polymodal text --task zero-shot-classification --candidate-labels sports,politics nli_model "the match"
    polymodal text --question "Where did she live?" qa_model "Ada Lovelace lived in London."
    cat texts.txt | polymodal text sst2_model                          # one text per line from stdin

Options go before MODEL_DIR (the texts after it are free-form). Each input prints one JSON line
``{"input": …, "result": …}``.
"""

from __future__ import annotations

import json
import os
import sys

# The head class name → the task it serves (the first match wins).
_HEADS = (("ForQuestionAnswering", "question-answering"), ("ForTokenClassification", "token-classification"),
          ("ForMaskedLM", "fill-mask"), ("ForSequenceClassification", "text-classification"))
TASKS = ("text-classification", "token-classification", "fill-mask", "zero-shot-classification",
         "feature-extraction", "question-answering")


def add_parser(sub, error_type: type[Exception]) -> None:
    p = sub.add_parser("text", help="run an NLP pipeline (classification, NER, fill-mask, zero-shot, QA) on texts",
                       description="Run the text pipeline of MODEL_DIR on each TEXT (or on each line of stdin when "
                       "no TEXT is given) and print one JSON line per input. The task comes from the model's "
                       "head unless --task is given.")
    p.add_argument("model_dir", metavar="MODEL_DIR")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    p.add_argument("--task", choices=TASKS, default=None, help="pipeline task (default: from the model's head)")
    p.add_argument("--top-k", type=int, default=None, help="results per input (classification, fill-mask, QA)")
    p.add_argument("--aggregation-strategy", default=None, choices=("none", "simple", "first", "average", "max"),
                   help="token classification: how tokens group into entities")
    p.add_argument("--targets", default=None, help="fill-mask: comma-separated candidate words")
    p.add_argument("--candidate-labels", default=None, help="zero-shot: comma-separated labels")
    p.add_argument("--multi-label", action="store_true", help="zero-shot: score every label on its own")
    p.add_argument("--question", default=None, help="question answering: the question; each TEXT is a context")
    p.add_argument("--batch-size", type=int, default=8, help="inputs per forward pass (default 8)")
    p.add_argument("--device", default=None, help="e.g. cpu, cuda:0")
    p.set_defaults(func=lambda args: run(args, error_type))


def task_of(model_dir: str, error_type) -> str:
    from ..core.config import read_json

    config_path = os.path.join(model_dir, "config.json")
    if not os.path.isfile(config_path):
        raise error_type(f"model folder {model_dir!r} has no config.json; pass a folder written by save_pretrained")
    architectures = read_json(config_path).get("architectures") or []
    for suffix, task in _HEADS:
        if any(name.endswith(suffix) for name in architectures):
            return task
    return "feature-extraction"


def run(args, error_type) -> int:
    from . import pipeline

    task = args.task or task_of(args.model_dir, error_type)
    texts = args.texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise error_type("no input text: pass TEXT arguments or pipe one text per line into stdin")
    if task == "question-answering" and not args.question:
        raise error_type("question answering needs --question; each TEXT is a context to search")
    if task == "zero-shot-classification" and not args.candidate_labels:
        raise error_type("zero-shot classification needs --candidate-labels, e.g. --candidate-labels sports,politics")
    pipe = pipeline(task, model=args.model_dir, device=args.device)
    for text, result in zip(texts, _results(pipe, task, texts, args), strict=True):
        print(json.dumps({"input": text, "result": result}, ensure_ascii=False, default=float))
    return 0


def _results(pipe, task: str, texts: list[str], args) -> list:
    size = args.batch_size
    if task == "question-answering":
        options = {"top_k": args.top_k} if args.top_k else {}
        return pipe(question=[args.question] * len(texts), context=texts, batch_size=size, **options)
    options: dict = {"batch_size": size}
    if task == "text-classification" and args.top_k:
        options["top_k"] = args.top_k
    elif task == "token-classification" and args.aggregation_strategy:
        options["aggregation_strategy"] = args.aggregation_strategy
    elif task == "fill-mask":
        options.update({k: v for k, v in (("top_k", args.top_k), ("targets", args.targets and
                        [t.strip() for t in args.targets.split(",")])) if v})
    elif task == "zero-shot-classification":
        options.update(candidate_labels=args.candidate_labels, multi_label=args.multi_label)
    results = pipe(list(texts), **options)
    if task == "fill-mask" and len(texts) == 1:
        results = [results]  # the pipeline unwraps a one-text list
    return results

