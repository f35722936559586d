"""Hugging Face ``datasets`` ↔ polymodal datasets, and the ``datasets``-style transforms."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import polymodal
from polymodal.core.errors import InvalidInputError
from polymodal.datasets import Audio, AudioDataset, ClassLabel, from_hf, to_hf
from polymodal.pipelines.pt_utils import KeyDataset

datasets = pytest.importorskip("datasets")
NAMES = ["no", "yes"]


def _clip(n, seed):
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 0.2


@pytest.fixture()
def hf_audio(tmp_path):
    """Three clips: two files by path (16 and 8 kHz) and one stored as bytes; labels and text."""
    paths = []
    for i, (n, rate) in enumerate([(1600, 16000), (1200, 8000), (2000, 16000)]):
        path = tmp_path / f"c{i}.wav"
        sf.write(path, _clip(n, i), rate, subtype="FLOAT")
        paths.append(path)
    cells = [{"bytes": None, "path": str(paths[0])}, {"bytes": None, "path": str(paths[1])},
             {"bytes": paths[2].read_bytes(), "path": None}]
    ds = datasets.Dataset.from_dict({"audio": cells, "label": [0, 1, 1], "text": ["a", "b", "c"]})
    ds = ds.cast_column("audio", datasets.Audio(sampling_rate=16000))
    return ds.cast_column("label", datasets.ClassLabel(names=NAMES)), paths


def test_from_hf_keeps_features_and_decodes_with_our_io(hf_audio):
    hf, paths = hf_audio
    ours = AudioDataset.from_hf(hf)
    assert ours.column_names == ["audio", "label", "text"]
    assert ours.features["audio"] == Audio(sampling_rate=16000)
    assert ours.features["label"] == ClassLabel(names=NAMES) and ours.label_names == NAMES
    row = ours[1]  # the 8 kHz file, resampled to the feature's rate
    assert row["audio"]["sampling_rate"] == 16000
    np.testing.assert_allclose(row["audio"]["array"], polymodal.load_audio(str(paths[1]), sampling_rate=16000))
    np.testing.assert_allclose(ours[2]["audio"]["array"], sf.read(paths[2], dtype="float32")[0])
    assert ours.lengths == [1600, 2400, 2000]
    assert ours["text"] == ["a", "b", "c"]


def test_round_trip_both_ways(hf_audio):
    hf, _ = hf_audio
    back = to_hf(from_hf(hf))
    assert back.features == hf.features
    raw = lambda d: d.cast_column("audio", datasets.Audio(decode=False)).to_dict()  # noqa: E731
    assert raw(back) == raw(hf)
    dict_back = from_hf(datasets.DatasetDict(train=hf, test=hf.select([0])))
    assert set(dict_back) == {"train", "test"} and len(dict_back["test"]) == 1
    assert set(dict_back.to_hf()) == {"train", "test"}


def test_decoded_arrays_go_to_hf_as_wav_bytes():
    clips = [_clip(800, 1), _clip(1000, 2)]
    ours = AudioDataset({"audio": [{"array": c, "sampling_rate": 16000} for c in clips], "label": [0, 1]},
                        {"audio": Audio(sampling_rate=16000), "label": ClassLabel(NAMES)}, audio_column="audio")
    hf = ours.to_hf()
    assert isinstance(hf.features["audio"], datasets.Audio) and hf.features["label"].names == NAMES
    again = from_hf(hf)
    for clip, row in zip(clips, again):
        np.testing.assert_allclose(row["audio"]["array"], clip)


def test_pipeline_reads_what_a_dataset_yields(hf_audio, tmp_path):
    from pipeline_helpers import classifier_folder

    hf, paths = hf_audio
    clf = polymodal.pipeline("audio-classification", model=str(classifier_folder(tmp_path / "m")))
    expected = [clf(polymodal.load_audio(str(p), sampling_rate=16000), top_k=2) for p in paths]
    assert list(clf(KeyDataset(from_hf(hf), "audio"), batch_size=2, top_k=2)) == expected
    raw = hf.cast_column("audio", datasets.Audio(decode=False))  # {"path", "bytes"} cells
    assert list(clf(KeyDataset(raw, "audio"), top_k=2)) == expected


def test_image_columns_become_an_image_dataset(tmp_path):
    from PIL import Image

    path = tmp_path / "a.png"
    Image.new("RGB", (4, 3), (255, 0, 0)).save(path)
    hf = datasets.Dataset.from_dict({"image": [str(path)], "label": [1]})
    hf = hf.cast_column("image", datasets.Image()).cast_column("label", datasets.ClassLabel(names=NAMES))
    ours = from_hf(hf)
    assert type(ours).__name__ == "ImageDataset"
    assert ours[0]["image"].size == (4, 3)
    back = to_hf(ours)
    assert isinstance(back.features["image"], datasets.Image) and back.features["label"].names == NAMES


def test_not_a_dataset():
    with pytest.raises(InvalidInputError, match="datasets.Dataset"):
        from_hf([1, 2])
    with pytest.raises(InvalidInputError, match="AudioDataset"):
        to_hf([1, 2])


# ----------------------------------------------------------------------------- datasets-style transforms
@pytest.fixture()
def table():
    n = 20
    columns = {"idx": list(range(n)), "label": [i % 2 for i in range(n)], "text": [f"t{i}" for i in range(n)]}
    return AudioDataset(columns, {"label": ClassLabel(NAMES)}), datasets.Dataset.from_dict(columns)


@pytest.mark.parametrize("kwargs", [{}, {"test_size": 0.3}, {"test_size": 4}, {"train_size": 0.5, "test_size": 0.2},
                                    {"shuffle": False, "test_size": 0.25}])
def test_train_test_split_equals_datasets(table, kwargs):
    ours, theirs = table
    a, b = ours.train_test_split(seed=3, **kwargs), theirs.train_test_split(seed=3, **kwargs)
    assert a["train"]["idx"] == b["train"]["idx"] and a["test"]["idx"] == b["test"]["idx"]


def test_shuffle_select_filter_equal_datasets(table):
    ours, theirs = table
    assert ours.shuffle(seed=7)["idx"] == theirs.shuffle(seed=7)["idx"]
    assert ours.select([5, 1, 3])["idx"] == [5, 1, 3]
    assert ours.filter(lambda row: row["idx"] % 3 == 0)["idx"] == theirs.filter(lambda r: r["idx"] % 3 == 0)["idx"]
    batched = ours.filter(lambda b: [i > 15 for i in b["idx"]], batched=True, batch_size=6)
    assert batched["idx"] == [16, 17, 18, 19]
    assert ours.filter(lambda idx, i: idx == i == 4, with_indices=True, input_columns="idx")["idx"] == [4]
    with pytest.raises(InvalidInputError, match="one bool per row"):
        ours.filter(lambda b: [True], batched=True)


def test_with_transform_and_set_transform(table):
    ours, _ = table
    upper = ours.with_transform(lambda batch: {"text": [t.upper() for t in batch["text"]]})
    assert upper[2] == {"text": "T2"} and upper[0:2] == {"text": ["T0", "T1"]}
    assert ours[2]["text"] == "t2"  # the source is unchanged
    ours.set_transform(lambda batch: {"n": [i * 10 for i in batch["idx"]]})
    assert ours[3] == {"n": 30} and ours[0:2] == {"n": [0, 10]}
    ours.reset_format()
    assert ours[3]["idx"] == 3


@pytest.mark.parametrize("option, words", [({"num_proc": 4}, "num_proc"), ({"cache_file_name": "x"}, "cache"),
                                           ({"with_rank": True}, "with_rank")])
def test_map_refuses_what_it_does_not_support(table, option, words):
    ours, _ = table
    with pytest.raises(InvalidInputError, match=words):
        ours.map(lambda row: row, **option)
    with pytest.raises(InvalidInputError, match=words):
        ours.filter(lambda row: True, **option)


def test_map_supported_options(table):
    ours, theirs = table
    kw = dict(batched=True, batch_size=6, drop_last_batch=True, input_columns=["idx"], keep_in_memory=True,
              load_from_cache_file=False, num_proc=1)
    a = ours.map(lambda idx: {"double": [i * 2 for i in idx]}, remove_columns=["text"], **kw)
    b = theirs.map(lambda idx: {"double": [i * 2 for i in idx]}, remove_columns=["text"], **kw)
    assert a["double"] == b["double"] and a.column_names == b.column_names


# ----------------------------------------------------------------------------- the same on an ImageDataset
@pytest.fixture()
def image_table(tmp_path):
    from PIL import Image

    from polymodal.datasets.image_folder import Image as ImageFeature
    from polymodal.datasets.image_folder import ImageDataset

    n, paths = 12, []
    for i in range(n):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.new("RGB", (i + 1, 2), (i * 20, 0, 0)).save(paths[-1])
    columns = {"image": paths, "idx": list(range(n)), "label": [i % 2 for i in range(n)]}
    ours = ImageDataset(columns, {"image": ImageFeature(), "label": ClassLabel(NAMES)})
    return ours, datasets.Dataset.from_dict({k: v for k, v in columns.items() if k != "image"})


def test_image_dataset_map_filter_split_equal_datasets(image_table):
    ours, theirs = image_table
    assert ours.shuffle(seed=5)["idx"] == theirs.shuffle(seed=5)["idx"]
    a, b = ours.train_test_split(test_size=0.25, seed=2), theirs.train_test_split(test_size=0.25, seed=2)
    assert a["train"]["idx"] == b["train"]["idx"] and a["test"]["idx"] == b["test"]["idx"]
    assert ours.filter(lambda row: row["image"].size[0] > 9)["idx"] == [9, 10, 11]
    assert ours.filter(lambda idx, i: idx == i == 4, with_indices=True, input_columns="idx")["idx"] == [4]
    assert a.filter(lambda row: row["idx"] % 2 == 0)["test"]["idx"] == [i for i in b["test"]["idx"] if i % 2 == 0]
    kw = dict(batched=True, batch_size=5, drop_last_batch=True, input_columns=["idx"], num_proc=1,
              keep_in_memory=True)
    mapped = ours.map(lambda idx: {"double": [i * 2 for i in idx]}, remove_columns=["image"], **kw)
    expected = theirs.map(lambda idx: {"double": [i * 2 for i in idx]}, **kw)
    assert mapped["double"] == expected["double"]
    widths = ours.map(lambda row, i, scale: {"w": row["image"].size[0] * scale + i}, with_indices=True,
                      fn_kwargs={"scale": 10})
    assert widths["w"] == [(i + 1) * 10 + i for i in range(12)]


@pytest.mark.parametrize("option, words", [({"num_proc": 4}, "num_proc"), ({"cache_file_name": "x"}, "cache"),
                                           ({"with_rank": True}, "with_rank")])
def test_image_dataset_map_refuses_what_it_does_not_support(image_table, option, words):
    ours, _ = image_table
    with pytest.raises(InvalidInputError, match=words):
        ours.map(lambda row: row, **option)
    with pytest.raises(InvalidInputError, match=words):
        ours.filter(lambda row: True, **option)
    with pytest.raises(InvalidInputError, match="output_all_columns"):
        ours.with_transform(lambda batch: batch, output_all_columns=True)


def test_image_dataset_dict_round_trips(image_table):
    ours, _ = image_table
    splits = ours.train_test_split(test_size=4, seed=0)
    back = splits.to_hf()
    assert isinstance(back, datasets.DatasetDict) and back["test"]["idx"] == splits["test"]["idx"]
    assert isinstance(back["train"].features["image"], datasets.Image)
    again = type(ours).from_hf(back["train"])
    assert again[0]["image"].size == splits["train"][0]["image"].size


def test_undeclared_columns_keep_their_types_through_to_hf(table):
    ours, theirs = table
    back = ours.to_hf()
    assert back.features["idx"] == theirs.features["idx"] == datasets.Value("int64")
    assert back.features["text"] == datasets.Value("string") and back["idx"] == theirs["idx"]


def test_image_pipelines_read_what_an_image_dataset_yields(image_table, tmp_path):
    import polymodal
    from polymodal.pipelines.zero_shot_image_classification import _load

    ours, _ = image_table
    folder = tmp_path / "vit"
    config = polymodal.ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=37,
                                 image_size=32, patch_size=8, id2label={0: "a", 1: "b"}, label2id={"a": 0, "b": 1})
    polymodal.ViTForImageClassification(config).eval().save_pretrained(folder)
    polymodal.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    pipe = polymodal.pipeline("image-classification", model=str(folder))
    paths = ours._columns["image"][:3]
    expected = pipe(paths)
    hf = datasets.Dataset.from_dict({"image": paths}).cast_column("image", datasets.Image())
    raw = hf.cast_column("image", datasets.Image(decode=False))  # {"bytes", "path"} cells
    assert list(pipe(KeyDataset(hf, "image"))) == expected
    assert list(pipe(KeyDataset(raw, "image"))) == expected
    assert list(pipe(KeyDataset(from_hf(hf), "image"))) == expected
    assert list(pipe(raw)) == expected  # whole rows: their "image"
    cell = raw[0]["image"]
    assert _load(cell, 0).size == _load(paths[0], 0).size == _load({"image": cell}, 0).size
