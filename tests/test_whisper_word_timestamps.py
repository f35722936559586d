"""Whisper word-level timestamps: token times (alignment heads + DTW), word grouping, the pipeline,
the CLI — equal to Transformers 5.23 on a tiny random checkpoint with ``alignment_heads``."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from whisper_helpers import write_tiny_whisper

import polymodal
from polymodal.audio.io import load_audio
from polymodal.core.errors import InvalidInputError
from polymodal.models.whisper import asr_decoding, word_grouping
from polymodal.models.whisper.alignment import dynamic_time_warping, median_filter
from polymodal.models.whisper.modeling import WhisperForConditionalGeneration
from polymodal.models.whisper.tokenization import WhisperTokenizer

transformers = pytest.importorskip("transformers")
from transformers.models.whisper import generation_whisper as hf_generation  # noqa: E402
from transformers.models.whisper import tokenization_whisper as hf_tokenization  # noqa: E402

SPEECH = str(Path(__file__).parent / "data" / "speech_16k.wav")
HEADS = [[1, 0], [0, 3], [1, 2]]  # (layer, head) of the 2-layer, 4-head tiny decoder; order kept on purpose
FAST = {"num_beams": 1, "max_new_tokens": 12}


def _noise(seconds, seed):
    return np.random.default_rng(seed).standard_normal(int(16000 * seconds)).astype(np.float32) * 0.1


def _tones(seconds=6.0):
    """A synthetic clip: tone bursts with silence between them."""
    t = np.arange(int(16000 * seconds)) / 16000
    bursts = (np.sin(2 * np.pi * 0.5 * t) > 0.3).astype(np.float32)
    return (0.3 * bursts * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_tiny_whisper(tmp_path_factory.mktemp("whisper_words"), alignment_heads=HEADS)


@pytest.fixture(scope="module")
def models(folder):
    theirs = transformers.WhisperForConditionalGeneration.from_pretrained(folder).eval()
    ours = WhisperForConditionalGeneration.from_pretrained(folder)
    extractor = transformers.WhisperFeatureExtractor.from_pretrained(folder)
    return theirs, ours, extractor


@pytest.fixture(scope="module")
def tokenizers(folder):
    return transformers.WhisperTokenizer.from_pretrained(folder), WhisperTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def pipes(folder):
    theirs = transformers.pipeline("automatic-speech-recognition", model=str(folder), device="cpu")
    ours = polymodal.pipeline("automatic-speech-recognition", model=str(folder))
    return theirs, ours


# ----------------------------------------------------------------------------- the kernels
def test_dynamic_time_warping_matches():
    rng = np.random.default_rng(0)
    matrices = [rng.standard_normal(shape) for shape in [(1, 1), (1, 9), (9, 1), (3, 7), (12, 40), (40, 12)]]
    matrices.append(rng.integers(0, 3, (10, 30)).astype(np.float64))  # many exact ties
    matrices.append(np.full((4, 9), np.nan))  # a constant row standardises to NaN
    for matrix in matrices:
        expected = hf_generation._dynamic_time_warping(matrix)
        got = dynamic_time_warping(matrix)
        assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]), matrix.shape


def test_median_filter_matches():
    x = torch.randn(2, 3, 5, 20, generator=torch.Generator().manual_seed(0))
    for width in (1, 3, 7):
        assert torch.equal(median_filter(x, width), hf_generation._median_filter(x, width))
    assert torch.equal(median_filter(x[..., :3], 7), x[..., :3])  # too short: unchanged
    with pytest.raises(InvalidInputError, match="median_filter_width=4"):
        median_filter(x, 4)


# ----------------------------------------------------------------------------- generate(return_token_timestamps)
def _generate_both(models, features, **kwargs):
    theirs, ours, _ = models
    expected = theirs.generate(features, return_token_timestamps=True, **kwargs)
    got = ours.generate(features, return_token_timestamps=True, **kwargs)
    assert torch.equal(got["sequences"], expected["sequences"]), (kwargs, got["sequences"], expected["sequences"])
    torch.testing.assert_close(got["token_timestamps"], expected["token_timestamps"], atol=1e-4, rtol=0)
    assert got["token_timestamps"].dtype == torch.float32
    return got, expected


@pytest.mark.parametrize(("kwargs", "masked"), [
    ({}, True),  # per-row frames (clips of different lengths)
    ({"return_timestamps": True}, False),  # the whole 30 s window, rows standardised together
    ({"num_beams": 3}, True),  # the weights of each step's beam
    ({"language": "fr", "return_timestamps": True, "num_beams": 2}, False),
])
def test_token_timestamps_short_form(models, kwargs, masked):
    extractor = models[2]
    clips = [load_audio(SPEECH, sampling_rate=16000), _tones(4)]
    inputs = extractor(clips, sampling_rate=16000, return_tensors="pt", return_attention_mask=True)
    extra = {"attention_mask": inputs.attention_mask} if masked else {}
    got, _ = _generate_both(models, inputs.input_features, max_new_tokens=10, **extra, **kwargs)
    assert got["token_timestamps"].shape == got["sequences"].shape


def test_token_timestamps_long_form(models):
    extractor = models[2]
    inputs = extractor([_noise(38, 2), _noise(32, 3)], sampling_rate=16000, return_tensors="pt", truncation=False,
                       padding="longest", return_attention_mask=True)
    got, expected = _generate_both(models, inputs.input_features, attention_mask=inputs.attention_mask,
                                   return_timestamps=True, return_segments=True)
    for row_got, row_expected in zip(got["segments"], expected["segments"]):
        assert len(row_got) == len(row_expected)
        for a, b in zip(row_got, row_expected):
            torch.testing.assert_close(a["token_timestamps"], b["token_timestamps"], atol=1e-4, rtol=0)
    assert max(float(s["token_timestamps"].max()) for s in got["segments"][0]) > 30  # shifted per window


# ----------------------------------------------------------------------------- words
TEXTS = [
    " Hello, world! How are you doing today?",
    " «Bonjour» (dit-il) — l'été, déjà vu.",
    "我爱北京天安门，天安门上太阳升。",
    " Привет мир, Γειά σου κόσμε, مرحبا بالعالم",
    " don't stop—it's fine; we'll see (maybe) [yes] {no}",
    ' "Quoted" words... and ¿qué? ¡Sí!',
    " 日本語のテキストも少し。",
    " I ❤️ 🍕 pizza and 🐱 cats!!! 🎉",
]


@pytest.mark.parametrize("language", [None, "english", "chinese", "japanese"])
def test_word_grouping_matches(tokenizers, language):
    theirs, ours = tokenizers
    for text in TEXTS:
        ids = ours.encode(text, add_special_tokens=False)
        assert ids == theirs.encode(text, add_special_tokens=False)
        expected = hf_tokenization._combine_tokens_into_words(theirs, list(ids), language)
        assert word_grouping.combine_tokens_into_words(ours, list(ids), language) == expected, text


def _timed_output(tokenizer, text, start, end, first_time, stride=None, prefix=()):
    """One chunk's generate() output: ``prefix <|start|> text <|end|>`` and rising token times."""
    begin = tokenizer.convert_tokens_to_ids("<|notimestamps|>") + 1
    ids = tokenizer.encode(text, add_special_tokens=False)
    tokens = [*prefix, begin + round(start / 0.02), *ids, begin + round(end / 0.02)]
    times = torch.linspace(first_time, first_time + end - start, len(tokens), dtype=torch.float32)
    output = {"tokens": torch.tensor([tokens]), "token_timestamps": [times]}
    if stride is not None:
        output["stride"] = stride
    return output


def _decode_both(tokenizers, outputs, **kwargs):
    theirs, ours = tokenizers
    expected = hf_tokenization._decode_asr(theirs, copy.deepcopy(outputs), return_timestamps="word",
                                           time_precision=0.02, **kwargs)
    got = asr_decoding.decode_asr(ours, copy.deepcopy(outputs), return_timestamps="word", time_precision=0.02,
                                  **kwargs)
    assert got == expected
    return got


def test_decode_asr_words_matches(tokenizers):
    ours = tokenizers[1]
    english = ours.convert_tokens_to_ids(["<|startoftranscript|>", "<|en|>", "<|transcribe|>"])
    text, optional = _decode_both(tokenizers, [_timed_output(ours, TEXTS[0], 0.0, 3.0, 0.0, prefix=english)],
                                  return_language=True)
    assert text == TEXTS[0] and [w["text"] for w in optional["chunks"]][:2] == [" Hello,", " world!"]
    assert all(w["language"] == "english" for w in optional["chunks"])
    # overlapping chunks (strides in seconds): the token runs and their times merge on the overlap
    words = " the quick brown fox jumps over the lazy dog and runs far away from here"
    chunks = [_timed_output(ours, words[:52], 0.0, 6.0, 0.0, stride=(8.0, 0.0, 1.5)),
              _timed_output(ours, words[30:], 0.0, 6.5, 0.0, stride=(8.0, 1.5, 0.0))]
    _decode_both(tokenizers, chunks, return_language=False)
    # the left run's times later than the right run's on the overlap: those tokens do not match
    late = [_timed_output(ours, words[:52], 0.0, 6.0, 4.0, stride=(8.0, 0.0, 1.5)), chunks[1]]
    _decode_both(tokenizers, late, return_language=False)
    # long-form output: times restart in each 30 s window
    windows = [_timed_output(ours, " first window words", 0.0, 29.0, 0.0)]
    second = _timed_output(ours, " second window words", 0.0, 10.0, 29.0)
    windows[0]["tokens"] = torch.cat([windows[0]["tokens"], second["tokens"]], dim=-1)
    windows[0]["token_timestamps"] = [torch.cat([windows[0]["token_timestamps"][0], second["token_timestamps"][0]])]
    _decode_both(tokenizers, windows, return_language=False)


# ----------------------------------------------------------------------------- the pipeline
def _same(pipes, audio, **kwargs):
    theirs, ours = pipes
    expected = theirs(audio.copy(), **kwargs)
    got = ours(audio, **kwargs)
    assert got["text"] == expected["text"], (kwargs, got, expected)
    assert [c["text"] for c in got["chunks"]] == [c["text"] for c in expected["chunks"]]
    np.testing.assert_allclose([c["timestamp"] for c in got["chunks"]],
                               [c["timestamp"] for c in expected["chunks"]], atol=1e-4)
    assert got == expected  # same keys, tuples, languages
    return got


@pytest.mark.parametrize("kwargs", [
    {"generate_kwargs": FAST},
    {"return_language": True, "generate_kwargs": FAST},
    {"generate_kwargs": {"max_new_tokens": 10}},  # the pipeline's default beam search (5 beams)
])
def test_pipeline_words_short_form(pipes, kwargs):
    result = _same(pipes, load_audio(SPEECH, sampling_rate=16000), return_timestamps="word", **kwargs)
    assert result["chunks"] and all(set(c) >= {"text", "timestamp"} for c in result["chunks"])


def test_pipeline_words_synthetic_clip(pipes):
    _same(pipes, _tones(), return_timestamps="word", generate_kwargs=FAST)


def test_pipeline_words_chunked(pipes):
    _same(pipes, _noise(14, 3), chunk_length_s=6, stride_length_s=1, return_timestamps="word",
          generate_kwargs={"num_beams": 1, "max_new_tokens": 6}, ignore_warning=True)


def test_pipeline_words_long_form_sequential(pipes):
    result = _same(pipes, _noise(40, 2), return_timestamps="word", generate_kwargs={"num_beams": 1})
    assert result["chunks"][-1]["timestamp"][1] > 30


def test_pipeline_words_batch_invariant(pipes):
    from pipeline_helpers import assert_batch_invariant

    clips = [_noise(2, 4), _noise(3, 5), _tones(2)]
    assert_batch_invariant(pipes[1], clips, batch_size=2, return_timestamps="word", generate_kwargs=FAST)


def test_bad_input(pipes, models):
    ours = pipes[1]
    with pytest.raises(InvalidInputError, match="return_timestamps='char'"):
        ours(_noise(1, 0), return_timestamps="char")
    config = ours.model.generation_config
    config.alignment_heads = None
    try:
        with pytest.raises(InvalidInputError, match=r"word-level timestamps.*alignment_heads"):
            ours(_noise(1, 0), return_timestamps="word")
        features = models[2](_noise(1, 0), sampling_rate=16000, return_tensors="pt").input_features
        with pytest.raises(InvalidInputError, match="alignment_heads"):
            ours.model.generate(features, return_token_timestamps=True, max_new_tokens=4)
        config.alignment_heads = [[5, 0]]
        with pytest.raises(InvalidInputError, match=r"alignment_heads=\[\[5, 0\]\].*decoder_layers=2"):
            ours.model.generate(features, return_token_timestamps=True, max_new_tokens=4)
    finally:
        config.alignment_heads = HEADS


def test_alignment_heads_round_trip(models, tmp_path):
    models[1].save_pretrained(tmp_path)
    assert transformers.GenerationConfig.from_pretrained(tmp_path).alignment_heads == HEADS


def test_cli_word_timestamps(capsys, folder, pipes):
    from polymodal.cli import main

    audio = load_audio(SPEECH, sampling_rate=16000)
    expected = pipes[1](audio, return_timestamps="word")  # (equal to Transformers': the pipeline tests)
    assert main(["transcribe", str(folder), SPEECH, "--timestamps", "word", "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["text"] == expected["text"]
    assert [(c["text"], tuple(c["timestamp"])) for c in line["chunks"]] == \
        [(c["text"], c["timestamp"]) for c in expected["chunks"]]
    assert main(["transcribe", str(folder), SPEECH, "--timestamps"]) == 0  # bare flag: segments, as before
    assert "\t" in capsys.readouterr().out


def test_server_word_timestamps(folder, pipes):
    from serve_helpers import Live

    from polymodal.serve import load_service

    body = Path(SPEECH).read_bytes()
    expected = pipes[1](body, return_timestamps="word")  # the server's pipeline keeps its defaults (5 beams)
    running = Live(load_service(folder))
    try:
        status, _, reply = running.request("POST", "/predict?return_timestamps=word", body,
                                           {"Content-Type": "audio/wav"}, timeout=300)
        assert status == 200, reply
        assert reply["text"] == expected["text"]
        assert [(c["text"], tuple(c["timestamp"])) for c in reply["chunks"]] == \
            [(c["text"], c["timestamp"]) for c in expected["chunks"]]
    finally:
        running.close()
