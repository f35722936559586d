"""``polymodal serve``: the HTTP server on loopback, port 0, with tiny random checkpoints."""

from __future__ import annotations

import base64
import http.client
import io
import json
import threading

import numpy as np
import pytest
import soundfile as sf

import polymodal
from polymodal.core.errors import ConfigError
from polymodal.serve import infer_task, make_server
from pipeline_helpers import classifier_folder, ctc_folder

pytest.importorskip("transformers")  # the helpers save the tiny checkpoints with it
RATE = 16000


def _wav(seed: int, seconds: float = 0.5) -> bytes:
    audio = np.random.default_rng(seed).standard_normal(int(RATE * seconds)).astype(np.float32) * 0.3
    buffer = io.BytesIO()
    sf.write(buffer, audio, RATE, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


class Recording:
    """Wraps a pipeline: records each call's batch size; can hold calls until released."""

    def __init__(self, pipe, hold: bool = False):
        self.pipe, self.sizes = pipe, []
        self.feature_extractor = pipe.feature_extractor
        self.entered, self.release = threading.Event(), threading.Event()
        if not hold:
            self.release.set()

    def __call__(self, inputs, **kwargs):
        self.sizes.append(len(inputs))
        self.entered.set()
        self.release.wait(10)
        return self.pipe(inputs, **kwargs)


class Running:
    """A server on 127.0.0.1:0 in a thread; ``request`` sends one request and returns (status, headers, json)."""

    def __init__(self, model_dir, **kwargs):
        self.server = make_server(model_dir, host="127.0.0.1", port=0, quiet=True, **kwargs)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), json.loads(response.read())
        finally:
            conn.close()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def clf_dir(tmp_path_factory):
    return classifier_folder(tmp_path_factory.mktemp("clf"))


@pytest.fixture(scope="module")
def ctc_dir(tmp_path_factory):
    return ctc_folder(tmp_path_factory.mktemp("ctc"))


@pytest.fixture(scope="module")
def clf_server(clf_dir):
    running = Running(clf_dir, max_batch_size=6, max_wait_ms=2000, max_request_bytes=200_000)
    yield running
    running.close()


def _same(ours, expected):
    assert [r["label"] for r in ours] == [r["label"] for r in expected]
    np.testing.assert_allclose([r["score"] for r in ours], [r["score"] for r in expected], atol=1e-5)


# ----------------------------------------------------------------------------- happy paths


def test_health(clf_server, clf_dir):
    status, _, body = clf_server.request("GET", "/health")
    assert status == 200
    assert body == {"status": "ok", "task": "audio-classification", "model": str(clf_dir)}


def test_raw_wav_matches_pipeline(clf_server, clf_dir, tmp_path):
    wav = _wav(1)
    (tmp_path / "a.wav").write_bytes(wav)
    expected = polymodal.pipeline("audio-classification", model=str(clf_dir))(str(tmp_path / "a.wav"))
    status, _, body = clf_server.request("POST", "/predict", wav, {"Content-Type": "audio/wav"})
    assert status == 200
    _same(body, expected)
    status, _, body = clf_server.request("POST", "/predict?top_k=2", wav)
    assert status == 200 and len(body) == 2
    _same(body, expected[:2])


def test_json_base64_with_parameters(clf_server):
    payload = {"inputs": base64.b64encode(_wav(2)).decode(), "parameters": {"top_k": 3}}
    status, _, body = clf_server.request("POST", "/predict", json.dumps(payload),
                                         {"Content-Type": "application/json"})
    assert status == 200 and len(body) == 3
    samples = {"inputs": [0.0, 0.1, -0.1, 0.2] * 2000, "parameters": {"top_k": 1}}
    status, _, body = clf_server.request("POST", "/predict", json.dumps(samples), {"Content-Type": "application/json"})
    assert status == 200 and len(body) == 1 and set(body[0]) == {"score", "label"}


def test_concurrent_requests_are_batched(clf_server, clf_dir):
    recording = Recording(clf_server.server.batcher.pipeline)
    clf_server.server.batcher.pipeline = recording
    try:
        wavs = [_wav(10 + i) for i in range(6)]
        results = [None] * len(wavs)
        start = threading.Barrier(len(wavs))

        def send(i):
            start.wait(10)
            results[i] = clf_server.request("POST", "/predict", wavs[i])

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(wavs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        clf_server.server.batcher.pipeline = recording.pipe
    assert max(recording.sizes) > 1 and sum(recording.sizes) == len(wavs)
    pipe = polymodal.pipeline("audio-classification", model=str(clf_dir))
    for wav, (status, _, body) in zip(wavs, results):
        assert status == 200
        _same(body, pipe(wav))


def test_transcription_server(ctc_dir):
    running = Running(ctc_dir)
    try:
        assert running.request("GET", "/health")[2]["task"] == "automatic-speech-recognition"
        wav = _wav(3)
        status, _, body = running.request("POST", "/predict", wav)
        assert status == 200
        assert body == polymodal.pipeline("automatic-speech-recognition", model=str(ctc_dir))(wav)
        assert isinstance(body["text"], str)
    finally:
        running.close()


# ----------------------------------------------------------------------------- errors


def test_too_large_body_is_413(clf_server):
    status, headers, body = clf_server.request("POST", "/predict", b"\0" * 300_000)
    assert status == 413
    assert "200000" in body["error"] and "--max-request-mb" in body["error"]


@pytest.mark.parametrize("body, headers, words", [
    (b"this is not audio at all" * 10, {}, "decode"),
    (b"{not json", {"Content-Type": "application/json"}, "not valid JSON"),
    (b'{"inputs": "%%%"}', {"Content-Type": "application/json"}, "base64"),
    (b'{"data": 1}', {"Content-Type": "application/json"}, '"inputs"'),
    (b"", {}, "empty"),
])
def test_bad_input_is_400_with_message(clf_server, body, headers, words):
    status, _, reply = clf_server.request("POST", "/predict", body, headers)
    assert status == 400
    assert words.lower() in reply["error"].lower()


def test_bad_parameters_are_400(clf_server):
    status, _, reply = clf_server.request("POST", "/predict?temperature=2", _wav(4))
    assert status == 400 and "temperature" in reply["error"] and "top_k" in reply["error"]
    status, _, reply = clf_server.request("POST", "/predict?function_to_apply=cube", _wav(4))
    assert status == 400 and "function_to_apply" in reply["error"]


def test_unknown_path_and_wrong_method(clf_server):
    status, _, reply = clf_server.request("GET", "/nope")
    assert status == 404 and "/nope" in reply["error"]
    status, _, reply = clf_server.request("POST", "/nope", b"x")
    assert status == 404
    status, headers, reply = clf_server.request("GET", "/predict")
    assert status == 405 and headers["Allow"] == "POST"
    status, _, _ = clf_server.request("DELETE", "/health")
    assert status == 405


def test_full_queue_is_503(clf_dir):
    running = Running(clf_dir, max_batch_size=1, max_wait_ms=0, max_queue=1)
    recording = Recording(running.server.batcher.pipeline, hold=True)
    running.server.batcher.pipeline = recording
    replies = []
    try:
        first = threading.Thread(target=lambda: replies.append(running.request("POST", "/predict", _wav(5))))
        first.start()
        assert recording.entered.wait(10)  # the worker holds request 1
        second = threading.Thread(target=lambda: replies.append(running.request("POST", "/predict", _wav(6))))
        second.start()
        for _ in range(1000):  # request 2 fills the one-slot queue
            if running.server.batcher.queue.qsize() == 1:
                break
            threading.Event().wait(0.01)
        status, headers, reply = running.request("POST", "/predict", _wav(7))
        assert status == 503 and headers["Retry-After"] == "1" and "busy" in reply["error"]
    finally:
        recording.release.set()
        first.join(30)
        second.join(30)
        running.close()
    assert [r[0] for r in replies] == [200, 200]


# ----------------------------------------------------------------------------- task / CLI


@pytest.mark.parametrize("config, task", [
    ({"architectures": ["Wav2Vec2ForSequenceClassification"]}, "audio-classification"),
    ({"architectures": ["ASTForAudioClassification"]}, "audio-classification"),
    ({"architectures": ["HubertForCTC"]}, "automatic-speech-recognition"),
    ({"architectures": ["CLIPModel"], "model_type": "clip"}, "zero-shot-image-classification"),
    ({"model_type": "chinese_clip"}, "zero-shot-image-classification"),
    ({"architectures": ["ClapModel"], "model_type": "clap"}, "zero-shot-audio-classification"),
])
def test_infer_task(tmp_path, config, task):
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert infer_task(tmp_path) == task


def test_infer_task_unknown(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "model_type": "bert"}))
    with pytest.raises(ConfigError, match="task="):
        infer_task(tmp_path)


def test_cli_serve_parser_and_missing_folder(tmp_path, capsys):
    from polymodal.cli import build_parser, cmd_serve, main

    args = build_parser().parse_args(["serve", "m", "--port", "0", "--max-batch-size", "4", "--max-request-mb", "2"])
    assert args.func is cmd_serve and args.port == 0 and args.max_batch_size == 4 and args.max_request_mb == 2
    assert main(["serve", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


# ----------------------------------------------------------------------------- zero-shot images


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    import torch
    import transformers
    from clip_helpers import TEXT, VISION
    from tokenizer_helpers import write_clip_files

    root = tmp_path_factory.mktemp("clip")
    torch.manual_seed(0)
    tokenizer = transformers.CLIPTokenizer.from_pretrained(str(write_clip_files(root / "tok")))
    text = {**TEXT, "vocab_size": len(tokenizer), "max_position_embeddings": 40,
            "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id}
    model = transformers.CLIPModel(transformers.CLIPConfig(text_config=text, vision_config=VISION, projection_dim=16))
    with torch.no_grad():
        model.logit_scale.fill_(4.6)
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    transformers.CLIPImageProcessor(size={"shortest_edge": 30},
                                    crop_size={"height": 30, "width": 30}).save_pretrained(root / "model")
    return root / "model"


def test_zero_shot_image_server(clip_dir, tmp_path):
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(path)
    labels = ["cat", "dog", "a bowl of soup"]
    expected = polymodal.pipeline("zero-shot-image-classification", model=str(clip_dir))(str(path),
                                                                                          candidate_labels=labels)
    running = Running(clip_dir)
    try:
        assert running.request("GET", "/health")[2]["task"] == "zero-shot-image-classification"
        query = "?candidate_labels=cat,dog&candidate_labels=a%20bowl%20of%20soup"
        status, _, body = running.request("POST", "/predict" + query, path.read_bytes(), {"Content-Type": "image/png"})
        assert status == 200
        _same(body, expected)
        payload = {"inputs": base64.b64encode(path.read_bytes()).decode(), "parameters": {"candidate_labels": labels}}
        status, _, body = running.request("POST", "/predict", json.dumps(payload), {"Content-Type": "application/json"})
        assert status == 200
        _same(body, expected)
        status, _, reply = running.request("POST", "/predict", path.read_bytes())
        assert status == 400 and "candidate_labels" in reply["error"]
        status, _, reply = running.request("POST", "/predict?candidate_labels=cat", b"not an image")
        assert status == 400 and "not a readable image" in reply["error"]
    finally:
        running.close()
