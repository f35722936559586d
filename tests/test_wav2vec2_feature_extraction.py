"""Wav2Vec2FeatureExtractor against Transformers' (the oracle), plus save/load both ways."""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import transformers

import polymodal
from polymodal.core.errors import CheckpointError, ConfigError, InvalidInputError
from polymodal.models.wav2vec2.feature_extraction import Wav2Vec2FeatureExtractor

ATOL = 1e-5
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _quiet_transformers():
    transformers.logging.set_verbosity_error()  # its missing-sampling_rate warning is noise here


def clips(lengths=(3000, 4800, 1601), dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(n) * 0.1).astype(dtype) for n in lengths]


def as_list(value):
    """Transformers returns lists, object arrays or 2-D arrays depending on the path; compare rows."""
    if isinstance(value, torch.Tensor):
        value = value.numpy()
    return [np.asarray(row) for row in value]


def assert_same(ours, theirs, atol=ATOL):
    assert set(ours.keys()) == set(theirs.keys())
    for key in theirs:
        a, b = ours[key], theirs[key]
        if isinstance(b, torch.Tensor):
            assert isinstance(a, torch.Tensor), key
            assert a.dtype == b.dtype or key == "input_values", (key, a.dtype, b.dtype)
        a_rows, b_rows = as_list(a), as_list(b)
        assert len(a_rows) == len(b_rows)
        for x, y in zip(a_rows, b_rows):
            assert x.shape == y.shape, (key, x.shape, y.shape)
            np.testing.assert_allclose(x.astype(np.float64), y.astype(np.float64), atol=atol, rtol=0)


def both(init=None, **call):
    init = init or {}
    theirs = transformers.Wav2Vec2FeatureExtractor(**init)
    ours = Wav2Vec2FeatureExtractor(**init)
    return ours, theirs


PADDINGS = [
    dict(padding=True),
    dict(padding="longest", pad_to_multiple_of=128),
    dict(padding="max_length", max_length=5000),
    dict(padding="max_length", max_length=4000, truncation=True),
    dict(padding="max_length", max_length=3900, truncation=True, pad_to_multiple_of=256),
    dict(padding=False),
    dict(padding="do_not_pad", max_length=2000, truncation=True),
]


@pytest.mark.parametrize("padding", PADDINGS, ids=lambda d: "-".join(f"{k}={v}" for k, v in d.items()))
@pytest.mark.parametrize("do_normalize,mask", list(itertools.product([True, False], [True, False])))
def test_parity_padding_grid(padding, do_normalize, mask):
    init = dict(do_normalize=do_normalize, padding_value=0.25)
    ours, theirs = both(init)
    return_tensors = "np" if padding["padding"] not in (False, "do_not_pad") else None
    kwargs = dict(sampling_rate=16000, return_attention_mask=mask, return_tensors=return_tensors, **padding)
    assert_same(ours(clips(), **kwargs), theirs(clips(), **kwargs))


@pytest.mark.parametrize("return_tensors", ["pt", "np", None])
def test_parity_return_types(return_tensors):
    ours, theirs = both(dict(return_attention_mask=True))
    kwargs = dict(sampling_rate=16000, padding=True, return_tensors=return_tensors)
    out, ref = ours(clips(), **kwargs), theirs(clips(), **kwargs)
    assert_same(out, ref)
    if return_tensors == "pt":
        assert out["input_values"].dtype == torch.float32 and out["attention_mask"].dtype == torch.int32
    if return_tensors == "np":
        assert out["input_values"].dtype == np.float32 and out["attention_mask"].dtype == np.int32


def test_default_mask_setting_from_config():
    for flag in (True, False):
        ours, theirs = both(dict(return_attention_mask=flag))
        out = ours(clips(), padding=True, sampling_rate=16000)
        assert ("attention_mask" in out) is flag
        assert_same(out, theirs(clips(), padding=True, sampling_rate=16000))


@pytest.mark.parametrize("make", [
    lambda x: x[1],                                   # one numpy clip
    lambda x: x[1].tolist(),                          # one list of floats
    lambda x: [c.tolist() for c in x],                # list of float lists
    lambda x: torch.from_numpy(x[1]),                 # one torch clip
    lambda x: [torch.from_numpy(c) for c in x],       # list of torch clips (Transformers fails here)
    lambda x: np.stack([c[:1500] for c in x]),        # batched 2-D numpy
    lambda x: tuple(x),                               # tuple of arrays
    lambda x: [c.astype(np.float64) for c in x],      # float64 (cast to float32, like Transformers)
], ids=["np1", "list1", "lists", "torch1", "torchs", "np2d", "tuple", "f64"])
def test_parity_input_kinds(make):
    ours, theirs = both(dict(return_attention_mask=True))
    x = clips()
    out = ours(make(x), sampling_rate=16000, padding=True, return_tensors="np")
    oracle_input = make(x)
    if isinstance(oracle_input, list) and isinstance(oracle_input[0], torch.Tensor):
        oracle_input = [t.numpy() for t in oracle_input]  # the oracle cannot take a ragged torch list
    ref = theirs(oracle_input, sampling_rate=16000, padding=True, return_tensors="np")
    assert_same(out, ref)
    assert out["input_values"].dtype == np.float32


def test_single_clip_is_a_batch_of_one():
    ours, _ = both()
    out = ours(clips()[0], sampling_rate=16000, return_tensors="pt")
    assert out["input_values"].shape == (1, 3000)


@pytest.mark.parametrize("do_normalize", [True, False])
def test_int16_pcm_matches_transformers(do_normalize):
    # Transformers does not rescale integer PCM: values keep their integer magnitude.
    rng = np.random.default_rng(3)
    pcm = [(rng.standard_normal(n) * 3000).astype(np.int16) for n in (2000, 3100)]
    ours, theirs = both(dict(do_normalize=do_normalize, return_attention_mask=True))
    out = ours(pcm, sampling_rate=16000, padding=True, return_tensors="np")
    assert_same(out, theirs(pcm, sampling_rate=16000, padding=True, return_tensors="np"), atol=1e-4)
    assert out["input_values"].dtype == np.float32
    if not do_normalize:
        np.testing.assert_array_equal(out["input_values"][0, :5], pcm[0][:5].astype(np.float32))


def test_int32_and_torch_int_input():
    rng = np.random.default_rng(4)
    pcm = (rng.standard_normal(2500) * 2**20).astype(np.int32)
    ours, theirs = both()
    assert_same(ours(pcm, sampling_rate=16000, return_tensors="np"),
                theirs(pcm, sampling_rate=16000, return_tensors="np"), atol=1e-4)
    out = ours(torch.from_numpy(pcm), sampling_rate=16000, return_tensors="pt")
    assert out["input_values"].dtype == torch.float32


def test_real_speech_clips():
    speech = [soundfile.read(DATA / "speech_16k.wav", dtype="float32")[0]]
    speech.append(speech[0][: len(speech[0]) // 3])
    ours, theirs = both(dict(return_attention_mask=True))
    kwargs = dict(sampling_rate=16000, padding=True, return_tensors="pt")
    assert_same(ours(speech, **kwargs), theirs(speech, **kwargs))


def test_long_clips_with_dc_offset_stay_accurate():
    # Sums of squares in float32 over long, offset clips are where a naive reduction drifts.
    rng = np.random.default_rng(5)
    long = [(rng.standard_normal(n) * 0.05 + 0.3).astype(np.float32) for n in (16000, 160000)]
    for mask in (True, False):
        ours, theirs = both(dict(return_attention_mask=mask))
        kwargs = dict(sampling_rate=16000, padding=True, return_tensors="np")
        assert_same(ours(long, **kwargs), theirs(long, **kwargs), atol=3e-5)


def test_left_padding_normalises_over_real_samples():
    # Transformers' normalisation assumes right padding (it slices vector[:length]); with
    # padding_side="left" it would normalise over padding and overwrite real samples. Ours
    # uses the mask, so each row equals its right-padded counterpart moved to the right.
    x = clips()
    left = Wav2Vec2FeatureExtractor(padding_side="left", padding_value=0.5)
    right = Wav2Vec2FeatureExtractor(padding_value=0.5)
    kwargs = dict(sampling_rate=16000, padding=True, return_attention_mask=True, return_tensors="np")
    out_l, out_r = left(x, **kwargs), right(x, **kwargs)
    for i, clip in enumerate(x):
        n = len(clip)
        np.testing.assert_allclose(out_l["input_values"][i, -n:], out_r["input_values"][i, :n], atol=1e-6)
        assert (out_l["input_values"][i, :-n] == 0.5).all()
        assert out_l["attention_mask"][i, -n:].all() and not out_l["attention_mask"][i, :-n].any()


def test_static_zero_mean_unit_var_norm_matches():
    x = clips()
    padded = np.zeros((3, 4800), np.float32)
    mask = np.zeros((3, 4800), np.int32)
    for i, c in enumerate(x):
        padded[i, :len(c)] = c
        mask[i, :len(c)] = 1
    ours = Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm(list(padded), list(mask), padding_value=-1.0)
    ref = transformers.Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm(list(padded), list(mask), -1.0)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, atol=ATOL)
    ours = Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm(x, None)
    ref = transformers.Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm(x, None)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, atol=ATOL)


def test_pad_as_collator_matches_transformers():
    ours, theirs = both(dict(return_attention_mask=True))
    feats = [{"input_values": c} for c in clips()]
    assert_same(ours.pad(feats, return_tensors="pt"), theirs.pad(feats, return_tensors="pt"))


# ---------------------------------------------------------------------------------------------
# save / load
# ---------------------------------------------------------------------------------------------


def test_polymodal_saves_transformers_loads(tmp_path):
    ours = Wav2Vec2FeatureExtractor(do_normalize=False, return_attention_mask=True, padding_value=0.5)
    ours.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["feature_extractor_type"] == "Wav2Vec2FeatureExtractor"
    for loader in (transformers.Wav2Vec2FeatureExtractor, transformers.AutoFeatureExtractor):
        theirs = loader.from_pretrained(tmp_path)
        assert type(theirs).__name__ == "Wav2Vec2FeatureExtractor"
        assert (theirs.do_normalize, theirs.return_attention_mask, theirs.padding_value) == (False, True, 0.5)
        kwargs = dict(sampling_rate=16000, padding=True, return_tensors="np")
        assert_same(ours(clips(), **kwargs), theirs(clips(), **kwargs))


def test_transformers_saves_polymodal_loads(tmp_path):
    theirs = transformers.Wav2Vec2FeatureExtractor(sampling_rate=8000, return_attention_mask=True,
                                                   do_normalize=True, padding_side="right")
    theirs.save_pretrained(tmp_path)
    for loader in (Wav2Vec2FeatureExtractor, polymodal.AutoFeatureExtractor):
        ours = loader.from_pretrained(tmp_path)
        assert isinstance(ours, Wav2Vec2FeatureExtractor)
        assert ours.to_dict() == theirs.to_dict()
        kwargs = dict(sampling_rate=8000, padding=True, return_tensors="pt")
        assert_same(ours(clips(), **kwargs), theirs(clips(), **kwargs))


def test_auto_dispatch_from_model_type_when_no_extractor_type(tmp_path):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"sampling_rate": 16000, "do_normalize": True}))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "wav2vec2"}))
    assert isinstance(polymodal.AutoFeatureExtractor.from_pretrained(tmp_path), Wav2Vec2FeatureExtractor)


def test_from_pretrained_overrides_and_unknown_keys(tmp_path):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(
        {"feature_extractor_type": "Wav2Vec2FeatureExtractor", "sampling_rate": 16000, "my_key": [1, 2]}))
    fe = Wav2Vec2FeatureExtractor.from_pretrained(tmp_path, return_attention_mask=True, do_normalize=False)
    assert fe.return_attention_mask is True and fe.do_normalize is False and fe.my_key == [1, 2]
    fe.save_pretrained(tmp_path / "again")
    assert Wav2Vec2FeatureExtractor.from_pretrained(tmp_path / "again").to_dict() == fe.to_dict()


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------


def test_wrong_sampling_rate_names_expected_rate():
    fe = Wav2Vec2FeatureExtractor()
    with pytest.raises(InvalidInputError, match="16000 Hz.*8000"):
        fe(clips(), sampling_rate=8000)


def test_missing_sampling_rate_warns():
    fe = Wav2Vec2FeatureExtractor()
    with pytest.warns(UserWarning, match="sampling_rate=16000"):
        fe(clips())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fe(clips(), sampling_rate=16000)


@pytest.mark.parametrize("bad,match", [
    ([np.zeros(10, np.float32), np.zeros(0, np.float32)], "Example 1 is empty"),
    ([], "empty list"),
    ([np.ones(10, np.float32), np.array([0.0, np.nan, 1.0], np.float32)], "Example 1 contains NaN"),
    (np.array([0.0, np.inf], np.float32), "Example 0 contains NaN or infinite"),
    (np.zeros((2, 3, 100), np.float32), "3 dimensions"),
    (np.zeros((16000, 2), np.float32), "looks like \\(samples, channels\\)"),
    ([np.zeros((4000, 2), np.float32)], "Example 0 has shape \\(4000, 2\\)"),
    ("speech.wav", "load_audio"),
    (["a.wav", "b.wav"], "load_audio"),
    ({"array": [0.1]}, "numeric array"),
    (np.array([True, False]), "dtype bool"),
], ids=["empty-clip", "empty-list", "nan", "inf", "3d", "stereo", "stereo-in-list", "str", "strs", "dict", "bool"])
def test_bad_audio_raises_clear_error(bad, match):
    for do_normalize in (True, False):
        fe = Wav2Vec2FeatureExtractor(do_normalize=do_normalize)
        with pytest.raises(InvalidInputError, match=match):
            fe(bad, sampling_rate=16000, padding=True)


def test_bad_padding_arguments():
    fe = Wav2Vec2FeatureExtractor()
    with pytest.raises(InvalidInputError, match="max_length"):
        fe(clips(), sampling_rate=16000, padding="max_length")
    with pytest.raises(InvalidInputError, match="truncation=True needs max_length"):
        fe(clips(), sampling_rate=16000, truncation=True)
    with pytest.raises(InvalidInputError, match="more than max_length=2000"):
        fe(clips(), sampling_rate=16000, padding="max_length", max_length=2000)
    with pytest.raises(InvalidInputError, match="not a padding strategy"):
        fe(clips(), sampling_rate=16000, padding="sideways")
    with pytest.raises(InvalidInputError, match="return_tensors"):
        fe(clips(), sampling_rate=16000, padding=True, return_tensors="tf")
    with pytest.raises(InvalidInputError, match="padding=True"):
        fe(clips(), sampling_rate=16000, return_tensors="pt")  # ragged without padding


def test_broken_or_missing_config(tmp_path):
    (tmp_path / "preprocessor_config.json").write_text('{"sampling_rate": 16000,')
    with pytest.raises(ConfigError, match="not valid JSON"):
        Wav2Vec2FeatureExtractor.from_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="not valid JSON"):
        polymodal.AutoFeatureExtractor.from_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="No such folder"):
        Wav2Vec2FeatureExtractor.from_pretrained(tmp_path / "missing" / "folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="preprocessor_config.json"):
        Wav2Vec2FeatureExtractor.from_pretrained(empty)
