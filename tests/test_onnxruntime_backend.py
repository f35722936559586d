"""``pipeline(..., backend="onnxruntime")`` and ``polymodal serve --backend onnxruntime``.

The graph is exported on first use, cached beside the checkpoint, reused while the weights are
unchanged, and its answers equal the torch pipeline's within 1e-4 (audio, CTC, image, text).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from pipeline_helpers import assert_batch_invariant, assert_same_result, classifier_folder, ctc_folder
from serve_helpers import Live, wav

import polymodal
from polymodal.core.errors import ConfigError

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("transformers")


def _clips(seed=0, lengths=(3000, 4700, 8000)):
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in lengths]


@pytest.fixture(scope="module")
def clf_dir(tmp_path_factory):
    return classifier_folder(tmp_path_factory.mktemp("clf"))


def test_audio_classification_equals_torch_and_is_cached(clf_dir):
    clips = _clips()
    torch_pipe = polymodal.pipeline("audio-classification", model=str(clf_dir))
    ort_pipe = polymodal.pipeline("audio-classification", model=str(clf_dir), backend="onnxruntime")
    assert_same_result(ort_pipe(clips, batch_size=3, top_k=4), torch_pipe(clips, batch_size=3, top_k=4), atol=1e-4)
    assert_same_result(ort_pipe(clips[1], top_k=4), torch_pipe(clips[1], top_k=4), atol=1e-4)
    assert_batch_invariant(ort_pipe, clips, batch_size=2, atol=1e-4, top_k=4)
    graphs = sorted(p.name for p in (clf_dir / "onnx").glob("*.onnx"))
    assert graphs == ["model.input_values.attention_mask.onnx"]
    # A second pipeline reuses the cached graph (no new export)...
    graph = clf_dir / "onnx" / graphs[0]
    stamp = graph.stat().st_mtime_ns
    again = polymodal.pipeline("audio-classification", model=str(clf_dir), backend="onnxruntime")
    again(clips[0])
    assert graph.stat().st_mtime_ns == stamp
    # ...until the weights change: then it exports again.
    weights = clf_dir / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    polymodal.pipeline("audio-classification", model=str(clf_dir), backend="onnxruntime")(clips[0])
    assert graph.stat().st_mtime_ns != stamp


@pytest.mark.filterwarnings("ignore:This model uses feat_extract_norm='group'")
def test_ctc_logits_equal_torch_group_norm_and_layer_norm(tmp_path):
    clips = _clips(1)
    for norm in ("layer", "group"):
        folder = ctc_folder(tmp_path / norm, stable=norm == "layer", norm=norm)
        torch_pipe = polymodal.pipeline("automatic-speech-recognition", model=str(folder))
        ort_pipe = polymodal.pipeline("automatic-speech-recognition", model=str(folder), backend="onnxruntime")
        assert ort_pipe(clips, batch_size=3) == torch_pipe(clips, batch_size=3)
        features = torch_pipe.extract_features(clips)
        inputs = {k: v for k, v in features.items() if k in ("input_values", "attention_mask")}
        if norm == "group":
            inputs.pop("attention_mask", None)
        with torch.no_grad():
            expected = torch_pipe.model(**inputs).logits
        torch.testing.assert_close(ort_pipe.model(**inputs).logits, expected, atol=1e-4, rtol=1e-4)


def test_image_and_text_classification_equal_torch(tmp_path):
    from docs_fixtures import image_file, vit_classifier
    from text_helpers import SENTIMENT, text_folder

    vit = vit_classifier(str(tmp_path / "vit"))
    images = [str(image_file(str(tmp_path / f"im{i}.png"), size=(40 + 8 * i, 30), seed=i)) for i in range(3)]
    expected = polymodal.pipeline("image-classification", model=str(vit))(images, batch_size=3)
    got = polymodal.pipeline("image-classification", model=str(vit), backend="onnxruntime")(images, batch_size=3)
    assert_same_result(got, expected, atol=1e-4)

    bert = text_folder(tmp_path / "bert", "bert", labels=SENTIMENT)
    texts = ["a short one", "a rather longer sentence about the weather in Berkeley today", "hello"]
    expected = polymodal.pipeline("text-classification", model=str(bert))(texts, batch_size=3, top_k=3)
    ort_pipe = polymodal.pipeline("text-classification", model=str(bert), backend="onnxruntime")
    assert_same_result(ort_pipe(texts, batch_size=3, top_k=3), expected, atol=1e-4)
    assert_batch_invariant(ort_pipe, texts, batch_size=2, atol=1e-4, top_k=3)


def test_bad_backend_and_unsupported_task_are_clear(clf_dir, tmp_path):
    with pytest.raises(ConfigError, match="backend='tensorrt'"):
        polymodal.pipeline("audio-classification", model=str(clf_dir), backend="tensorrt")
    from docs_fixtures import gpt2_lm

    lm = gpt2_lm(str(tmp_path / "gpt2"))
    with pytest.raises(ConfigError, match="does not support"):
        polymodal.pipeline("text-generation", model=str(lm), backend="onnxruntime")


def test_read_only_checkpoint_caches_elsewhere(clf_dir, tmp_path, monkeypatch):
    import shutil

    from polymodal.export import ort_model

    folder = tmp_path / "ro"
    shutil.copytree(clf_dir, folder, ignore=shutil.ignore_patterns("onnx"))
    real_access = os.access
    # As root chmod cannot make a folder read-only, so the check itself says so.
    monkeypatch.setattr(ort_model.os, "access", lambda path, mode: False if str(path).startswith(str(folder))
                        else real_access(path, mode))
    monkeypatch.setenv("POLYMODAL_CACHE", str(tmp_path / "cache"))
    pipe = polymodal.pipeline("audio-classification", model=str(folder), backend="onnxruntime")
    pipe(_clips()[0])
    assert list((tmp_path / "cache" / "onnx").glob("*/model.*.onnx"))
    assert not list(folder.glob("onnx/*.onnx"))


def test_server_with_onnxruntime_backend_answers_like_the_pipeline(clf_dir):
    from polymodal.serve import ServeConfig, load_service

    running = Live(load_service(clf_dir, config=ServeConfig(max_batch_size=4, max_wait_ms=20), backend="onnxruntime"))
    try:
        pipe = polymodal.pipeline("audio-classification", model=str(clf_dir))
        for seed in (1, 2):
            body = wav(seed, seconds=0.3)
            status, _, data = running.request("POST", "/predict?top_k=3", body)
            assert status == 200
            assert_same_result(data, pipe(body, top_k=3), atol=1e-4)
    finally:
        running.close()
