"""The feature-extraction base: BatchFeature, pad(), the audio input normaliser, config files."""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest
import torch
import transformers
from transformers.feature_extraction_sequence_utils import SequenceFeatureExtractor as HFSequenceFeatureExtractor

from polymodal.audio.features import (
    BatchFeature,
    FeatureExtractionMixin,
    SequenceFeatureExtractor,
    as_mono_batch,
    pad_arrays,
)
from polymodal.core.errors import CheckpointError, ConfigError, InvalidInputError


class FramesExtractor(SequenceFeatureExtractor):
    """A 2-D feature extractor (frames × feature_size), like a filterbank front end."""

    model_input_names = ["input_features", "attention_mask"]

    def __init__(self, feature_size=3, sampling_rate=16000, padding_value=-1.0, **kwargs):
        super().__init__(feature_size=feature_size, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs)


class HFFramesExtractor(HFSequenceFeatureExtractor):
    model_input_names = ["input_features", "attention_mask"]

    def __init__(self, feature_size=3, sampling_rate=16000, padding_value=-1.0, **kwargs):
        super().__init__(feature_size=feature_size, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs)


def frames(lengths=(7, 12, 4), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, 3)).astype(np.float32) for n in lengths]


def assert_same(ours, theirs):
    assert set(ours.keys()) == set(theirs.keys())
    for key in theirs:
        a, b = ours[key], theirs[key]
        assert type(a) is type(b) or (isinstance(a, list) and isinstance(b, np.ndarray)), (key, type(a), type(b))
        for x, y in zip(a, b):
            x, y = np.asarray(x), np.asarray(y)
            assert x.shape == y.shape and x.dtype == y.dtype, (key, x.shape, y.shape, x.dtype, y.dtype)
            np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------------------------------------
# pad()
# ---------------------------------------------------------------------------------------------

PAD_CASES = [
    dict(),
    dict(padding="longest", pad_to_multiple_of=8),
    dict(padding="max_length", max_length=13),
    dict(padding="max_length", max_length=10, truncation=True),
    dict(padding="max_length", max_length=9, truncation=True, pad_to_multiple_of=4),
    dict(padding=False, max_length=5, truncation=True),
    dict(return_attention_mask=False),
]


@pytest.mark.parametrize("case", PAD_CASES, ids=str)
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_2d_features_matches_transformers(case, side):
    ours = FramesExtractor(padding_side=side)
    theirs = HFFramesExtractor(padding_side=side)
    feats = [{"input_features": f} for f in frames()]
    case = {"return_tensors": "np", **case} if case.get("padding", True) is not False else case
    out = ours.pad(feats, **case)
    ref = theirs.pad(feats, **case)
    if case.get("padding", True) is False:
        for key in ref:
            for x, y in zip(out[key], ref[key]):
                np.testing.assert_array_equal(x, y)
        return
    assert_same(out, ref)


@pytest.mark.parametrize("form", ["list_of_dicts", "dict_of_lists", "batchfeature", "lists", "torch"])
def test_pad_input_forms(form):
    from polymodal.models.wav2vec2.feature_extraction import Wav2Vec2FeatureExtractor

    ours = Wav2Vec2FeatureExtractor(return_attention_mask=True)
    transformers_fe = transformers.Wav2Vec2FeatureExtractor(return_attention_mask=True)
    rows = [np.arange(n, dtype=np.float32) for n in (3, 5, 1)]
    if form == "list_of_dicts":
        data = [{"input_values": r} for r in rows]
    elif form == "dict_of_lists":
        data = {"input_values": rows}
    elif form == "batchfeature":
        data = BatchFeature({"input_values": rows})
    elif form == "lists":
        data = {"input_values": [r.tolist() for r in rows]}
    else:
        data = {"input_values": [torch.from_numpy(r) for r in rows]}
    out = ours.pad(data)
    ref = transformers_fe.pad({"input_values": rows}, return_tensors="pt" if form == "torch" else None)
    for key in ref:
        expected = ref[key].numpy() if isinstance(ref[key], torch.Tensor) else np.asarray(ref[key])
        got = out[key].numpy() if isinstance(out[key], torch.Tensor) else out[key]
        assert isinstance(out[key], torch.Tensor) == (form == "torch")
        np.testing.assert_array_equal(got, expected)


def test_pad_keeps_and_pads_a_given_attention_mask():
    fe = FramesExtractor()
    feats = [{"input_features": f, "attention_mask": np.array([1] * (len(f) - 1) + [0])} for f in frames()]
    out = fe.pad(feats, return_tensors="np")
    ref = HFFramesExtractor().pad(feats, return_tensors="np")
    assert_same(out, ref)
    assert out["attention_mask"][0].tolist() == [1] * 6 + [0] * 6


def test_pad_passes_other_keys_through():
    fe = FramesExtractor()
    out = fe.pad([{"input_features": f, "label": i} for i, f in enumerate(frames())], return_tensors="pt")
    assert out["label"].tolist() == [0, 1, 2]
    assert out["input_features"].shape == (3, 12, 3)


def test_pad_errors():
    fe = FramesExtractor()
    with pytest.raises(InvalidInputError, match="needs 'input_features'"):
        fe.pad({"input_values": frames()})
    with pytest.raises(InvalidInputError, match="list of dicts"):
        fe.pad("not features")
    with pytest.raises(InvalidInputError, match="Example 1 has feature shape"):
        fe.pad({"input_features": [np.zeros((3, 3)), np.zeros((3, 4))]})
    with pytest.raises(InvalidInputError, match="padding_side"):
        fe.pad({"input_features": frames()}, padding_side="middle")


def test_pad_arrays_preallocates_once_and_casts_in_the_copy():
    arrays = [np.array([1, 2, 3], np.int16), np.array([4], np.int16)]
    padded = pad_arrays(arrays, padding=True, padding_value=9, dtype=np.float32)
    assert padded.values.dtype == np.float32
    assert padded.values.tolist() == [[1, 2, 3], [4, 9, 9]]
    assert padded.attention_mask().tolist() == [[1, 1, 1], [1, 0, 0]]
    assert [r.tolist() for r in padded.rows()] == [[1, 2, 3], [4]]
    left = pad_arrays(arrays, padding=True, padding_side="left")
    assert left.values.dtype == np.int16 and left.values.tolist() == [[1, 2, 3], [0, 0, 4]]
    assert left.attention_mask().tolist() == [[1, 1, 1], [0, 0, 1]]
    assert pad_arrays([np.zeros(3, np.float64)]).values.dtype == np.float32  # float64 → float32


# ---------------------------------------------------------------------------------------------
# BatchFeature
# ---------------------------------------------------------------------------------------------


def test_batchfeature_access_and_conversion():
    bf = BatchFeature({"input_values": [[1.0, 2.0], [3.0, 4.0]], "attention_mask": [[1, 1], [1, 0]]})
    assert bf.input_values is bf["input_values"]
    with pytest.raises(AttributeError, match="holds"):
        bf.missing
    with pytest.raises(KeyError):
        bf[0]
    bf.convert_to_tensors("np")
    assert isinstance(bf.input_values, np.ndarray) and bf.input_values.shape == (2, 2)
    bf.convert_to_tensors("pt")
    assert isinstance(bf.attention_mask, torch.Tensor)
    assert dict(BatchFeature({"x": np.ones(2)}, tensor_type="pt"))["x"].tolist() == [1.0, 1.0]
    assert set(bf.keys()) == {"input_values", "attention_mask"}
    restored = pickle.loads(pickle.dumps(bf))
    assert torch.equal(restored.input_values, bf.input_values)


def test_batchfeature_to_casts_only_floats():
    bf = BatchFeature({"input_values": torch.ones(2, 3), "attention_mask": torch.ones(2, 3, dtype=torch.int32),
                       "lists": [torch.ones(1)], "name": "x"})
    bf.to(torch.float16)
    assert bf.input_values.dtype == torch.float16
    assert bf.attention_mask.dtype == torch.int32
    assert bf.lists[0].dtype == torch.float16 and bf.name == "x"
    assert bf.to("cpu").input_values.device.type == "cpu"
    assert bf.to(device="cpu", dtype=torch.float64).input_values.dtype == torch.float64
    with pytest.raises(InvalidInputError, match="device"):
        bf.to(3.5)


def test_batchfeature_ragged_conversion():
    ragged = {"input_values": [np.ones(2), np.ones(3)]}
    assert BatchFeature(dict(ragged), tensor_type="np")["input_values"].dtype == object  # as Transformers
    with pytest.raises(InvalidInputError, match="padding=True"):
        BatchFeature(dict(ragged), tensor_type="pt")
    with pytest.raises(InvalidInputError, match="return_tensors"):
        BatchFeature(dict(ragged), tensor_type="jax")
    assert BatchFeature({"names": ["a", "b"]}, tensor_type="pt")["names"] == ["a", "b"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_batchfeature_to_cuda():
    bf = BatchFeature({"input_values": torch.ones(2), "attention_mask": torch.ones(2, dtype=torch.int32)})
    bf.to("cuda", dtype=torch.float16)
    assert bf.input_values.is_cuda and bf.input_values.dtype == torch.float16
    assert bf.attention_mask.is_cuda and bf.attention_mask.dtype == torch.int32


# ---------------------------------------------------------------------------------------------
# the audio input normaliser and the sampling-rate check
# ---------------------------------------------------------------------------------------------


def test_as_mono_batch_forms():
    clip = np.linspace(-1, 1, 50, dtype=np.float32)
    arrays, batched = as_mono_batch(clip)
    assert not batched and arrays[0] is clip  # no copy for float32
    arrays, batched = as_mono_batch([clip, clip[:10]])
    assert batched and [len(a) for a in arrays] == [50, 10]
    arrays, batched = as_mono_batch(clip.tolist())
    assert not batched and arrays[0].dtype == np.float32
    arrays, batched = as_mono_batch(torch.from_numpy(np.stack([clip, clip])))
    assert batched and len(arrays) == 2
    arrays, _ = as_mono_batch(torch.ones(5, dtype=torch.bfloat16))
    assert arrays[0].dtype == np.float32
    arrays, _ = as_mono_batch([clip[:, None]])  # (samples, 1) is already mono
    assert arrays[0].shape == (50,)
    arrays, _ = as_mono_batch(np.array([1000, -2000], np.int16), dtype=np.float32)
    assert arrays[0].tolist() == [1000.0, -2000.0]  # integer PCM keeps its values, like Transformers


@pytest.mark.parametrize("bad,match", [
    (np.zeros((10, 2, 2)), "3 dimensions"),
    (np.zeros((48000, 2)), "channels"),
    ([np.zeros((2, 48000))], "shape \\(2, 48000\\)"),
    ([np.ones(3), np.ones(0)], "Example 1 is empty"),
    ([np.ones(3), np.ones(3), np.array([1, np.nan])], "Example 2 contains NaN"),
    ([b"RIFF...."], "load_audio"),
    (None, "NoneType"),
    ([[1.0, "x"]], "list of numbers"),
    (np.array([1 + 2j]), "complex"),
])
def test_as_mono_batch_rejects(bad, match):
    with pytest.raises(InvalidInputError, match=match):
        as_mono_batch(bad)


def test_sampling_rate_check():
    fe = FramesExtractor(sampling_rate=22050)
    fe.check_sampling_rate(22050)
    with pytest.raises(InvalidInputError, match="22050 Hz.*16000.*resample"):
        fe.check_sampling_rate(16000)
    with pytest.warns(UserWarning, match="without sampling_rate"):
        fe.check_sampling_rate(None)


# ---------------------------------------------------------------------------------------------
# FeatureExtractionMixin: dicts and files
# ---------------------------------------------------------------------------------------------


def test_to_dict_from_dict_round_trip():
    fe = FramesExtractor(return_attention_mask=False, custom=[1, 2], processor_class="Ignored")
    fe._cache = np.ones(3)  # private attributes are never saved
    data = fe.to_dict()
    assert data["feature_extractor_type"] == "FramesExtractor"
    assert data["custom"] == [1, 2] and "processor_class" not in data and "_cache" not in data
    again = FramesExtractor.from_dict(data)
    assert again.to_dict() == data
    assert json.loads(fe.to_json_string()) == data
    assert "FramesExtractor" in repr(fe)
    fe2, unused = FramesExtractor.from_dict(data, padding_value=5.0, nonsense=1, return_unused_kwargs=True)
    assert fe2.padding_value == 5.0 and unused == {"nonsense": 1}


def test_save_pretrained_is_atomic_and_loadable(tmp_path):
    fe = FramesExtractor(mel_filters=np.ones(3))  # derived arrays are not written
    files = fe.save_pretrained(tmp_path / "out")
    assert [p.split("/")[-1] for p in files] == ["preprocessor_config.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["preprocessor_config.json"]
    assert "mel_filters" not in json.loads((tmp_path / "out" / "preprocessor_config.json").read_text())
    loaded = FramesExtractor.from_pretrained(tmp_path / "out", sampling_rate=8000)
    assert loaded.sampling_rate == 8000 and loaded.padding_value == -1.0
    assert FramesExtractor.from_pretrained(tmp_path / "out" / "preprocessor_config.json").feature_size == 3
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="is a file"):
        fe.save_pretrained(tmp_path / "file")


def test_nested_processor_config_wins(tmp_path):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"feature_size": 1}))
    (tmp_path / "processor_config.json").write_text(json.dumps({"feature_extractor": {"feature_size": 7}}))
    assert FramesExtractor.from_pretrained(tmp_path).feature_size == 7


def test_bad_config_files(tmp_path):
    (tmp_path / "preprocessor_config.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        FramesExtractor.from_pretrained(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text("{oops")
    with pytest.raises(ConfigError, match="line 1"):
        FramesExtractor.from_pretrained(tmp_path)
    with pytest.raises(CheckpointError):
        FramesExtractor.from_pretrained(tmp_path / "nope")


def test_mixin_alone():
    fe = FeatureExtractionMixin(a=1)
    assert fe.to_dict() == {"a": 1, "feature_extractor_type": "FeatureExtractionMixin"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FeatureExtractionMixin.from_dict({"a": 2})


def test_subfolder(tmp_path):
    FramesExtractor(feature_size=5).save_pretrained(tmp_path / "fe")
    assert FramesExtractor.from_pretrained(tmp_path, subfolder="fe").feature_size == 5
