"""Blenderbot-Small and a BertGeneration ``EncoderDecoderModel``: polymodal vs Transformers, 2 threads.

    python benchmarks/bench_encoder_decoder.py [--cases blenderbot-small bert2bert bert2bert-beams]
                                               [--repeats 3] [--threads 2] [--new 24]

Shapes (issue 16), random weights written once by Transformers:

* ``blenderbot-small``: ``facebook/blenderbot_small-90M`` (8+8 layers, 512 wide, 16 heads, FFN 2048,
  vocabulary 54944), 4 prompts × 64 tokens, 4 beams;
* ``bert2bert`` / ``bert2bert-beams``: a BertGeneration encoder-decoder of 6+6 layers, 512 wide,
  8 heads, FFN 2048, BERT's vocabulary (30522), 4 inputs × 128 tokens, greedy / 4 beams.

Random weights never stop on their own, so every call writes exactly ``--new`` tokens
(``min_new_tokens = max_new_tokens``); both libraries emit the same tokens (token-exact tests).
Runs are interleaved (rotating who goes first); medians; ratios paired per round.

Measured on the shared 2-core machine under other jobs (so only rough), same tokens in every case:
blenderbot-small 0.94x Transformers' time (load ~5; 1.22x in a first run at load ~11),
bert2bert 0.88x, bert2bert-beams 0.83x (load ~11).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from harness import interleaved_times, medians, paired_ratios, print_table

BERT = {"vocab_size": 30522, "hidden_size": 512, "num_hidden_layers": 6, "num_attention_heads": 8,
        "intermediate_size": 2048, "max_position_embeddings": 512, "pad_token_id": 0, "bos_token_id": 101,
        "eos_token_id": 102}


def blenderbot_small_folder(root: Path) -> Path:
    import torch
    import transformers

    folder = root / "blenderbot_small-90M"
    if not (folder / "config.json").exists():
        config = transformers.BlenderbotSmallConfig(vocab_size=54944, scale_embedding=True)
        torch.manual_seed(0)
        transformers.BlenderbotSmallForConditionalGeneration(config).save_pretrained(folder)
    return folder


def bert2bert_folder(root: Path) -> Path:
    import torch
    import transformers

    folder = root / "bert2bert"
    if not (folder / "config.json").exists():
        torch.manual_seed(0)
        encoder = transformers.BertGenerationEncoder(transformers.BertGenerationConfig(**BERT))
        decoder = transformers.BertGenerationDecoder(transformers.BertGenerationConfig(
            **BERT, is_decoder=True, add_cross_attention=True))
        model = transformers.EncoderDecoderModel(encoder=encoder, decoder=decoder)
        model.config.decoder_start_token_id, model.config.pad_token_id = 101, 0
        model.save_pretrained(folder)
    return folder


def case_call(side: str, case: str, root: Path, new: int):
    """A no-argument callable running one case with one library."""
    import torch

    library = __import__("transformers" if side == "transformers" else "polymodal")
    if case == "blenderbot-small":
        model = library.BlenderbotSmallForConditionalGeneration.from_pretrained(blenderbot_small_folder(root)).eval()
        shape, beams, low = (4, 64), 4, 4
    else:
        model = library.EncoderDecoderModel.from_pretrained(bert2bert_folder(root)).eval()
        shape, beams, low = (4, 128), (4 if case == "bert2bert-beams" else 1), 103
    torch.manual_seed(2)
    ids = torch.randint(low, 30000, shape)
    mask = torch.ones_like(ids)
    return lambda: model.generate(ids, attention_mask=mask, num_beams=beams, max_new_tokens=new, min_new_tokens=new)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", nargs="+", default=["blenderbot-small", "bert2bert", "bert2bert-beams"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--new", type=int, default=24)
    parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "polymodal_bench_encoder_decoder"))
    args = parser.parse_args()
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for case in args.cases:
        calls = {side: case_call(side, case, root, args.new) for side in ("transformers", "polymodal")}
        outputs = {side: call() for side, call in calls.items()}
        same = bool(torch.equal(outputs["transformers"], outputs["polymodal"]))
        times = interleaved_times(calls, args.repeats, warmup=0)
        med, ratio = medians(times), paired_ratios(times, "transformers")
        rows.append({"case": case, "transformers s": med["transformers"], "polymodal s": med["polymodal"],
                     "ratio": ratio["polymodal"], "same tokens": same})
        print(rows[-1], flush=True)
    print_table(rows, ["case", "transformers s", "polymodal s", "ratio", "same tokens"])


if __name__ == "__main__":
    main()
