"""ASTFeatureExtractor against Transformers' (the oracle), plus save/load both ways.

torchaudio is not installed here, so Transformers takes its numpy ``spectrogram`` path; that is
what these tests compare with (see ``polymodal.audio.dsp.kaldi_fbank_torch`` for how it relates
to Kaldi itself).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import transformers

import polymodal
from polymodal.core.errors import InvalidInputError
from polymodal.models.audio_spectrogram_transformer.feature_extraction import ASTFeatureExtractor

ATOL = 1e-5
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _quiet_transformers():
    transformers.logging.set_verbosity_error()
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="At least one mel filter")  # Transformers' 128-bin bank
        yield


def clips(lengths=(16000, 4321, 400, 20000), seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(n) * 0.1).astype(np.float32) for n in lengths]


def speech() -> np.ndarray:
    audio, rate = soundfile.read(DATA / "speech_16k.wav", dtype="float32")
    assert rate == 16000
    return audio


def both(**init):
    return ASTFeatureExtractor(**init), transformers.ASTFeatureExtractor(**init)


def rows(value) -> np.ndarray:
    return np.stack([np.asarray(v) for v in value])


def assert_features(ours, theirs, atol=ATOL):
    a, b = rows(ours["input_values"]), rows(theirs["input_values"])
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=atol, rtol=0)


@pytest.mark.parametrize("init", [
    dict(),
    dict(num_mel_bins=64),
    dict(max_length=60),
    dict(do_normalize=False),
    dict(mean=0.5, std=2.0),
])
def test_parity_random_audio(init):
    ours, theirs = both(**init)
    a, b = ours(clips(), sampling_rate=16000), theirs(clips(), sampling_rate=16000)
    assert set(a.keys()) == set(b.keys()) == {"input_values"}
    assert_features(a, b)


def test_parity_real_speech_alone_and_in_a_batch():
    ours, theirs = both()
    batch = [speech(), clips((8000,))[0], speech()[:12345]]
    for inputs in (speech(), batch):
        assert_features(ours(inputs, sampling_rate=16000), theirs(inputs, sampling_rate=16000))


def test_parity_hard_signals():
    t = np.arange(32000) / 16000
    chirp = 0.5 * np.sin(2 * np.pi * (100 + 3000 * t) * t)  # sweeps 100 Hz → 6 kHz
    batch = [chirp + 0.3, np.zeros(8000), (np.sign(np.sin(2 * np.pi * 220 * t)) * 0.2)[:20000]]
    batch = [x.astype(np.float32) for x in batch]
    ours, theirs = both()
    assert_features(ours(batch, sampling_rate=16000), theirs(batch, sampling_rate=16000))


def test_long_clip_is_cut_to_max_length():
    long = clips((16000 * 12,))
    ours, theirs = both()
    a = ours(long, sampling_rate=16000, return_tensors="np")
    assert a["input_values"].shape == (1, 1024, 128)
    assert_features(a, theirs(long, sampling_rate=16000))


@pytest.mark.parametrize("return_tensors,kind", [(None, list), ("np", np.ndarray), ("pt", torch.Tensor)])
def test_return_types(return_tensors, kind):
    ours, theirs = both()
    a = ours(clips(), sampling_rate=16000, return_tensors=return_tensors)
    b = theirs(clips(), sampling_rate=16000, return_tensors=return_tensors)
    assert isinstance(a["input_values"], kind) and isinstance(b["input_values"], kind)
    assert rows(a.input_values).shape == (4, 1024, 128)


@pytest.mark.parametrize("make", [
    lambda x: x[0],
    lambda x: x[0].tolist(),
    lambda x: torch.from_numpy(x[0]),
    lambda x: np.stack([c[:3000] for c in x if len(c) >= 3000]),
    lambda x: (x[0] * 3000).astype(np.int16),
    lambda x: x[0].astype(np.float64),
])
def test_input_kinds(make):
    ours, theirs = both()
    assert_features(ours(make(clips()), sampling_rate=16000), theirs(make(clips()), sampling_rate=16000))


def test_clip_shorter_than_a_frame_is_all_padding():
    out = ASTFeatureExtractor()(np.ones(100, np.float32), sampling_rate=16000, return_tensors="np")
    np.testing.assert_allclose(out["input_values"], (0 + 4.2677393) / (2 * 4.5689974), rtol=1e-6)


def test_polymodal_saves_transformers_loads(tmp_path):
    ours = ASTFeatureExtractor(num_mel_bins=64, max_length=200)
    ours.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert data["feature_extractor_type"] == "ASTFeatureExtractor"
    for loader in (transformers.ASTFeatureExtractor, transformers.AutoFeatureExtractor):
        theirs = loader.from_pretrained(tmp_path)
        assert theirs.num_mel_bins == 64 and theirs.max_length == 200
        assert_features(ours(clips(), sampling_rate=16000), theirs(clips(), sampling_rate=16000))


def test_transformers_saves_polymodal_loads(tmp_path):
    theirs = transformers.ASTFeatureExtractor(max_length=300, mean=-3.0)
    theirs.save_pretrained(tmp_path)
    for loader in (ASTFeatureExtractor, polymodal.AutoFeatureExtractor):
        ours = loader.from_pretrained(tmp_path)
        assert isinstance(ours, ASTFeatureExtractor)
        assert ours.to_dict() == theirs.to_dict()
        assert_features(ours(clips(), sampling_rate=16000), theirs(clips(), sampling_rate=16000))


def test_auto_dispatch_from_model_type(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "audio-spectrogram-transformer"}))
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"num_mel_bins": 128}))
    assert isinstance(polymodal.AutoFeatureExtractor.from_pretrained(tmp_path), ASTFeatureExtractor)


def test_wrong_sampling_rate_names_expected_rate():
    with pytest.raises(InvalidInputError, match="16000"):
        ASTFeatureExtractor()(clips(), sampling_rate=44100)


def test_missing_sampling_rate_warns():
    with pytest.warns(UserWarning, match="sampling_rate"):
        ASTFeatureExtractor()(clips())


@pytest.mark.parametrize("bad,match", [
    (np.zeros((2, 3, 100), np.float32), "dimensions"),
    ("speech.wav", "load_audio"),
    ([np.array([np.inf] * 500, np.float32)], "NaN or infinite"),
    ([], "empty"),
])
def test_bad_audio(bad, match):
    with pytest.raises(InvalidInputError, match=match):
        ASTFeatureExtractor()(bad, sampling_rate=16000)


@pytest.mark.parametrize("method", ["__init__", "__call__"])
def test_signature_matches_transformers(method):
    import inspect

    ours = inspect.signature(getattr(ASTFeatureExtractor, method)).parameters
    theirs = inspect.signature(getattr(transformers.ASTFeatureExtractor, method)).parameters
    assert [(p.name, p.default) for p in ours.values()] == [(p.name, p.default) for p in theirs.values()]
