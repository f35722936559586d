"""Audio pipelines against Transformers' pipelines on the same tiny checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from pipeline_helpers import LABELS, classifier_folder, ctc_folder

import polymodal
from polymodal.core.errors import AudioDecodeError, ConfigError, HubUnavailableError, InvalidInputError

transformers = pytest.importorskip("transformers")
DATA = __import__("pathlib").Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def clf_dir(tmp_path_factory):
    return classifier_folder(tmp_path_factory.mktemp("clf"))


@pytest.fixture(scope="module")
def ctc_dir(tmp_path_factory):
    return ctc_folder(tmp_path_factory.mktemp("ctc"))


def _audio(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 0.3


def _same_ranking(ours, theirs):
    assert [r["label"] for r in ours] == [r["label"] for r in theirs]
    np.testing.assert_allclose([r["score"] for r in ours], [r["score"] for r in theirs], atol=1e-5)


# ----------------------------------------------------------------------------- classification
def test_audio_classification_matches_transformers(clf_dir):
    ours = polymodal.pipeline("audio-classification", model=str(clf_dir))
    theirs = transformers.pipeline("audio-classification", model=str(clf_dir), device="cpu")
    for n in (4000, 9000):
        audio = _audio(n, seed=n)
        _same_ranking(ours(audio, top_k=4), theirs(audio.copy(), top_k=4))


def test_audio_classification_default_top5_and_cap(clf_dir):
    clf = polymodal.pipeline("audio-classification", model=str(clf_dir))
    out = clf(_audio(5000))
    assert len(out) == 5 and set(out[0]) == {"score", "label"}
    assert all(a["score"] >= b["score"] for a, b in zip(out, out[1:]))
    assert len(clf(_audio(5000), top_k=100)) == len(LABELS)


def test_audio_classification_inputs(clf_dir, tmp_path):
    clf = polymodal.pipeline("audio-classification", model=str(clf_dir))
    audio16 = _audio(8000, seed=3)
    path = tmp_path / "clip.wav"
    sf.write(path, audio16, 16000, subtype="FLOAT")
    reference = clf(audio16, top_k=3)
    _same_ranking(clf(str(path), top_k=3), reference)
    _same_ranking(clf(path.read_bytes(), top_k=3), reference)
    _same_ranking(clf({"raw": audio16, "sampling_rate": 16000}, top_k=3), reference)
    _same_ranking(clf(torch.from_numpy(audio16), top_k=3), reference)
    # 8 kHz input is resampled to the model's 16 kHz, as polymodal.resample does.
    audio8 = _audio(4000, seed=4)
    resampled = polymodal.resample(audio8, 8000, 16000)
    _same_ranking(clf({"array": audio8, "sampling_rate": 8000}, top_k=3), clf(resampled, top_k=3))


def test_audio_classification_batches_equal_single(clf_dir):
    clf = polymodal.pipeline("audio-classification", model=str(clf_dir))
    clips = [_audio(n, seed=n) for n in (3000, 7000, 5000)]
    singles = [clf(c, top_k=3) for c in clips]
    batched = clf(clips, top_k=3, batch_size=2)
    assert len(batched) == 3
    for one, many in zip(singles, batched):
        _same_ranking(many, one)


@pytest.mark.parametrize("bad, error, words", [
    ("/no/such/file.wav", AudioDecodeError, "file.wav"),
    (np.zeros(0, dtype=np.float32), InvalidInputError, "empty"),
    (np.full(1000, np.nan, dtype=np.float32), InvalidInputError, "NaN"),
    (np.zeros((2, 3, 4), dtype=np.float32), InvalidInputError, "shape"),
    (12345, InvalidInputError, "not audio"),
    ({"raw": np.zeros(10)}, InvalidInputError, "sampling_rate"),
    ("https://example.com/a.wav", InvalidInputError, "URL"),
])
def test_audio_classification_bad_inputs(clf_dir, bad, error, words):
    clf = polymodal.pipeline("audio-classification", model=str(clf_dir))
    with pytest.raises(error, match=words):
        clf(bad)


def test_corrupt_file_names_it(clf_dir):
    clf = polymodal.pipeline("audio-classification", model=str(clf_dir))
    with pytest.raises(AudioDecodeError, match="corrupt.wav"):
        clf(str(DATA / "corrupt.wav"))


def test_pipeline_factory_errors(clf_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="Unknown task"):
        polymodal.pipeline("audio-dancing", model=str(clf_dir))
    with pytest.raises(ConfigError, match="no seq2seq lm class"):  # a real task the checkpoint cannot do
        polymodal.pipeline("translation", model=str(clf_dir))
    with pytest.raises(HubUnavailableError, match="model="):  # the task's default id needs the hub
        polymodal.pipeline("audio-classification")
    with pytest.raises(ConfigError, match="CTC"):
        polymodal.pipeline("automatic-speech-recognition", model=str(clf_dir))


def test_pipeline_accepts_loaded_parts(clf_dir):
    model = polymodal.AutoModelForAudioClassification.from_pretrained(clf_dir)
    extractor = polymodal.AutoFeatureExtractor.from_pretrained(clf_dir)
    clf = polymodal.pipeline("audio-classification", model=model, feature_extractor=extractor)
    assert len(clf(_audio(4000), top_k=2)) == 2


# ----------------------------------------------------------------------------- ASR
def test_asr_matches_transformers(ctc_dir):
    ours = polymodal.pipeline("automatic-speech-recognition", model=str(ctc_dir))
    theirs = transformers.pipeline("automatic-speech-recognition", model=str(ctc_dir), device="cpu")
    audio = _audio(12000, seed=7)
    expected = theirs(audio.copy())["text"]
    assert ours(audio)["text"] == expected
    assert expected.strip()  # the tiny model does say something


@pytest.mark.parametrize("length", [3000, 7777, 16000, 23999, 40000])
@pytest.mark.parametrize("chunk, stride", [(0.5, None), (0.6, 0.1), (1.0, (0.2, 0.1))])
def test_asr_chunking_matches_transformers(ctc_dir, length, chunk, stride):
    ours = polymodal.pipeline("automatic-speech-recognition", model=str(ctc_dir))
    theirs = transformers.pipeline("automatic-speech-recognition", model=str(ctc_dir), device="cpu")
    audio = _audio(length, seed=length)
    kwargs = {"chunk_length_s": chunk}
    if stride is not None:
        kwargs["stride_length_s"] = stride
    assert ours(audio, **kwargs)["text"] == theirs(audio.copy(), **kwargs)["text"]


@pytest.mark.parametrize("kind", ["char", "word"])
def test_asr_timestamps_match_transformers(ctc_dir, kind):
    ours = polymodal.pipeline("automatic-speech-recognition", model=str(ctc_dir))
    theirs = transformers.pipeline("automatic-speech-recognition", model=str(ctc_dir), device="cpu")
    audio = _audio(16000, seed=11)
    a, b = ours(audio, return_timestamps=kind), theirs(audio.copy(), return_timestamps=kind)
    assert a["text"] == b["text"]
    assert [c["text"] for c in a["chunks"]] == [c["text"] for c in b["chunks"]]
    np.testing.assert_allclose([c["timestamp"] for c in a["chunks"]], [c["timestamp"] for c in b["chunks"]])
    assert all(end <= len(audio) / 16000 for _, end in (c["timestamp"] for c in a["chunks"]))


def test_asr_batched_chunks_equal_unbatched(ctc_dir):
    asr = polymodal.pipeline("automatic-speech-recognition", model=str(ctc_dir))
    audio = _audio(30000, seed=5)
    assert asr(audio, chunk_length_s=0.5, batch_size=4)["text"] == asr(audio, chunk_length_s=0.5)["text"]


def test_asr_on_real_speech_file_and_list(ctc_dir):
    asr = polymodal.pipeline("automatic-speech-recognition", model=str(ctc_dir))
    path = str(DATA / "speech_8k.wav")
    single = asr(path)
    assert isinstance(single["text"], str)
    both = asr([path, path])
    assert both == [single, single]


def test_asr_bad_stride(ctc_dir):
    asr = polymodal.pipeline("automatic-speech-recognition", model=str(ctc_dir))
    with pytest.raises(InvalidInputError, match="stride"):
        asr(_audio(8000), chunk_length_s=0.2, stride_length_s=0.2)
    with pytest.raises(InvalidInputError, match="return_timestamps"):
        asr(_audio(8000), return_timestamps="sentence")
