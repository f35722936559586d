"""load_audio_folder / AudioDataset: layouts, manifests, lazy decoding, header lengths, map, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from polymodal.audio.io import load_audio, load_audio_with_rate
from polymodal.core.errors import InvalidInputError
from polymodal.datasets import (
    Audio,
    AudioDataset,
    AudioDatasetDict,
    ClassLabel,
    DatasetNotFoundError,
    load_audio_folder,
    load_spoken_intents,
)

DATA = Path(__file__).parent / "data"


def _speech(rate: int = 16000) -> np.ndarray:
    return load_audio(DATA / "speech_16k.wav", sampling_rate=rate)


def write_clip(path: Path, seconds: float, rate: int = 16000, offset: float = 0.0, stereo: bool = False) -> Path:
    """A slice of the bundled test speech, written with soundfile (format from the suffix)."""
    audio = _speech(rate)
    start = int(offset * rate)
    clip = audio[start:start + int(seconds * rate)]
    if stereo:
        clip = np.stack([clip, clip * 0.5], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, clip, rate)
    return path


def class_folder(root: Path) -> Path:
    write_clip(root / "yes" / "a.wav", 0.5)
    write_clip(root / "yes" / "nested" / "b.flac", 0.7, offset=0.3)
    write_clip(root / "no" / "c.ogg", 0.6, rate=8000)
    write_clip(root / "no" / "d.wav", 0.4, rate=8000, stereo=True)
    (root / "no" / "notes.txt").write_text("not audio")
    return root


def split_folder(root: Path) -> Path:
    write_clip(root / "train" / "yes" / "a.wav", 0.5)
    write_clip(root / "train" / "no" / "b.wav", 0.4, offset=0.5)
    write_clip(root / "train" / "maybe" / "c.wav", 0.3, offset=1.0)
    write_clip(root / "test" / "yes" / "d.wav", 0.6, offset=0.2)
    return root


def manifest_clips(root: Path) -> list[str]:
    write_clip(root / "clips" / "one.wav", 0.5)
    write_clip(root / "clips" / "two.flac", 0.8, rate=8000, offset=0.4)
    write_clip(root / "clips" / "three.ogg", 0.6, offset=1.0)
    return ["clips/one.wav", "clips/two.flac", "clips/three.ogg"]


# ----------------------------------------------------------------------------- folder per class


def test_folder_per_class(tmp_path):
    ds = load_audio_folder(class_folder(tmp_path))
    assert isinstance(ds, AudioDataset) and len(ds) == 4
    assert ds.column_names == ["audio", "label"]
    assert ds.label_names == ["no", "yes"] and ds.features["label"].names == ["no", "yes"]
    assert ds.id2label == {0: "no", 1: "yes"} and ds.label2id == {"no": 0, "yes": 1}
    rows = list(ds)
    names = {Path(r["audio"]["path"]).name: r["label"] for r in rows}
    assert names == {"a.wav": 1, "b.flac": 1, "c.ogg": 0, "d.wav": 0}
    for row in rows:
        array, rate = load_audio_with_rate(row["audio"]["path"])
        assert row["audio"]["sampling_rate"] == rate  # no rate given: each file's own
        np.testing.assert_array_equal(row["audio"]["array"], array)
        assert row["audio"]["array"].ndim == 1  # stereo mixed to mono


def test_lengths_from_headers_equal_decoded_lengths(tmp_path, monkeypatch):
    root = class_folder(tmp_path)
    write_clip(root / "yes" / "e.mp3", 0.9)
    for rate in (None, 16000, 22050, 8000):
        ds = load_audio_folder(root, sampling_rate=rate)
        decoded = [len(row["audio"]["array"]) for row in ds]
        assert ds.lengths == decoded, rate


def test_lengths_never_decode(tmp_path, monkeypatch):
    ds = load_audio_folder(class_folder(tmp_path), sampling_rate=16000)
    import polymodal.audio.io as io

    def no_decoding(*args, **kwargs):
        raise AssertionError("lengths decoded a clip")

    monkeypatch.setattr(io, "_read", no_decoding)
    assert len(ds.lengths) == 4


def test_resampling_and_cast_column(tmp_path):
    root = class_folder(tmp_path)
    ds = load_audio_folder(root, sampling_rate=16000)
    assert ds.sampling_rate == 16000 and ds.features["audio"].sampling_rate == 16000
    for row in ds:
        assert row["audio"]["sampling_rate"] == 16000
        np.testing.assert_array_equal(row["audio"]["array"], load_audio(row["audio"]["path"], sampling_rate=16000))
    # cast_column takes our Audio or datasets.Audio, like the guide's minds.cast_column(...)
    datasets = pytest.importorskip("datasets")
    plain = load_audio_folder(root)
    for feature in (Audio(sampling_rate=16000), datasets.Audio(sampling_rate=16000)):
        cast = plain.cast_column("audio", feature)
        assert cast[0]["audio"]["sampling_rate"] == 16000
        np.testing.assert_array_equal(cast[0]["audio"]["array"], ds[0]["audio"]["array"])
        assert cast.lengths == ds.lengths
    assert plain[0]["audio"]["sampling_rate"] == 8000  # the source is unchanged


def test_split_folders(tmp_path):
    splits = load_audio_folder(split_folder(tmp_path))
    assert isinstance(splits, AudioDatasetDict) and sorted(splits) == ["test", "train"]
    # one label table for all splits, even when a split lacks a class
    assert splits["train"].label_names == splits["test"].label_names == ["maybe", "no", "yes"]
    assert splits["test"][0]["label"] == 2
    assert len(load_audio_folder(tmp_path, split="train")) == 3
    with pytest.raises(InvalidInputError, match="no split 'validation'.*'test', 'train'"):
        load_audio_folder(tmp_path, split="validation")


# ----------------------------------------------------------------------------- manifests


def test_csv_manifest(tmp_path):
    paths = manifest_clips(tmp_path)
    manifest = tmp_path / "data.csv"
    manifest.write_text(
        "path,label,transcription,speaker,split\n"
        f"{paths[0]},greet,hello there,s1,train\n"
        f'{paths[1]},bye,"goodbye, friend",s2,train\n'
        f"{paths[2]},greet,hi,s3,test\n"
    )
    splits = load_audio_folder(manifest, sampling_rate=16000)
    train = splits["train"]
    assert train.column_names == ["audio", "label", "transcription", "speaker"]
    assert train.label_names == ["bye", "greet"]
    row = train[1]
    assert row["label"] == 0 and row["transcription"] == "goodbye, friend" and row["speaker"] == "s2"
    assert row["audio"]["path"] == str(tmp_path / paths[1]) and row["audio"]["sampling_rate"] == 16000
    assert train.lengths == [len(r["audio"]["array"]) for r in train]
    assert splits["test"]["transcription"] == ["hi"]


def test_jsonl_and_json_manifests(tmp_path):
    paths = manifest_clips(tmp_path)
    records = [{"file": p, "label": lab, "text": t} for p, lab, t in zip(paths, ["2", "10", "2"], "abc")]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    (tmp_path / "m.json").write_text(json.dumps(records))
    for name in ("m.jsonl", "m.json"):
        ds = load_audio_folder(tmp_path / name)
        assert ds.label_names == ["2", "10"]  # numeric labels sort as numbers
        assert ds["label"] == [0, 1, 0] and ds["text"] == ["a", "b", "c"]


def test_manifest_inside_folder_and_explicit(tmp_path):
    paths = manifest_clips(tmp_path)
    lines = ["path,label"] + [f"{p},{lab}" for p, lab in zip(paths, "xyx")]
    (tmp_path / "metadata.csv").write_text("\n".join(lines) + "\n")
    assert load_audio_folder(tmp_path)["label"] == [0, 1, 0]
    other = tmp_path / "elsewhere" / "list.csv"
    other.parent.mkdir()
    other.write_text("\n".join(["path,label"] + [f"../{p},{lab}" for p, lab in zip(paths, "xyx")]) + "\n")
    assert len(load_audio_folder(tmp_path / "ignored", manifest=other)) == 3


def test_transcription_only_manifest(tmp_path):
    paths = manifest_clips(tmp_path)
    rows = "".join(f"{p},words {i}\n" for i, p in enumerate(paths))
    (tmp_path / "asr.csv").write_text("audio,transcription\n" + rows)
    ds = load_audio_folder(tmp_path / "asr.csv")
    assert ds.column_names == ["audio", "transcription"] and ds.label_names == []
    assert ds[0]["transcription"] == "words 0"


# ----------------------------------------------------------------------------- datasets-like API


def test_access_and_select(tmp_path):
    ds = load_audio_folder(class_folder(tmp_path))
    assert ds[-1]["audio"]["path"] == ds[3]["audio"]["path"]
    assert ds[1:3]["label"] == ds["label"][1:3]
    assert ds[[3, 0]]["label"] == [ds["label"][3], ds["label"][0]]
    with pytest.raises(InvalidInputError, match="got float"):
        ds[1.5]
    with pytest.raises(IndexError):
        ds[4]
    with pytest.raises(KeyError, match="'nope' not in the dataset"):
        ds["nope"]
    picked = ds.select([3, 0])
    assert picked["label"] == [ds["label"][3], ds["label"][0]]
    assert picked.lengths == [ds.lengths[3], ds.lengths[0]]
    shuffled = ds.shuffle(seed=0)
    assert sorted(shuffled["label"]) == sorted(ds["label"])


def test_guide_preprocessing_flow(tmp_path):
    """remove_columns / features[...].names / cast_column / batched map / rename_column, as in the guide."""
    paths = manifest_clips(tmp_path)
    rows = "".join(f"{p},{c},0\n" for p, c in zip(paths, "aba"))
    (tmp_path / "m.csv").write_text("path,intent_class,lang_id\n" + rows)
    ds = load_audio_folder(tmp_path / "m.csv", label_column="intent_class")
    ds = ds.remove_columns(["lang_id"]).rename_column("label", "intent_class")
    labels = ds.features["intent_class"].names
    assert labels == ["a", "b"] and ds.label_names == labels
    ds = ds.cast_column("audio", Audio(sampling_rate=16000))

    def preprocess(batch):
        arrays = [a["array"] for a in batch["audio"]]
        return {"input_values": [a[:4000] * 2 for a in arrays]}

    encoded = ds.map(preprocess, remove_columns="audio", batched=True, batch_size=2)
    encoded = encoded.rename_column("intent_class", "label")
    assert encoded.column_names == ["label", "input_values"]
    assert encoded["label"] == [0, 1, 0]
    assert isinstance(encoded.features["label"], ClassLabel)
    np.testing.assert_allclose(encoded[1]["input_values"], ds[1]["audio"]["array"][:4000] * 2)
    assert encoded.lengths == ds.lengths  # carried over for group_by_length


def test_map_per_row_keeps_audio_lazy(tmp_path):
    ds = load_audio_folder(class_folder(tmp_path), sampling_rate=16000)

    def add_duration(example, index):
        example["seconds"] = len(example["audio"]["array"]) / 16000
        example["index"] = index
        return example

    out = ds.map(add_duration, with_indices=True)
    assert out.column_names == ["audio", "label", "seconds", "index"]
    assert out._columns["audio"] == ds._columns["audio"]  # still paths, not arrays
    assert out["index"] == [0, 1, 2, 3]
    assert out[0]["audio"]["sampling_rate"] == 16000
    assert out.features["seconds"].dtype == "float32"


def test_map_changing_row_count(tmp_path):
    ds = load_audio_folder(class_folder(tmp_path), sampling_rate=16000)

    def split_halves(batch):
        halves = [h for a in batch["audio"] for h in np.array_split(a["array"], 2)]
        return {"input_values": halves}

    out = ds.map(split_halves, batched=True, remove_columns=ds.column_names)
    assert len(out) == 8 and not hasattr(out, "lengths")
    with pytest.raises(InvalidInputError, match="returned 8 rows for 4 inputs"):
        ds.map(split_halves, batched=True, remove_columns="audio")


def test_trainer_helpers_use_header_lengths(tmp_path):
    from polymodal.train.data import example_lengths, remove_unused_columns

    ds = load_audio_folder(class_folder(tmp_path), sampling_rate=16000)
    encoded = ds.map(lambda b: {"input_values": [a["array"] for a in b["audio"]]}, batched=True)
    assert example_lengths(encoded, "length", "input_values") == ds.lengths

    class Model:
        def forward(self, input_values, labels=None):
            pass

    kept = remove_unused_columns(encoded, Model())
    assert kept.column_names == ["label", "input_values"]


def test_dataset_dict_transforms(tmp_path):
    splits = load_audio_folder(split_folder(tmp_path)).cast_column("audio", Audio(sampling_rate=8000))
    out = splits.map(lambda b: {"n": [len(a["array"]) for a in b["audio"]]}, batched=True, remove_columns="audio")
    assert out.column_names == {"train": ["label", "n"], "test": ["label", "n"]}
    assert out["test"]["n"] == [4800]


# ----------------------------------------------------------------------------- bundled data


def test_spoken_intents():
    splits = load_spoken_intents()
    assert sorted(splits) == ["test", "train"]
    train = splits["train"]
    assert len(train.label_names) == 14
    assert train.column_names == ["audio", "label", "transcription", "speaker"]
    assert not set(train["speaker"]) & set(splits["test"]["speaker"])  # held-out voices
    test = load_spoken_intents(split="test", sampling_rate=16000)
    assert test[0]["audio"]["sampling_rate"] == 16000
    assert test.lengths[0] == len(test[0]["audio"]["array"])
    assert splits["test"][0]["audio"]["sampling_rate"] == 8000


# ----------------------------------------------------------------------------- bad input


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist") as info:
        load_audio_folder(tmp_path / "missing")
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(InvalidInputError, match="no class folders"):
        load_audio_folder(tmp_path)
    write_clip(tmp_path / "loose.wav", 0.2)
    with pytest.raises(InvalidInputError, match="audio files but no class folders"):
        load_audio_folder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(InvalidInputError, match="holds no audio files"):
        load_audio_folder(tmp_path)
    with pytest.raises(InvalidInputError, match="one audio file"):
        load_audio_folder(tmp_path / "loose.wav")


def test_bad_manifests(tmp_path):
    paths = manifest_clips(tmp_path)
    cases = {
        "nopath.csv": ("name,label\nclips/one.wav,a\n", r"no path column.*\['name', 'label'\]"),
        "missing.csv": (f"path,label\n{paths[0]},a\nclips/gone.wav,b\n",
                        r"1 audio file\(s\) that do not exist, e\.g\. line 3: .*gone\.wav"),
        "cells.csv": (f"path,label\n{paths[0]},a\n{paths[1]},b,extra\n", r"cells\.csv:3: expected 2 .*got 3"),
        "short.csv": (f"path,label,speaker\n{paths[0]},a\n", r"short\.csv:2: expected 3 .*got 2"),
        "nolabel.csv": (f"path,speaker\n{paths[0]},s1\n", "no 'label' column"),
        "emptylabel.csv": (f"path,label\n{paths[0]},\n", r"emptylabel\.csv:2: the 'label' value is empty"),
        "emptypath.csv": ("path,label\n ,a\n", r"emptypath\.csv:2: the 'path' value is empty"),
        "header.csv": ("path,label\n", "has no rows"),
        "broken.jsonl": (json.dumps({"path": paths[0], "label": "a"}) + '\n{"path": "x", \n',
                         r"broken\.jsonl:2: broken JSON"),
        "list.jsonl": ('["a", "b"]\n', r"list\.jsonl:1: expected a JSON object"),
        "m.txt": ("path,label\n", "unknown format"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InvalidInputError, match=message):
            load_audio_folder(tmp_path / name)
    with pytest.raises(DatasetNotFoundError, match="Manifest .* does not exist"):
        load_audio_folder(tmp_path, manifest=tmp_path / "none.csv")
    (tmp_path / "latin1.csv").write_bytes("path,label\nclips/one.wav,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        load_audio_folder(tmp_path / "latin1.csv")


def test_bad_dataset_calls(tmp_path):
    ds = load_audio_folder(class_folder(tmp_path))
    with pytest.raises(InvalidInputError, match=r"columns \['nope'\] not in the dataset"):
        ds.remove_columns("nope")
    with pytest.raises(InvalidInputError, match="already exists"):
        ds.rename_column("label", "audio")
    with pytest.raises(InvalidInputError, match="must return a dict"):
        ds.map(lambda row: 3)
    with pytest.raises(InvalidInputError, match="only the audio column"):
        ds.cast_column("label", Audio(16000))
    with pytest.raises(InvalidInputError, match="different lengths"):
        ds.map(lambda b: {"a": [1], "b": [1, 2]}, batched=True)
    with pytest.raises(InvalidInputError, match="no split"):
        load_audio_folder(tmp_path, split="test")
