"""The ``polymodal`` command line: help texts, classify/transcribe/evaluate on tiny random
checkpoints saved by polymodal, a short train run, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from polymodal.cli import main

DATA = Path(__file__).parent / "data"
SPEECH = str(DATA / "speech_16k.wav")
SPEECH_8K = str(DATA / "speech_8k.wav")
LABELS = ["maybe", "no", "yes"]
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            conv_dim=(16, 16, 16), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3),
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, classifier_proj_size=8,
            feat_extract_norm="layer", do_stable_layer_norm=True)  # layer norm: padding-independent
LETTERS = "abcdefghijklmnopqrstuvwxyz'"


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory) -> str:
    from polymodal.models.wav2vec2.configuration import Wav2Vec2Config
    from polymodal.models.wav2vec2.feature_extraction import Wav2Vec2FeatureExtractor
    from polymodal.models.wav2vec2.modeling import Wav2Vec2ForSequenceClassification

    folder = tmp_path_factory.mktemp("w2v2-cls")
    config = Wav2Vec2Config(**TINY, num_labels=3, id2label=dict(enumerate(LABELS)),
                            label2id={n: i for i, n in enumerate(LABELS)})
    torch.manual_seed(0)
    Wav2Vec2ForSequenceClassification(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, return_attention_mask=True).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def ctc_dir(tmp_path_factory) -> str:
    from polymodal.models.wav2vec2.configuration import Wav2Vec2Config
    from polymodal.models.wav2vec2.feature_extraction import Wav2Vec2FeatureExtractor
    from polymodal.models.wav2vec2.modeling import Wav2Vec2ForCTC
    from polymodal.models.wav2vec2.processing import Wav2Vec2Processor
    from polymodal.models.wav2vec2.tokenization import Wav2Vec2CTCTokenizer

    folder = tmp_path_factory.mktemp("w2v2-ctc")
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, **{c: 5 + i for i, c in enumerate(LETTERS)}}
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps(vocab))
    config = Wav2Vec2Config(**TINY, vocab_size=len(vocab), pad_token_id=0)
    torch.manual_seed(0)
    model = Wav2Vec2ForCTC(config)
    with torch.no_grad():  # a strong bias away from the blank, so the random model writes letters
        model.lm_head.bias.copy_(torch.randn(len(vocab)) * 3)
        model.lm_head.bias[0] = -10
    model.save_pretrained(folder)
    processor = Wav2Vec2Processor(Wav2Vec2FeatureExtractor(sampling_rate=16000), Wav2Vec2CTCTokenizer(str(vocab_file)))
    processor.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory) -> Path:
    """train/ and test/ splits, folders named like the tiny classifier's labels."""
    from test_datasets_folder import write_clip

    root = tmp_path_factory.mktemp("cli-data")
    for split, count in (("train", 4), ("test", 2)):
        for k, label in enumerate(LABELS):
            for i in range(count):
                write_clip(root / split / label / f"{i}.wav", 0.3 + 0.1 * i, offset=0.2 * k + 0.05 * i,
                           rate=8000 if i % 2 else 16000)
    return root


# ----------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", [None, "train", "evaluate", "classify", "transcribe"])
def test_help(capsys, command):
    argv = ["--help"] if command is None else [command, "--help"]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: polymodal")
    if command is None:
        assert all(name in text for name in ("train", "evaluate", "classify", "transcribe"))
    else:
        assert {"train": "--output-dir", "evaluate": "MODEL_DIR", "classify": "--top-k",
                "transcribe": "--chunk-length-s"}[command] in text


def test_no_command_prints_help(capsys):
    code, _, err = run_cli(capsys)
    assert code == 2 and "usage: polymodal" in err


def test_python_dash_m_entry_point():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    done = subprocess.run([sys.executable, "-m", "polymodal", "classify", "--help"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0 and "usage: polymodal classify" in done.stdout
    done = subprocess.run([sys.executable, "-m", "polymodal", "classify", "nowhere", "missing.wav"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: audio file 'missing.wav' does not exist"


# ----------------------------------------------------------------------------- classify / transcribe / evaluate


def test_classify_matches_pipeline(capsys, classifier_dir):
    from polymodal.pipelines import pipeline

    code, out, _ = run_cli(capsys, "classify", classifier_dir, SPEECH, SPEECH_8K, "--top-k", 2, "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    expected = pipeline("audio-classification", model=classifier_dir)([SPEECH, SPEECH_8K], top_k=2)
    assert [r["file"] for r in rows] == [SPEECH, SPEECH_8K]
    for row, want in zip(rows, expected):
        assert [x["label"] for x in row["labels"]] == [x["label"] for x in want]
        assert [x["score"] for x in row["labels"]] == pytest.approx([x["score"] for x in want], abs=1e-6)
    code, out, _ = run_cli(capsys, "classify", classifier_dir, SPEECH)
    lines = out.splitlines()
    assert code == 0 and lines[0] == SPEECH and len(lines) == 4  # top-k capped at the 3 labels
    assert all(line.startswith("  0.") for line in lines[1:])


def test_transcribe_matches_pipeline(capsys, ctc_dir):
    from polymodal.pipelines import pipeline

    asr = pipeline("automatic-speech-recognition", model=ctc_dir)
    code, out, _ = run_cli(capsys, "transcribe", ctc_dir, SPEECH, SPEECH_8K)
    assert code == 0
    assert out.splitlines() == [f"{SPEECH}\t{asr(SPEECH)['text']}", f"{SPEECH_8K}\t{asr(SPEECH_8K)['text']}"]
    assert asr(SPEECH)["text"]  # the biased random model writes something
    code, out, _ = run_cli(capsys, "transcribe", ctc_dir, SPEECH, "--chunk-length-s", 1, "--json")
    assert code == 0
    assert json.loads(out)["text"] == asr(SPEECH, chunk_length_s=1)["text"]


def test_evaluate(capsys, classifier_dir, class_folder):
    from polymodal.datasets import load_audio_folder
    from polymodal.pipelines import pipeline

    code, out, _ = run_cli(capsys, "evaluate", classifier_dir, class_folder, "--json")
    assert code == 0
    result = json.loads(out)
    test = load_audio_folder(class_folder, split="test", sampling_rate=16000)
    classifier = pipeline("audio-classification", model=classifier_dir)
    predicted = [classifier(row["audio"]["array"], top_k=1)[0]["label"] for row in test]
    truth = [LABELS[i] for i in test["label"]]
    assert result["total"] == 6 and result["correct"] == sum(p == t for p, t in zip(predicted, truth))
    code, out, _ = run_cli(capsys, "evaluate", classifier_dir, class_folder, "--split", "train")
    assert code == 0 and out.startswith("accuracy: ") and "/12 clips)" in out


# ----------------------------------------------------------------------------- train


def test_train_logmel_then_classify(capsys, class_folder, tmp_path):
    out_dir = tmp_path / "model"
    code, out, err = run_cli(capsys, "train", class_folder, "--output-dir", out_dir, "--epochs", 1,
                             "--batch-size", 4)
    assert code == 0, err
    assert "accuracy on 6 held-out clips" in out
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= set(os.listdir(out_dir))
    config = json.loads((out_dir / "config.json").read_text())
    assert config["model_type"] == "logmel_cnn" and sorted(config["label2id"]) == LABELS
    code, out, _ = run_cli(capsys, "classify", out_dir, SPEECH, "--top-k", 1)
    assert code == 0 and out.splitlines()[1].split()[1] in LABELS


def test_train_from_checkpoint_folder(capsys, classifier_dir, class_folder, tmp_path):
    out_dir = tmp_path / "ft"
    code, _, err = run_cli(capsys, "train", class_folder, "--model", classifier_dir, "--output-dir", out_dir,
                           "--epochs", 1, "--batch-size", 6, "--max-examples", 6)
    assert code == 0, err
    assert json.loads((out_dir / "config.json").read_text())["model_type"] == "wav2vec2"


# ----------------------------------------------------------------------------- bad input


def test_bad_input_exits_2_with_one_line(capsys, classifier_dir, ctc_dir, class_folder, tmp_path):
    cases = [
        (["classify", classifier_dir, "missing.wav"], "error: audio file 'missing.wav' does not exist"),
        (["transcribe", ctc_dir, SPEECH, "gone.flac"], "error: audio file 'gone.flac' does not exist"),
        (["classify", classifier_dir, str(DATA)], "is a folder"),
        (["classify", str(tmp_path / "nomodel"), SPEECH], "model folder"),
        (["classify", classifier_dir, str(DATA / "corrupt.wav")], "Could not decode audio"),
        (["evaluate", classifier_dir, str(tmp_path / "nodata")], "does not exist"),
        (["evaluate", classifier_dir, str(class_folder), "--split", "dev"], "no split 'dev'"),
        (["train", "--output-dir", str(tmp_path / "x")], "give either DATA"),
        (["train", str(class_folder), "--bundled", "--output-dir", str(tmp_path / "x")], "give either DATA"),
        (["transcribe", classifier_dir, SPEECH], "CTC"),
    ]
    for argv, message in cases:
        code, out, err = run_cli(capsys, *argv)
        assert code == 2, argv
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (argv, err)


def test_evaluate_unknown_labels(capsys, classifier_dir, tmp_path):
    from test_datasets_folder import write_clip

    write_clip(tmp_path / "data" / "cat" / "a.wav", 0.3)
    code, _, err = run_cli(capsys, "evaluate", classifier_dir, tmp_path / "data")
    assert code == 2 and "labels ['cat']" in err and "not among the model's labels" in err


def test_argparse_rejects_bad_numbers(capsys, classifier_dir):
    for argv in (["classify", classifier_dir, SPEECH, "--top-k", "0"],
                 ["train", "--bundled", "--output-dir", "x", "--epochs", "-1"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        assert "expected a positive" in capsys.readouterr().err
