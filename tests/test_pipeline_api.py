"""The pipeline API around the tasks: streaming over generators and datasets (KeyDataset),
argument checks, the task's default model, and bad input that must not give a silent result."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
import torch
from pipeline_helpers import classifier_folder

import polymodal
from polymodal.core.errors import AudioDecodeError, ConfigError, HubUnavailableError, InvalidInputError
from polymodal.pipelines.pt_utils import KeyDataset, KeyPairDataset


@pytest.fixture(scope="module")
def clf_dir(tmp_path_factory):
    return str(classifier_folder(tmp_path_factory.mktemp("clf")))


@pytest.fixture(scope="module")
def clf(clf_dir):
    return polymodal.pipeline("audio-classification", model=clf_dir)


def _audio(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 0.3


# ----------------------------------------------------------------------------- streaming
def test_generator_streams_results(clf):
    clips = [_audio(n, seed=n) for n in (3000, 5000, 4000)]
    expected = clf(clips, top_k=2)
    seen = []

    def source():
        for clip in clips:
            seen.append(len(clip))
            yield clip

    out = clf(source(), batch_size=2, top_k=2)
    assert not isinstance(out, list) and seen == []  # nothing is read before the first result is asked for
    first = next(out)
    assert seen == [3000, 5000] and first == expected[0]  # one batch of 2 was read
    assert [first, *out] == expected


def test_key_dataset_over_rows_and_audio_dataset(clf, tmp_path):
    clips = [_audio(n, seed=n) for n in (3000, 5000, 4000)]
    rows = [{"audio": {"array": c, "sampling_rate": 16000}, "label": i} for i, c in enumerate(clips)]
    out = clf(KeyDataset(rows, "audio"), batch_size=2, top_k=3)
    assert len(out) == 3
    assert list(out) == clf(clips, top_k=3)
    with pytest.raises(InvalidInputError, match="no column 'speech'"):
        list(clf(KeyDataset(rows, "speech")))
    pairs = KeyPairDataset([{"q": "a", "c": "b"}], "q", "c")
    assert len(pairs) == 1 and pairs[0] == {"text": "a", "text_pair": "b"}


def test_polymodal_dataset_column_feeds_pipeline(clf, tmp_path):
    from polymodal.datasets import load_audio_folder

    for label, n in (("yes", 3000), ("no", 5000)):
        (tmp_path / label).mkdir()
        sf.write(tmp_path / label / "a.wav", _audio(n, seed=n), 16000)
    ds = load_audio_folder(tmp_path)
    results = list(clf(KeyDataset(ds, "audio"), top_k=1))
    assert results == clf([row["audio"] for row in ds], top_k=1)


def test_torch_dataset_streams(clf):
    class Clips(torch.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return _audio(3000 + 1000 * i, seed=i)

    out = clf(Clips(), batch_size=2, top_k=1)
    assert len(out) == 3 and len(list(out)) == 3


# ----------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("kwargs, words", [
    ({"device_map": "auto"}, "device="),
    ({"model_kwargs": {"device_map": "auto"}}, "device="),
    ({"trust_remote_code": True}, "trust_remote_code"),
    ({"topk": 3}, "unknown argument.*topk.*top_k"),
])
def test_unknown_pipeline_arguments_are_errors(clf_dir, kwargs, words):
    with pytest.raises(ConfigError, match=words):
        polymodal.pipeline("audio-classification", model=clf_dir, **kwargs)


def test_harmless_transformers_arguments_are_accepted(clf_dir):
    clf = polymodal.pipeline("audio-classification", model=clf_dir, trust_remote_code=False, framework="pt",
                             device_map=None)
    assert len(clf(_audio(4000), top_k=1)) == 1


def test_call_defaults_given_to_pipeline(clf_dir):
    clf = polymodal.pipeline("audio-classification", model=clf_dir, top_k=2)
    assert len(clf(_audio(4000))) == 2


@pytest.mark.parametrize("top_k, words", [(-1, "at least 1"), (0, "at least 1"), ("3", "positive int"),
                                          (2.5, "positive int"), (True, "positive int")])
def test_bad_top_k(clf, top_k, words):
    with pytest.raises(InvalidInputError, match=words):
        clf(_audio(4000), top_k=top_k)


def test_bad_batch_size(clf):
    with pytest.raises(InvalidInputError, match="batch_size"):
        clf([_audio(4000)], batch_size=0)


# ----------------------------------------------------------------------------- default model
def test_no_model_offline_names_the_default(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnavailableError, match=r"superb/wav2vec2-base-superb-ks(.|\n)*model='\./"):
        polymodal.pipeline("audio-classification")
    with pytest.raises(HubUnavailableError, match="openai/clip-vit-base-patch32"):
        polymodal.pipeline("zero-shot-image-classification")


def test_no_model_online_uses_the_default(monkeypatch, clf_dir):
    """With the hub reachable (simulated: the default id's files come from a local folder)."""
    from pathlib import Path

    from polymodal.core import hub

    asked = set()

    def fake_download(repo_id, filename, *, required, **kwargs):
        asked.add(repo_id)
        path = Path(clf_dir) / filename
        return str(path) if path.is_file() else None

    monkeypatch.setattr(hub, "_hub_download", fake_download)
    clf = polymodal.pipeline("audio-classification")
    assert asked == {"superb/wav2vec2-base-superb-ks"}
    assert len(clf(_audio(4000), top_k=2)) == 2


# ----------------------------------------------------------------------------- bad input
def test_sampling_rate_must_be_a_number(clf):
    for rate in ("abc", -16000, 0, 16000.5, None, True):
        with pytest.raises(InvalidInputError, match="sampling_rate"):
            clf({"raw": _audio(4000), "sampling_rate": rate})


def test_datasets_style_path_and_bytes(clf, tmp_path):
    clip = _audio(4000, seed=9)
    path = tmp_path / "c.wav"
    sf.write(path, clip, 16000, subtype="FLOAT")
    expected = clf(clip, top_k=2)
    assert clf({"path": str(path), "bytes": None}, top_k=2) == expected
    assert clf({"path": None, "bytes": path.read_bytes()}, top_k=2) == expected


def test_loud_float_samples_warn(clf):
    with pytest.warns(UserWarning, match="far outside"):
        clf(_audio(4000) * 32767)


def test_truncated_wav_is_an_error(clf):
    buffer = io.BytesIO()
    sf.write(buffer, _audio(16000), 16000, format="WAV", subtype="PCM_16")
    whole = buffer.getvalue()
    assert len(clf(whole, top_k=1)) == 1
    with pytest.raises(AudioDecodeError, match="truncated"):
        clf(whole[: len(whole) // 2])


def test_nan_weights_are_a_clear_error(clf_dir):
    model = polymodal.AutoModelForAudioClassification.from_pretrained(clf_dir)
    with torch.no_grad():
        model.classifier.weight.fill_(float("nan"))
    extractor = polymodal.AutoFeatureExtractor.from_pretrained(clf_dir)
    clf = polymodal.pipeline("audio-classification", model=model, feature_extractor=extractor)
    with pytest.raises(InvalidInputError, match="NaN"):
        clf(_audio(4000))


def test_loud_float_wav_file_warns(clf, tmp_path):
    path = tmp_path / "loud.wav"
    sf.write(path, _audio(4000) * 3000, 16000, subtype="FLOAT")
    with pytest.warns(UserWarning, match="far outside"):
        clf(str(path))


def test_long_clip_for_a_fixed_window_model_warns(tmp_path):
    """The demo's log-mel classifier reads 4 s windows: a longer clip says that only 4 s are used."""
    from polymodal.models.logmel_cnn.configuration import LogMelClassifierConfig
    from polymodal.models.logmel_cnn.modeling import LogMelClassifierForSequenceClassification
    from polymodal.models.whisper.feature_extraction import WhisperFeatureExtractor

    config = LogMelClassifierConfig(num_mel_bins=80, conv_dim=[8], conv_kernel=[3], conv_stride=[2], num_labels=2)
    LogMelClassifierForSequenceClassification(config).save_pretrained(tmp_path)
    WhisperFeatureExtractor(feature_size=80, chunk_length=4).save_pretrained(tmp_path)
    clf = polymodal.pipeline("audio-classification", model=str(tmp_path))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf(_audio(16000 * 3))  # shorter than the window: silent
    with pytest.warns(UserWarning, match=r"input 1 \(10.0 s\) is longer than the 4.0 s.*only the first 4.0 s"):
        clf([_audio(16000), _audio(160000)])


def test_shard_index_outside_the_folder_is_refused(clf_dir, tmp_path):
    import json
    import shutil

    from polymodal.core.errors import CheckpointError

    for bad in ("../../etc/passwd", "/etc/passwd", "sub/../../x.safetensors", ".."):
        folder = tmp_path / f"ckpt{abs(hash(bad))}"
        shutil.copytree(clf_dir, folder)
        (folder / "model.safetensors").rename(folder / "model-00001-of-00001.safetensors")
        index = {"metadata": {}, "weight_map": {"classifier.weight": bad}}
        (folder / "model.safetensors.index.json").write_text(json.dumps(index))
        with pytest.raises(CheckpointError, match="not a plain file name"):
            polymodal.AutoModelForAudioClassification.from_pretrained(folder)


def test_cli_transcribe_uses_batch_size(tmp_path, capsys, monkeypatch):
    from pipeline_helpers import ctc_folder

    from polymodal.cli import main
    from polymodal.pipelines.automatic_speech_recognition import AutomaticSpeechRecognitionPipeline

    folder = str(ctc_folder(tmp_path / "ctc"))
    files = []
    for i, n in enumerate((8000, 8000, 12000)):
        files.append(str(tmp_path / f"{i}.wav"))
        sf.write(files[-1], _audio(n, seed=i), 16000, subtype="FLOAT")
    assert main(["transcribe", folder, *files]) == 0
    one_by_one = capsys.readouterr().out
    sizes = []
    original = AutomaticSpeechRecognitionPipeline._argmax
    monkeypatch.setattr(AutomaticSpeechRecognitionPipeline, "_argmax",
                        lambda self, arrays: sizes.append(len(arrays)) or original(self, arrays))
    assert main(["transcribe", folder, *files, "--batch-size", "3"]) == 0
    assert capsys.readouterr().out == one_by_one
    assert max(sizes) > 1  # the two equal-length clips shared a batch


# ----------------------------------------------------------------------------- no task / pipeline_class
def test_no_task_reads_it_from_the_model(clf_dir, clf):
    clip = _audio(3000)
    pipe = polymodal.pipeline(model=clf_dir)  # pipelines.md: pipeline(model=…) with no task
    assert pipe.task == "audio-classification" and pipe(clip) == clf(clip)
    loaded = polymodal.AutoModelForAudioClassification.from_pretrained(clf_dir)
    assert polymodal.pipeline(model=loaded, feature_extractor=clf_dir).task == "audio-classification"
    with pytest.raises(ConfigError, match="needs a task, a model"):
        polymodal.pipeline()


def test_no_task_and_a_config_that_does_not_say(tmp_path):
    (tmp_path / "config.json").write_text('{"architectures": ["BertModel"], "model_type": "bert"}')
    with pytest.raises(ConfigError, match="feature-extraction"):  # the message lists the tasks to choose from
        polymodal.pipeline(model=str(tmp_path))


def test_pipeline_class_builds_the_subclass(clf_dir, clf):
    from polymodal.pipelines.audio_classification import AudioClassificationPipeline

    class Percent(AudioClassificationPipeline):  # the pipelines page's "subclass the pipeline"
        def __call__(self, inputs, **kwargs):
            return [{**r, "score": r["score"] * 100} for r in super().__call__(inputs, **kwargs)]

    pipe = polymodal.pipeline(model=clf_dir, pipeline_class=Percent)
    clip = _audio(3000)
    assert isinstance(pipe, Percent)
    assert pipe(clip) == [{**r, "score": r["score"] * 100} for r in clf(clip)]
    with pytest.raises(ConfigError, match="Pipeline subclass"):
        polymodal.pipeline("audio-classification", model=clf_dir, pipeline_class=dict)
