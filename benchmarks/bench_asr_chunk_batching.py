"""Long-audio speech recognition (``chunk_length_s``) for a batch of requests: each clip's chunks
on their own (one pipeline call per clip, the server's path before issue 11) against the chunks
of all the clips sharing forward passes (one call, what the server does now).

    python benchmarks/bench_asr_chunk_batching.py [--repeats 3] [--threads 2] [--hidden 256 --layers 4]

Random-weight CTC Wav2Vec2 (layer norm: padding exact, any chunks batch; group norm: only
chunks of equal length batch), 6 clips of 2.5-9 s cut into 2 s chunks, 8 chunks a pass. Each
cell is the median seconds for the 6 clips (interleaved with the shared harness); also printed:
forward passes per side and whether every transcript is identical.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from harness import interleaved_medians, print_table

CHARS = ["<pad>", "<s>", "</s>", "<unk>", "|", "a", "b", "c", "d", "e", "h", "l", "o", "r", "w"]
PARAMS = {"chunk_length_s": 2.0, "stride_length_s": 0.4}


def make_folder(folder: Path, norm: str, hidden: int, layers: int) -> str:
    import transformers

    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate(CHARS)}))
    extractor = transformers.Wav2Vec2FeatureExtractor(return_attention_mask=norm == "layer")
    tokenizer = transformers.Wav2Vec2CTCTokenizer(str(folder / "vocab.json"))
    transformers.Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    config = transformers.Wav2Vec2Config(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4, intermediate_size=hidden * 4,
        feat_extract_norm=norm, do_stable_layer_norm=norm == "layer", vocab_size=len(CHARS), pad_token_id=0)
    torch.manual_seed(0)
    transformers.Wav2Vec2ForCTC(config).save_pretrained(folder)
    return str(folder)


def forward_passes(pipe, run) -> int:
    count = []
    handle = pipe.model.register_forward_pre_hook(lambda *_: count.append(1))
    try:
        run()
    finally:
        handle.remove()
    return len(count)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import polymodal
    from polymodal.serve.tasks import adapter_for

    adapter = adapter_for("automatic-speech-recognition")
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal(int(s * 16000)).astype(np.float32) * 0.1 for s in (2.5, 9.0, 4.0, 6.5, 3.0, 7.5)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for norm in ("layer", "group"):
            pipe = polymodal.pipeline("automatic-speech-recognition",
                                      model=make_folder(Path(tmp) / norm, norm, args.hidden, args.layers))
            runs = {
                "per clip": lambda: [pipe(clip, batch_size=adapter.chunks_per_pass, **PARAMS) for clip in clips],
                "shared passes": lambda: adapter.predict(pipe, clips, PARAMS),
            }
            times = interleaved_medians(runs, repeats=args.repeats)
            rows.append({"model": f"{norm}-norm", "padding exact": pipe.padding_is_exact(),
                         "per clip (s)": times["per clip"], "shared passes (s)": times["shared passes"],
                         "speed-up": times["per clip"] / times["shared passes"],
                         "passes per clip / shared": f"{forward_passes(pipe, runs['per clip'])} / "
                                                     f"{forward_passes(pipe, runs['shared passes'])}",
                         "same transcripts": runs["per clip"]() == runs["shared passes"]()})
    print_table(rows, ["model", "padding exact", "per clip (s)", "shared passes (s)", "speed-up",
                       "passes per clip / shared", "same transcripts"])


if __name__ == "__main__":
    main()
