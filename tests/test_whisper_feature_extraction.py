"""WhisperFeatureExtractor against Transformers' (the oracle), plus save/load both ways."""

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
from polymodal.models.whisper.feature_extraction import WhisperFeatureExtractor

ATOL = 1e-5
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _quiet_transformers():
    transformers.logging.set_verbosity_error()


def clips(lengths=(16000, 4321, 48000), seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(n) * 0.1).astype(np.float32) for n in lengths]


def speech() -> np.ndarray:
    audio, rate = soundfile.read(DATA / "speech_16k.wav", dtype="float32")
    assert rate == 16000
    return audio


def both(**init):
    return WhisperFeatureExtractor(**init), transformers.WhisperFeatureExtractor(**init)


def assert_features(ours, theirs, atol=ATOL):
    a, b = np.asarray(ours["input_features"]), np.asarray(theirs["input_features"])
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=atol, rtol=0)


CALLS = {
    "default": dict(),
    "mask": dict(return_attention_mask=True),
    "longest": dict(padding="longest", return_attention_mask=True),
    "multiple": dict(padding="longest", pad_to_multiple_of=1000, return_attention_mask=True),
    "max_length": dict(max_length=20000, return_attention_mask=True),
    "normalize": dict(do_normalize=True, return_attention_mask=True),
    "np": dict(return_tensors="np"),
}


@pytest.mark.parametrize("feature_size", [80, 128])
@pytest.mark.parametrize("call", CALLS)
def test_parity_random_audio(feature_size, call):
    ours, theirs = both(feature_size=feature_size)
    kwargs = dict(sampling_rate=16000, **CALLS[call])
    a, b = ours(clips(), **kwargs), theirs(clips(), **kwargs)
    assert_features(a, b)
    assert set(a.keys()) == set(b.keys())
    if "attention_mask" in b:
        np.testing.assert_array_equal(a["attention_mask"], b["attention_mask"])
        assert a["attention_mask"].dtype == b["attention_mask"].dtype


def test_parity_real_speech_alone_and_in_a_batch():
    ours, theirs = both()
    batch = [speech(), clips((8000,))[0], speech()[:12345]]
    for inputs in (speech(), batch):
        assert_features(ours(inputs, sampling_rate=16000), theirs(inputs, sampling_rate=16000))


@pytest.mark.parametrize("init", [dict(padding_value=0.1), dict(n_fft=512, hop_length=128),
                                  dict(chunk_length=10), dict(padding_side="left")])
def test_parity_other_configs(init):
    ours, theirs = both(**init)
    kwargs = dict(sampling_rate=16000, return_attention_mask=True)
    assert_features(ours(clips(), **kwargs), theirs(clips(), **kwargs))


def test_long_input_is_truncated_or_kept():
    long = clips((30 * 16000 + 7777, 5000))
    ours, theirs = both()
    assert_features(ours(long, sampling_rate=16000), theirs(long, sampling_rate=16000))
    kwargs = dict(sampling_rate=16000, padding="longest", truncation=False, return_attention_mask=True)
    a, b = ours(long, **kwargs), theirs(long, **kwargs)
    assert a["input_features"].shape == (2, 80, (30 * 16000 + 7777) // 160)
    assert_features(a, b)
    np.testing.assert_array_equal(a["attention_mask"], b["attention_mask"])


def test_silence_and_a_loud_clip():
    batch = [np.zeros(16000, np.float32), clips((16000,))[0] * 100]
    ours, theirs = both()
    assert_features(ours(batch, sampling_rate=16000), theirs(batch, sampling_rate=16000))


def test_dither_with_a_seed_matches():
    ours, theirs = both(dither=1e-3)
    torch.manual_seed(0)
    a = ours(clips(), sampling_rate=16000)
    torch.manual_seed(0)
    assert_features(a, theirs(clips(), sampling_rate=16000))


def test_skipping_silent_frames_is_exact():
    fe = WhisperFeatureExtractor()
    batch = np.zeros((2, fe.n_samples), np.float32)
    batch[0, :20000] = clips((20000,))[0]
    full = fe._torch_extract_fbank_features(batch)
    fast = fe._torch_extract_fbank_features(batch, content_length=20000)
    np.testing.assert_allclose(fast, full, atol=1e-6, rtol=0)


@pytest.mark.parametrize("return_tensors,kind", [(None, np.ndarray), ("np", np.ndarray), ("pt", torch.Tensor)])
def test_return_types(return_tensors, kind):
    ours, theirs = both()
    a = ours(clips(), sampling_rate=16000, return_tensors=return_tensors, return_attention_mask=True)
    b = theirs(clips(), sampling_rate=16000, return_tensors=return_tensors, return_attention_mask=True)
    for key in ("input_features", "attention_mask"):
        assert isinstance(a[key], kind) and isinstance(b[key], kind)
        assert a[key].dtype == b[key].dtype
    assert a.input_features.shape == (3, 80, 3000)


@pytest.mark.parametrize("make", [
    lambda x: x[0],                           # one numpy clip
    lambda x: x[0].tolist(),                  # list of floats
    lambda x: torch.from_numpy(x[0]),         # torch tensor
    lambda x: [c.tolist() for c in x],        # list of float lists
    lambda x: np.stack([c[:4000] for c in x]),  # 2-D batch
    lambda x: (x[0] * 3000).astype(np.int16),  # int PCM, kept as numbers like Transformers
])
def test_input_kinds(make):
    ours, theirs = both()
    assert_features(ours(make(clips()), sampling_rate=16000), theirs(make(clips()), sampling_rate=16000))


def test_polymodal_saves_transformers_loads(tmp_path):
    ours = WhisperFeatureExtractor(feature_size=128, chunk_length=20)
    ours.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert data["feature_extractor_type"] == "WhisperFeatureExtractor" and "mel_filters" not in data
    for loader in (transformers.WhisperFeatureExtractor, transformers.AutoFeatureExtractor):
        theirs = loader.from_pretrained(tmp_path)
        assert theirs.feature_size == 128 and theirs.n_samples == 20 * 16000
        assert_features(ours(clips(), sampling_rate=16000), theirs(clips(), sampling_rate=16000))


def test_transformers_saves_polymodal_loads(tmp_path):
    theirs = transformers.WhisperFeatureExtractor(feature_size=128, return_attention_mask=True)
    theirs.save_pretrained(tmp_path)
    for loader in (WhisperFeatureExtractor, polymodal.AutoFeatureExtractor):
        ours = loader.from_pretrained(tmp_path)
        assert isinstance(ours, WhisperFeatureExtractor) and ours.return_attention_mask is True
        np.testing.assert_allclose(ours.mel_filters, theirs.mel_filters, rtol=1e-12)
        assert ours.to_dict() == theirs.to_dict()
        a, b = ours(clips(), sampling_rate=16000), theirs(clips(), sampling_rate=16000, return_attention_mask=True)
        assert_features(a, b)
        np.testing.assert_array_equal(a["attention_mask"], b["attention_mask"])


def test_auto_dispatch_from_model_type(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"feature_size": 80}))
    assert isinstance(polymodal.AutoFeatureExtractor.from_pretrained(tmp_path), WhisperFeatureExtractor)


def test_wrong_sampling_rate_names_expected_rate():
    with pytest.raises(InvalidInputError, match="16000"):
        WhisperFeatureExtractor()(clips(), sampling_rate=8000)


def test_missing_sampling_rate_warns():
    with pytest.warns(UserWarning, match="sampling_rate"):
        WhisperFeatureExtractor()(clips())


def test_ragged_batch_without_padding_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="padding"):
        WhisperFeatureExtractor()(clips(), sampling_rate=16000, padding=False)


def test_too_short_for_the_stft_without_max_length_padding():
    with pytest.raises(InvalidInputError, match="too short"):
        WhisperFeatureExtractor()(np.ones(150, np.float32), sampling_rate=16000, padding="longest")


@pytest.mark.parametrize("bad,match", [
    (np.zeros((2, 3, 100), np.float32), "dimensions"),
    ("speech.wav", "load_audio"),
    ([np.array([np.nan] * 500, np.float32)], "NaN"),
])
def test_bad_audio(bad, match):
    with pytest.raises(InvalidInputError, match=match):
        WhisperFeatureExtractor()(bad, sampling_rate=16000)


@pytest.mark.parametrize("method", ["__init__", "__call__"])
def test_signature_matches_transformers(method):
    import inspect

    ours = inspect.signature(getattr(WhisperFeatureExtractor, method)).parameters
    theirs = inspect.signature(getattr(transformers.WhisperFeatureExtractor, method)).parameters
    assert [(p.name, p.default) for p in ours.values()] == [(p.name, p.default) for p in theirs.values()]
