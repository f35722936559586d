"""Whisper in pipeline("automatic-speech-recognition"), the CLI and the server — identical to Transformers'."""

from __future__ import annotations

import json

import numpy as np
import pytest
from whisper_helpers import write_tiny_whisper

import polymodal
from polymodal.audio.io import load_audio
from polymodal.core.errors import InvalidInputError

transformers = pytest.importorskip("transformers")
DATA = __import__("pathlib").Path(__file__).parent / "data"
SPEECH = str(DATA / "speech_16k.wav")
FAST = {"num_beams": 1, "max_new_tokens": 12}  # keeps the random model's beam search short in CI


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(write_tiny_whisper(tmp_path_factory.mktemp("whisper_pipe")))


@pytest.fixture(scope="module")
def pipes(folder):
    theirs = transformers.pipeline("automatic-speech-recognition", model=folder, device="cpu")
    ours = polymodal.pipeline("automatic-speech-recognition", model=folder)
    return theirs, ours


def _noise(seconds, seed):
    return np.random.default_rng(seed).standard_normal(int(16000 * seconds)).astype(np.float32) * 0.1


def _same(pipes, audio, **kwargs):
    theirs, ours = pipes
    expected = theirs(audio.copy(), **kwargs)
    got = ours(audio, **kwargs)
    assert got == expected, (kwargs, got, expected)
    return got


def test_defaults_beam5(pipes):
    # Transformers' pipeline defaults (num_beams=5; max_length from the checkpoint)
    assert type(pipes[1]).__name__ == "SpeechSeq2SeqPipeline"
    _same(pipes, _noise(3, 0))


@pytest.mark.parametrize("kwargs", [
    {"return_timestamps": True, "generate_kwargs": FAST},
    {"return_timestamps": True, "return_language": True, "generate_kwargs": FAST},
    {"return_language": True, "generate_kwargs": {**FAST, "language": "fr"}},
    {"generate_kwargs": {**FAST, "language": "de", "task": "translate"}},
])
def test_short_form_options(pipes, kwargs):
    _same(pipes, _noise(4, 1), **kwargs)


def test_speech_clip_with_timestamps(pipes):
    result = _same(pipes, load_audio(SPEECH, sampling_rate=16000), return_timestamps=True, generate_kwargs=FAST)
    assert result["chunks"] and all(len(c["timestamp"]) == 2 for c in result["chunks"])


def test_long_form_sequential(pipes):
    # over 30 s without chunk_length_s: Whisper's own sequential decoding, timestamps shifted per window
    result = _same(pipes, _noise(40, 2), return_timestamps=True, generate_kwargs={"num_beams": 1})
    assert result["chunks"][-1]["timestamp"][0] > 30


@pytest.mark.parametrize("timestamps", [False, True])
def test_chunked(pipes, timestamps):
    _same(pipes, _noise(22, 3), chunk_length_s=8, stride_length_s=1.5, return_timestamps=timestamps,
          generate_kwargs={"num_beams": 1, "max_new_tokens": 8}, ignore_warning=True)


def test_batch_invariant(pipes):
    from pipeline_helpers import assert_batch_invariant

    clips = [_noise(2, 4), _noise(3, 5), _noise(2, 6)]
    assert_batch_invariant(pipes[1], clips, batch_size=2, generate_kwargs=FAST)


def test_bad_input(pipes):
    ours = pipes[1]
    with pytest.raises(InvalidInputError, match="word-level"):
        ours(_noise(1, 0), return_timestamps="word")
    with pytest.raises(InvalidInputError, match="return_timestamps='char'"):
        ours(_noise(1, 0), return_timestamps="char")
    with pytest.raises(InvalidInputError, match="Unsupported language 'klingon'"):
        ours(_noise(1, 0), generate_kwargs={"language": "klingon"})
    with pytest.raises(InvalidInputError, match="strides"):
        ours(_noise(5, 0), chunk_length_s=2, stride_length_s=1)
    with pytest.raises(InvalidInputError, match="sampling_rate"):
        ours({"raw": _noise(1, 0), "sampling_rate": -3})


def test_cli_and_server_task(capsys, folder, pipes):
    from polymodal.cli import main
    from polymodal.serve import infer_task

    assert infer_task(folder) == "automatic-speech-recognition"
    expected = pipes[0](load_audio(SPEECH, sampling_rate=16000), return_timestamps=True)
    assert main(["transcribe", folder, SPEECH, "--timestamps", "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["text"] == expected["text"]
    assert [tuple(c["timestamp"]) for c in line["chunks"]] == [c["timestamp"] for c in expected["chunks"]]
    assert main(["transcribe", folder, SPEECH, "--language", "klingon"]) == 2
    assert "klingon" in capsys.readouterr().err
