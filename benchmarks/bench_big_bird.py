"""BigBird block-sparse encoder: polymodal vs Transformers (random weights), 2 threads.

    python benchmarks/bench_big_bird.py [--layers 2] [--length 2048] [--batch 1] [--repeats 5] [--threads 2]

Both load the *same* ``BigBirdModel`` folder of BigBird-base width (hidden 768, 12 heads,
block_size 64, 3 random blocks), written by Transformers, and run one eval forward pass on
``--batch`` × ``--length`` tokens with the last quarter of one row padded. Transformers builds the
dense T × T attention-probability matrix on every call; polymodal only when asked
(``output_attentions``). Runs are interleaved; medians; the ratio is polymodal / Transformers.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from harness import interleaved_times, medians, paired_ratios, print_table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--length", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch
    import transformers

    import polymodal

    torch.set_num_threads(args.threads)
    config = transformers.BigBirdConfig(num_hidden_layers=args.layers, max_position_embeddings=max(4096, args.length))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bigbird"
        torch.manual_seed(0)
        transformers.BigBirdModel(config).save_pretrained(folder)
        theirs = transformers.BigBirdModel.from_pretrained(folder).eval()
        ours = polymodal.BigBirdModel.from_pretrained(folder).eval()
    ids = torch.randint(5, config.vocab_size, (args.batch, args.length))
    mask = torch.ones_like(ids)
    mask[-1, 3 * args.length // 4:] = 0

    def run(model):
        def call():
            with torch.inference_mode():
                return model(input_ids=ids, attention_mask=mask).last_hidden_state
        return call

    with torch.inference_mode():
        diff = (run(ours)() - run(theirs)()).abs().max().item()
    times = interleaved_times({"polymodal": run(ours), "transformers": run(theirs)}, args.repeats)
    med, ratio = medians(times), paired_ratios(times, "transformers")
    print_table([{"case": f"BigBirdModel {args.layers} layers, {args.batch}x{args.length} tokens",
                  "polymodal s": med["polymodal"], "transformers s": med["transformers"],
                  "ratio": ratio["polymodal"], "max abs diff": diff}],
                ["case", "polymodal s", "transformers s", "ratio", "max abs diff"])


if __name__ == "__main__":
    main()
