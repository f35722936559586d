"""``polymodal`` — train, evaluate, classify and transcribe from the command line.

    polymodal train DATA --output-dir my_model          # a folder per class, or a CSV/JSONL manifest
    polymodal train --bundled --output-dir intents      # the bundled spoken-intent set
    polymodal evaluate my_model DATA                    # accuracy on a folder / manifest
    polymodal classify my_model clip1.wav clip2.flac    # top-k labels per file
    polymodal transcribe my_ctc_model talk.wav --chunk-length-s 10
    polymodal serve my_model --port 8000                # HTTP: POST /predict, GET /health /ready /metrics
    polymodal quantize my_model my_model_int8           # int8 linear + conv layers, safetensors

Heavy imports (torch, models) happen inside the commands so ``--help`` is instant. Bad input
ends with one ``error: …`` line on stderr and exit code 2; the models and data are the same
objects the Python API gives (``pipeline``, ``Trainer``, ``load_audio_folder``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

EXIT_BAD_INPUT = 2
EVAL_SPLITS = ("test", "validation", "valid", "dev", "eval")


class CliError(Exception):
    """A problem with the command's input, reported as one line (exit code 2)."""


# ----------------------------------------------------------------------------- shared helpers


def _progress(iterable, total: int, desc: str):
    from tqdm.auto import tqdm

    # disable=None: a bar on a terminal, nothing when the output is piped or captured.
    return tqdm(iterable, total=total, desc=desc, unit="batch", disable=None, file=sys.stderr)


def _check_files(files: list[str]) -> None:
    """Fail before loading a model when an input file is missing."""
    for name in files:
        if not os.path.exists(name):
            raise CliError(f"audio file {name!r} does not exist")
        if os.path.isdir(name):
            raise CliError(f"{name!r} is a folder; pass audio files (or use `polymodal evaluate` for a dataset)")


def _check_model_dir(path: str) -> None:
    if not os.path.isdir(path):
        raise CliError(f"model folder {path!r} does not exist; pass a folder written by `polymodal train` "
                       "or save_pretrained (config.json + model.safetensors)")


def _batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _load_data(data: str | None, bundled: bool, sampling_rate: int | None):
    from .datasets import load_audio_folder, load_spoken_intents

    if bundled == (data is not None):
        raise CliError("give either DATA (a folder or manifest) or --bundled, not both or neither")
    if bundled:
        return load_spoken_intents(sampling_rate=sampling_rate)
    return load_audio_folder(data, sampling_rate=sampling_rate)


def _split(data, wanted: str | None, defaults: tuple[str, ...], what: str):
    """One split of a dataset dict (``wanted``, else the first of ``defaults``); plain datasets pass."""
    if not isinstance(data, dict):
        return data
    if wanted is not None:
        if wanted not in data:
            raise CliError(f"the data has no split {wanted!r}; its splits are {sorted(data)}")
        return data[wanted]
    name = next((n for n in defaults if n in data), None)
    if name is None:
        raise CliError(f"the data has splits {sorted(data)}; choose the {what} one with --split")
    return data[name]


# ----------------------------------------------------------------------------- train


LOGMEL_RATE = 16000  # the log-mel CNN reads Whisper-style 16 kHz log-mel features


def _train_rate(args) -> int:
    if args.model == "logmel":
        return LOGMEL_RATE
    from .models.auto import AutoFeatureExtractor

    _check_model_dir(args.model)
    return AutoFeatureExtractor.from_pretrained(args.model).sampling_rate


def _train_parts(args, label_names: list[str], max_samples: int):
    """(model, feature extractor) for ``--model``: the log-mel CNN or a checkpoint folder."""
    id2label = {i: name for i, name in enumerate(label_names)}
    label2id = {name: i for i, name in id2label.items()}
    if args.model == "logmel":
        from .models.logmel_cnn.configuration import LogMelClassifierConfig
        from .models.logmel_cnn.modeling import LogMelClassifierForSequenceClassification
        from .models.whisper.feature_extraction import WhisperFeatureExtractor

        # Features are padded/cut to a fixed window that holds the longest training clip, so
        # training and the pipeline see the same frame count.
        seconds = min(30, max(1, math.ceil(max_samples / LOGMEL_RATE)))
        extractor = WhisperFeatureExtractor(feature_size=80, sampling_rate=LOGMEL_RATE, chunk_length=seconds)
        config = LogMelClassifierConfig(num_mel_bins=80, num_labels=len(label_names), id2label=id2label,
                                        label2id=label2id)
        return LogMelClassifierForSequenceClassification(config), extractor
    from .models.auto import AutoFeatureExtractor, AutoModelForAudioClassification

    model = AutoModelForAudioClassification.from_pretrained(
        args.model, num_labels=len(label_names), id2label=id2label, label2id=label2id, ignore_mismatched_sizes=True)
    return model, AutoFeatureExtractor.from_pretrained(args.model)


def _encode(dataset, extractor, desc: str):
    """Decode + featurise every clip once (``map``), keeping only the model input and the label."""
    name = extractor.model_input_names[0]

    def featurise(batch):
        arrays = [audio["array"] for audio in batch["audio"]]
        return {name: list(extractor(arrays, sampling_rate=extractor.sampling_rate)[name])}

    drop = [c for c in dataset.column_names if c != "label"]
    return dataset.map(featurise, batched=True, batch_size=64, remove_columns=drop, desc=desc)


def _accuracy(prediction):
    import numpy as np

    from .metrics import load

    logits, labels = prediction
    return load("accuracy").compute(predictions=np.argmax(logits, axis=-1), references=labels)


def cmd_train(args) -> int:
    from .train.arguments import TrainingArguments
    from .train.trainer import Trainer

    data = _load_data(args.data, args.bundled, sampling_rate=_train_rate(args))
    train_raw, eval_raw = _train_eval_splits(data, args.eval_split)
    if not train_raw.label_names:
        raise CliError("the training data has no labels; give a folder per class or a manifest with a label column")
    train_raw = _limit(train_raw, args.max_examples, args.seed)
    eval_raw = _limit(eval_raw, args.max_examples, args.seed)
    model, extractor = _train_parts(args, train_raw.label_names, max(train_raw.lengths))
    train_set = _encode(train_raw, extractor, "features (train)")
    eval_set = _encode(eval_raw, extractor, "features (eval)") if eval_raw is not None else None
    training_args = TrainingArguments(
        output_dir=args.output_dir, num_train_epochs=_epochs(args), learning_rate=_learning_rate(args),
        per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=args.batch_size,
        weight_decay=0.01, warmup_ratio=0.1, save_strategy="no",
        eval_strategy="epoch" if eval_set is not None else "no",
        logging_steps=max(1, len(train_set) // args.batch_size), seed=args.seed, report_to="none")
    trainer = Trainer(model=model, args=training_args, train_dataset=train_set, eval_dataset=eval_set,
                      processing_class=extractor, compute_metrics=_accuracy)
    trainer.train()
    trainer.save_model(args.output_dir)
    print(f"saved the model to {args.output_dir}")
    if eval_set is not None:
        # The last epoch's evaluation is the final model's: no need to run it again.
        last = [e for e in trainer.state["log_history"] if "eval_accuracy" in e]
        accuracy = last[-1]["eval_accuracy"] if last else trainer.evaluate()["eval_accuracy"]
        print(f"accuracy on {len(eval_set)} held-out clips: {accuracy:.2%}")
    return 0


def _limit(dataset, count: int | None, seed: int):
    if dataset is None or count is None or count >= len(dataset):
        return dataset
    return dataset.shuffle(seed=seed).select(range(count))


def _train_eval_splits(data, eval_split: str | None):
    """(train, eval or None): a plain dataset trains on everything; splits need a 'train' one."""
    if not isinstance(data, dict):
        if eval_split is not None:
            raise CliError(f"--eval-split {eval_split!r} given but the data has no splits")
        return data, None
    if "train" not in data:
        raise CliError(f"the data has splits {sorted(data)} but no 'train' split to train on")
    return data["train"], _split(data, eval_split, EVAL_SPLITS, "evaluation") if len(data) > 1 else None


# The log-mel CNN's recipe is the demo's (polymodal/demo.py: ≥ 90 % on the bundled held-out voices);
# a pretrained checkpoint gets the audio-classification guide's fine-tuning settings.
def _learning_rate(args) -> float:
    from .demo import LOGMEL_RECIPE

    if args.learning_rate is not None:
        return args.learning_rate
    return LOGMEL_RECIPE["learning_rate"] if args.model == "logmel" else 3e-5


def _epochs(args) -> float:
    from .demo import LOGMEL_RECIPE

    if args.epochs is not None:
        return args.epochs
    return float(LOGMEL_RECIPE["num_train_epochs"]) if args.model == "logmel" else 10.0


# ----------------------------------------------------------------------------- evaluate / classify / transcribe


def cmd_evaluate(args) -> int:
    from .datasets import load_audio_folder
    from .pipelines import pipeline

    _check_model_dir(args.model_dir)
    classifier = pipeline("audio-classification", model=args.model_dir, device=args.device)
    rate = classifier.feature_extractor.sampling_rate
    dataset = _split(load_audio_folder(args.data, sampling_rate=rate), args.split, EVAL_SPLITS, "evaluation")
    expected = _expected_ids(dataset, classifier.model.config.label2id, args.data)
    correct = 0
    for indices in _progress(_batches(list(range(len(dataset))), args.batch_size),
                             math.ceil(len(dataset) / args.batch_size), "evaluate"):
        clips = [dataset[i]["audio"]["array"] for i in indices]
        results = classifier(clips, top_k=1, batch_size=args.batch_size)
        correct += sum(r[0]["label"] == expected[i] for r, i in zip(results, indices))
    print(json.dumps({"accuracy": correct / len(dataset), "correct": correct, "total": len(dataset)})
          if args.json else f"accuracy: {correct / len(dataset):.2%} ({correct}/{len(dataset)} clips)")
    return 0


def _expected_ids(dataset, label2id: dict, source: str) -> list[str]:
    """Each clip's true label name, after checking the model knows every label in the data."""
    names = dataset.label_names
    if not names:
        raise CliError(f"{source!r} has no labels; evaluate needs a folder per class or a manifest with a label column")
    unknown = sorted(set(names) - set(label2id))
    if unknown:
        raise CliError(f"labels {unknown[:5]} in {source!r} are not among the model's labels {sorted(label2id)[:10]}")
    return [names[i] for i in dataset["label"]]


def cmd_classify(args) -> int:
    from .pipelines import pipeline

    if args.ray:
        _check_model_dir(args.model_dir)
        return _ray_bulk(args, _classification_task(args.model_dir), top_k=args.top_k)
    _check_files(args.files)
    _check_model_dir(args.model_dir)
    classifier = pipeline(_classification_task(args.model_dir), model=args.model_dir, device=args.device)
    for group in _progress(_batches(args.files, args.batch_size), math.ceil(len(args.files) / args.batch_size),
                           "classify"):
        for name, result in zip(group, classifier(group, top_k=args.top_k, batch_size=args.batch_size)):
            _print_classification(name, result, args.json)
    return 0


# vision backbones (issue 15): `classify` also runs image classifiers
def _classification_task(model_dir) -> str:
    """'image-classification' for an image classifier checkpoint, else 'audio-classification'."""
    from .core.config import read_json

    architectures = read_json(os.path.join(model_dir, "config.json")).get("architectures") or []
    return "image-classification" if any("ImageClassification" in a for a in architectures) else "audio-classification"


def _print_classification(name: str, result: list[dict], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"file": name, "labels": result}))
        return
    print(name)
    for item in result:
        print(f"  {item['score']:.4f}  {item['label']}")


def cmd_transcribe(args) -> int:
    from .pipelines import pipeline

    options = {"chunk_length_s": args.chunk_length_s, "stride_length_s": args.stride_length_s}
    # Whisper (issue 16): the pipeline picks the model's way (CTC frames or generate()); these options are its own
    whisper = {"language": args.language, "task": args.task}
    if any(v is not None for v in whisper.values()):
        options["generate_kwargs"] = {k: v for k, v in whisper.items() if v is not None}
    if args.timestamps:  # bare --timestamps: segments; --timestamps word: one chunk per word
        options["return_timestamps"] = True if args.timestamps == "segment" else args.timestamps
    if args.ray:
        return _ray_bulk(args, "automatic-speech-recognition", **{k: v for k, v in options.items() if v is not None})
    _check_files(args.files)
    _check_model_dir(args.model_dir)
    recognizer = pipeline("automatic-speech-recognition", model=args.model_dir, device=args.device)
    options = {k: v for k, v in options.items() if v is not None}
    # --batch-size: clips (or the chunks of a long clip) go through the model that many at a time;
    # transcripts do not depend on it (pipelines bucket clips whose padding is not masked exactly).
    for group in _progress(_batches(args.files, args.batch_size), math.ceil(len(args.files) / args.batch_size),
                           "transcribe"):
        for name, result in zip(group, recognizer(group, batch_size=args.batch_size, **options)):
            text = result["text"]
            if args.json:
                print(json.dumps({"file": name, **result}))
            else:
                print(f"{name}\t{text}")
                for chunk in result.get("chunks", []):  # --timestamps
                    start, end = chunk["timestamp"]
                    print(f"  [{start} - {end}]\t{chunk['text']}")
    return 0


def _ray_bulk(args, task: str, **call_kwargs) -> int:
    # --- Ray Data bulk inference (issue 11): files, folders or manifests → JSONL, in input order
    from .serve.bulk import bulk_inference, expand_inputs

    _check_model_dir(args.model_dir)
    files = expand_inputs(args.files)
    lines = bulk_inference(task, args.model_dir, files, batch_size=args.batch_size, concurrency=args.concurrency,
                           device=args.device, **call_kwargs)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        for line in lines:
            print(line, file=out)
    finally:
        if args.output:
            out.close()
    return 0


def _add_ray(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ray", action="store_true", help="bulk inference on Ray Data (a local cluster, or "
                        "RAY_ADDRESS): FILEs may also be folders or CSV/JSONL manifests; prints JSONL")
    parser.add_argument("--concurrency", type=_positive_int, default=2, help="pipeline actors with --ray (default 2)")
    parser.add_argument("--output", default=None, help="write the JSONL here instead of stdout (with --ray)")


def cmd_serve(args) -> int:
    # --- serving (issue 11): uvicorn by default, Ray Serve with --ray
    try:
        from .serve import serve
        from .serve.logs import configure
    except ImportError as err:
        raise CliError(f"serving needs the 'serve' extra ({err.name} is missing): pip install 'polymodal[serve]'") from None

    _check_model_dir(args.model_dir)
    configure(args.log_format)
    options = dict(task=args.task, host=args.host, port=args.port, max_batch_size=args.max_batch_size,
                   max_wait_ms=args.max_wait_ms, max_request_bytes=int(args.max_request_mb * 2**20),
                   max_queue=args.max_queue, device=args.device, timeout_s=args.timeout_s, backend=args.backend,
                   max_seconds=args.max_audio_seconds, max_samples=int(args.max_audio_seconds * 48000),
                   min_sampling_rate=args.min_sampling_rate, max_concurrent_decodes=args.max_concurrent_decodes)
    if args.ray:
        from .serve.ray import serve_on_ray

        serve_on_ray(args.model_dir, replicas=args.replicas, max_replicas=args.max_replicas,
                     target_ongoing_requests=args.target_ongoing_requests, **options)
        return 0
    serve(args.model_dir, max_connections=args.max_connections, header_timeout_s=args.header_timeout_s,
          drain_timeout_s=args.drain_timeout_s, **options)
    return 0


# ----------------------------------------------------------------------------- parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _add_common(parser: argparse.ArgumentParser, batch_size: int) -> None:
    parser.add_argument("--batch-size", type=_positive_int, default=batch_size,
                        help=f"clips per forward pass (default {batch_size})")
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda:0 (default cpu)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per line instead of text")


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train an audio classifier on a folder, a manifest or the bundled set",
                       description="Train an audio classifier. DATA is a folder per class (DATA/<label>/*.wav, "
                       "optionally inside train/ and test/ folders) or a CSV/JSONL manifest with path and label "
                       "columns (and an optional split column). The model, its feature extractor and labels are "
                       "saved to --output-dir, ready for `polymodal classify`.")
    p.add_argument("data", nargs="?", metavar="DATA", help="a folder of audio or a CSV/JSONL manifest")
    p.add_argument("--bundled", action="store_true", help="train on the bundled spoken-intent dataset")
    p.add_argument("--model", default="logmel", metavar="logmel|FOLDER",
                   help="'logmel' (default: a small CNN on log-mel features, trains in minutes on a CPU) or a "
                   "checkpoint folder to fine-tune, e.g. a Wav2Vec2 model")
    p.add_argument("--output-dir", required=True, help="where to save the trained model")
    p.add_argument("--epochs", type=_positive_float, default=None,
                   help="training epochs (default 15 for logmel, 10 for a checkpoint)")
    p.add_argument("--learning-rate", type=_positive_float, default=None,
                   help="peak learning rate, after a 10%% linear warm-up "
                   "(default 5e-3 for logmel, 3e-5 for a checkpoint)")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="examples per step (default 32)")
    p.add_argument("--eval-split", default=None, help="split to evaluate on (default: test/validation if present)")
    p.add_argument("--max-examples", type=_positive_int, default=None,
                   help="use at most this many clips per split (a quick trial run)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.set_defaults(func=cmd_train)


def _serve_parser(sub) -> None:
    # --- serving (issue 11); docs/serving.md
    p = sub.add_parser("serve", help="serve a model over HTTP (POST /predict, GET /health /ready /metrics)",
                       description="Load MODEL_DIR once and answer POST /predict with the pipeline's result as "
                       "JSON. The body is an audio/image file (parameters in the query string, e.g. ?top_k=3) or "
                       'JSON {"inputs": <base64 file>, "parameters": {...}}. Concurrent requests are batched into '
                       "one forward pass. Runs on uvicorn; SIGTERM drains (in-flight requests finish, new get 503).")
    p.add_argument("model_dir", metavar="MODEL_DIR")
    p.add_argument("--task", default=None, help="pipeline task (default: from the config's architectures)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--max-batch-size", type=_positive_int, default=8,
                   help="requests per forward pass at most (default 8)")
    p.add_argument("--max-wait-ms", type=float, default=10.0,
                   help="how long a request waits for others to share its batch (default 10)")
    p.add_argument("--max-queue", type=_positive_int, default=64,
                   help="requests waiting for a batch at most; more get 503 + Retry-After (default 64)")
    p.add_argument("--timeout-s", type=_positive_float, default=60.0,
                   help="per-request deadline; a request not answered by then gets 504 (default 60)")
    p.add_argument("--max-request-mb", type=_positive_float, default=10.0,
                   help="largest request body in MiB; bigger ones get 413 (default 10)")
    p.add_argument("--max-audio-seconds", type=_positive_float, default=600.0,
                   help="longest audio accepted, read from the file header before decoding (default 600)")
    p.add_argument("--min-sampling-rate", type=_positive_int, default=4000,
                   help="audio declaring a lower rate gets 422 (default 4000)")
    p.add_argument("--max-concurrent-decodes", type=_positive_int, default=2,
                   help="request bodies decoded at the same time at most (default 2)")
    p.add_argument("--max-connections", type=_positive_int, default=1000,
                   help="open connections at most; more get 503 (default 1000)")
    p.add_argument("--header-timeout-s", type=_positive_float, default=10.0,
                   help="a connection must send its request headers within this time (default 10)")
    p.add_argument("--drain-timeout-s", type=_positive_float, default=30.0,
                   help="on SIGTERM, how long in-flight requests may take to finish (default 30)")
    p.add_argument("--log-format", choices=("text", "json"), default="text", help="log lines as text or JSON")
    p.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch",
                   help="inference backend (onnxruntime: exported on first use, cached beside the checkpoint)")
    p.add_argument("--ray", action="store_true", help="deploy on Ray Serve instead of one uvicorn process")
    p.add_argument("--replicas", type=_positive_int, default=1, help="Ray Serve replicas (with --ray; default 1)")
    p.add_argument("--max-replicas", type=_positive_int, default=None,
                   help="with --ray: autoscale between --replicas and this many replicas")
    p.add_argument("--target-ongoing-requests", type=_positive_float, default=None,
                   help="with --max-replicas: requests per replica before Ray adds one (Ray's default if unset)")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda:0 (default cpu)")
    p.set_defaults(func=cmd_serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polymodal", description="polymodal: audio classification and speech "
                                     "recognition from the command line, offline.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _train_parser(sub)
    p = sub.add_parser("evaluate", help="accuracy of a classifier on a folder or manifest",
                       description="Classify every clip of DATA (a folder per class or a manifest) with the model in "
                       "MODEL_DIR and print the accuracy. Labels are matched to the model's by name.")
    p.add_argument("model_dir", metavar="MODEL_DIR")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--split", default=None, help="split to use when DATA has several (default: test)")
    _add_common(p, batch_size=16)
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("classify", help="print the top labels of audio or image files",
                       description="Run the audio- or image-classification pipeline of MODEL_DIR (picked from its "
                       "config) on each FILE (wav, flac, ogg, mp3; or png, jpeg …) and print the top-k labels with "
                       "their scores.")
    p.add_argument("model_dir", metavar="MODEL_DIR")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--top-k", type=_positive_int, default=5, help="labels to print per file (default 5)")
    _add_common(p, batch_size=8)
    _add_ray(p)
    p.set_defaults(func=cmd_classify)
    p = sub.add_parser("transcribe", help="speech to text with a CTC or Whisper model",
                       description="Run the speech-recognition pipeline of MODEL_DIR (a CTC model such as "
                       "Wav2Vec2ForCTC with its tokenizer, or a Whisper checkpoint with its processor) on each "
                       "FILE and print FILE<TAB>text. Whisper transcribes audio over 30 s with its own "
                       "sequential long-form decoding unless --chunk-length-s is given.")
    p.add_argument("model_dir", metavar="MODEL_DIR")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--chunk-length-s", type=_positive_float, default=None,
                   help="cut long audio into chunks of this many seconds (e.g. 10)")
    p.add_argument("--stride-length-s", type=_positive_float, default=None,
                   help="context on each side of a chunk in seconds (default chunk/6)")
    p.add_argument("--language", default=None, help="Whisper: the spoken language (e.g. en, French); "
                   "detected when left out")
    p.add_argument("--task", choices=("transcribe", "translate"), default=None,
                   help="Whisper: transcribe (default) or translate into English")
    p.add_argument("--timestamps", nargs="?", const="segment", default=None, choices=("segment", "word", "char"),
                   help="print timestamps: segment (the default; Whisper), word (Whisper, needs alignment_heads "
                   "in its generation config; or CTC) or char (CTC)")
    _add_common(p, batch_size=1)
    _add_ray(p)
    p.set_defaults(func=cmd_transcribe)
    _serve_parser(sub)
    # --- int8 quantisation (issue 12) ---
    from .export.cli import add_parser as add_quantize_parser

    add_quantize_parser(sub, CliError)
    # --- NLP pipelines (issue 14) ---
    from .pipelines.text_cli import add_parser as add_text_parser

    add_text_parser(sub, CliError)
    # --- text generation (issue 13) ---
    from .generation.cli import add_parser as add_generate_parser

    add_generate_parser(sub, CliError)
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    from .core.errors import PolymodalError

    try:
        return args.func(args)
    except (CliError, PolymodalError, OSError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _one_line(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
