"""``polymodal generate MODEL "prompt" …``: text generation from the command line.

    polymodal generate ./gpt2 "Once upon a time" --max-new-tokens 40
    polymodal generate ./gpt2 "Once upon a time" --do-sample --top-p 0.9 --seed 0 --stream
    polymodal generate ./llama "def fib(n):" --num-beams 4 --json

Prints the continuation of each prompt (the prompt included unless ``--new-text-only``), or one
JSON line per prompt with ``--json``. ``--stream`` prints tokens as they are produced.
"""

from __future__ import annotations

import json


def add_parser(sub, error_type: type[Exception]) -> None:
    p = sub.add_parser("generate", help="continue text prompts with a causal language model",
                       description="Generate a continuation of each PROMPT with the causal LM in MODEL_DIR "
                       "(a folder with config.json, weights and tokenizer files). Greedy by default.")
    p.add_argument("model_dir", metavar="MODEL_DIR")
    p.add_argument("prompts", nargs="+", metavar="PROMPT")
    p.add_argument("--max-new-tokens", type=_positive_int, default=50, help="tokens to add (default 50)")
    p.add_argument("--do-sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--num-beams", type=_positive_int, default=None)
    p.add_argument("--repetition-penalty", type=float, default=None)
    p.add_argument("--num-return-sequences", type=_positive_int, default=None)
    p.add_argument("--seed", type=int, default=None, help="seed for sampling (reproducible output)")
    p.add_argument("--new-text-only", action="store_true", help="print only the generated text")
    p.add_argument("--stream", action="store_true", help="print tokens as they come (one prompt at a time)")
    p.add_argument("--json", action="store_true", help="one JSON line per prompt")
    p.add_argument("--device", default=None, help="e.g. cpu or cuda:0")
    p.set_defaults(func=lambda args: run(args, error_type))


def _positive_int(text: str) -> int:
    import argparse

    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _generate_kwargs(args) -> dict:
    kwargs = {"max_new_tokens": args.max_new_tokens, "do_sample": args.do_sample}
    for name in ("temperature", "top_k", "top_p", "num_beams", "repetition_penalty", "num_return_sequences"):
        value = getattr(args, name)
        if value is not None:
            kwargs[name] = value
    if args.new_text_only:
        kwargs["return_full_text"] = False
    return kwargs


def run(args, error_type: type[Exception]) -> int:
    import os

    import torch

    from ..pipelines import pipeline

    if not os.path.isdir(args.model_dir):
        raise error_type(f"MODEL_DIR '{args.model_dir}' is not a folder; pass a checkpoint folder (save_pretrained).")
    generator = pipeline("text-generation", model=args.model_dir, device=args.device)
    kwargs = _generate_kwargs(args)
    for prompt in args.prompts:
        if args.seed is not None:
            torch.manual_seed(args.seed)
        if args.stream:
            from .streamers import TextStreamer

            streamer = TextStreamer(generator.tokenizer, skip_prompt=args.new_text_only, skip_special_tokens=True)
            generator(prompt, streamer=streamer, **kwargs)
            continue
        results = generator(prompt, **kwargs)
        texts = [r["generated_text"] for r in results]
        if args.json:
            print(json.dumps({"prompt": prompt, "generated_text": texts if len(texts) > 1 else texts[0]},
                             ensure_ascii=False))
        else:
            print("\n---\n".join(texts))
    return 0
