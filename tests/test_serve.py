"""``polymodal serve``: the ASGI app on a real uvicorn server (127.0.0.1, free port), tiny random checkpoints."""

from __future__ import annotations

import base64
import io
import json
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from pipeline_helpers import ForwardPasses, classifier_folder, ctc_folder
from serve_helpers import Held, Live, wav

import polymodal
from polymodal.core.errors import ConfigError
from polymodal.serve import Limits, ServeConfig, Service, infer_task, load_service

pytest.importorskip("transformers")  # the helpers save the tiny checkpoints with it


@pytest.fixture(scope="module")
def clf_dir(tmp_path_factory):
    return classifier_folder(tmp_path_factory.mktemp("clf"))


@pytest.fixture(scope="module")
def clf_pipe(clf_dir):
    return polymodal.pipeline("audio-classification", model=str(clf_dir))


@pytest.fixture(scope="module")
def live(clf_dir):
    limits = Limits(max_request_bytes=200_000, max_seconds=5, max_samples=5 * 16000)
    running = Live(load_service(clf_dir, config=ServeConfig(max_batch_size=4, max_wait_ms=20, limits=limits)))
    yield running
    running.close()


def _same(ours, expected):
    assert [r["label"] for r in ours] == [r["label"] for r in expected]
    np.testing.assert_allclose([r["score"] for r in ours], [r["score"] for r in expected], atol=1e-5)


def _parallel(fn, count):
    results = [None] * count
    start = threading.Barrier(count)

    def run(i):
        start.wait(10)
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


# ----------------------------------------------------------------------------- endpoints


def test_health_ready_metrics_openapi(live, clf_dir):
    assert live.request("GET", "/health")[2] == {"status": "ok", "task": "audio-classification", "model": str(clf_dir)}
    assert live.request("GET", "/ready")[2]["status"] == "ready"
    status, headers, text = live.request("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    for name in ("polymodal_requests_total", "polymodal_request_latency_seconds_bucket", "polymodal_batch_size",
                 "polymodal_queue_depth"):
        assert name.encode() in text
    schema = live.request("GET", "/openapi.json")[2]
    assert {"/predict", "/health", "/ready", "/metrics"} <= set(schema["paths"])
    assert "application/json" in schema["paths"]["/predict"]["post"]["requestBody"]["content"]


def test_raw_and_json_bodies_match_the_pipeline(live, clf_pipe):
    body = wav(1)
    status, headers, reply = live.request("POST", "/predict", body, {"Content-Type": "audio/wav"})
    assert status == 200
    _same(reply, clf_pipe(body))
    # where the time went, for load tests behind a proxy (bench_serve.py): queue, model, whole stay
    timing = dict(part.strip().split(";dur=") for part in headers["server-timing"].split(","))
    assert set(timing) == {"queue", "model", "app"} and float(timing["model"]) <= float(timing["app"])
    status, _, reply = live.request("POST", "/predict?top_k=2", body)
    assert status == 200 and len(reply) == 2
    payload = {"inputs": base64.b64encode(body).decode(), "parameters": {"top_k": 3}}
    status, _, reply = live.request("POST", "/predict", json.dumps(payload), {"Content-Type": "application/json"})
    assert status == 200
    _same(reply, clf_pipe(body, top_k=3))
    samples = [0.0, 0.1, -0.1, 0.2] * 2000
    status, _, reply = live.request("POST", "/predict", json.dumps({"inputs": samples, "parameters": {"top_k": 1}}),
                                    {"Content-Type": "application/json"})
    assert status == 200
    _same(reply, clf_pipe(np.asarray(samples, dtype=np.float32), top_k=1))


def test_one_forward_pass_per_batch_with_offline_answers(live, clf_pipe):
    """4 concurrent requests of different lengths → one model forward of batch 4; each answer as if alone."""
    model = live.service.pipeline.model
    shapes = []
    hook = model.register_forward_pre_hook(lambda m, a, kw: shapes.append(tuple(kw["input_values"].shape)),
                                           with_kwargs=True)
    bodies = [wav(10 + i, seconds=0.3 + 0.1 * i) for i in range(4)]
    live.service.batcher.max_wait_s = 5  # the batch closes when full: 4 requests
    try:
        replies = _parallel(lambda i: live.request("POST", "/predict", bodies[i]), 4)
    finally:
        live.service.batcher.max_wait_s = 0.02
        hook.remove()
    assert shapes == [(4, int(16000 * 0.6))]  # one pass, padded to the longest clip
    for body, (status, _, reply) in zip(bodies, replies):
        assert status == 200
        _same(reply, clf_pipe(body))


# ----------------------------------------------------------------------------- client errors


@pytest.mark.parametrize("body, headers, status, words", [
    (b"this is not audio at all" * 10, {}, 400, "decode"),
    (b"{not json", {"Content-Type": "application/json"}, 400, "not valid JSON"),
    (b"[" * 100_000, {"Content-Type": "application/json"}, 400, "nested too deeply"),
    (b'{"inputs": "%%%"}', {"Content-Type": "application/json"}, 400, "base64"),
    (b'{"data": 1}', {"Content-Type": "application/json"}, 400, '"inputs"'),
    (b'{"inputs": [1, NaN]}', {"Content-Type": "application/json"}, 400, "NaN"),
    (b"", {}, 400, "empty"),
    (b"hello", {"Content-Type": "text/html"}, 415, "text/html"),
    (b"x" * 300_000, {}, 413, "200000"),
])
def test_bad_requests(live, body, headers, status, words):
    got, _, reply = live.request("POST", "/predict", body, headers)
    assert got == status
    assert words.lower() in reply["error"].lower()


@pytest.mark.parametrize("query, words", [
    ("temperature=2", "temperature"), ("top_k=-1", "top_k"), ("top_k=abc", "top_k"), ("top_k=1.5", "top_k"),
    ("function_to_apply=cube", "function_to_apply"),
])
def test_bad_parameters_are_400_naming_them(live, query, words):
    status, _, reply = live.request("POST", "/predict?" + query, wav(4))
    assert status == 400 and words in reply["error"]
    assert "Traceback" not in reply["error"] and "RuntimeError" not in reply["error"]


def test_unknown_path_wrong_method_and_no_length(live):
    status, _, reply = live.request("GET", "/nope")
    assert status == 404 and "/nope" in reply["error"]
    status, headers, reply = live.request("GET", "/predict")
    assert status == 405 and headers["allow"] == "POST"
    assert live.request("DELETE", "/health")[0] == 405
    with live.connect() as sock:  # chunked upload: no Content-Length
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        assert sock.recv(1000).startswith(b"HTTP/1.1 411")


def _read_all(sock) -> bytes:
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def test_partial_body_times_out_with_408(clf_dir):
    running = Live(load_service(clf_dir, config=ServeConfig(body_timeout_s=0.5)))
    try:
        with running.connect() as sock:
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
            reply = _read_all(sock)
        assert reply.startswith(b"HTTP/1.1 408") and b"10 of 1000 bytes" in reply
        assert running.request("GET", "/health")[0] == 200
    finally:
        running.close()


# ----------------------------------------------------------------------------- resource limits


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def test_decompression_bombs_refused_before_decoding(live):
    one_hz = wav(1, rate=1, seconds=20_000, subtype="PCM_16")  # 40 KB declaring 5.5 hours at 1 Hz
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", 8000, 1, format="FLAC") as f:  # 3 minutes of silence in a few KB
        for _ in range(180):
            f.write(np.zeros(8000, dtype=np.float32))
    long_flac = buffer.getvalue()
    assert len(one_hz) < 50_000 and len(long_flac) < 200_000
    before = _rss_mb()
    replies = _parallel(lambda i: live.request("POST", "/predict", [one_hz, long_flac][i % 2]), 6)
    assert _rss_mb() - before < 100
    for i, (status, _, reply) in enumerate(replies):
        if i % 2 == 0:
            assert status == 422 and "1 Hz" in reply["error"]
        else:
            assert status == 413 and "180.0 s" in reply["error"] and "--max-audio-seconds" in reply["error"]


def test_non_finite_outputs_are_a_clear_error(clf_dir):
    class Broken:
        def __init__(self, pipe):
            self.feature_extractor = pipe.feature_extractor

        def __call__(self, items, **kwargs):
            return [[{"score": float("nan"), "label": "x"}] for _ in items]

    service = load_service(clf_dir)
    service.pipeline = Broken(service.pipeline)
    running = Live(service)
    try:
        status, headers, reply = running.request("POST", "/predict", wav(1))
        assert status == 500 and "non-finite" in reply["error"]
    finally:
        running.close()


# ----------------------------------------------------------------------------- load behaviour


def test_full_queue_503_and_deadline_504(clf_dir):
    service = load_service(clf_dir, config=ServeConfig(max_batch_size=1, max_wait_ms=0, max_queue=1, timeout_s=3))
    held = Held(service.pipeline, hold=True)
    service.pipeline = held
    running = Live(service)
    replies = []
    try:
        first = threading.Thread(target=lambda: replies.append(running.request("POST", "/predict", wav(5))))
        first.start()
        assert held.entered.wait(10)  # the worker holds request 1
        second = threading.Thread(target=lambda: replies.append(running.request("POST", "/predict", wav(6))))
        second.start()
        for _ in range(500):  # request 2 fills the one-slot queue
            if service.batcher.depth() == 1:
                break
            time.sleep(0.01)
        status, headers, reply = running.request("POST", "/predict", wav(7))
        assert status == 503 and headers["retry-after"] == "1" and "busy" in reply["error"]
        assert headers["connection"] == "close"  # refused before the body was read: the connection goes with it
        # The refusal does not wait for the upload: headers announcing 1 MB, no body sent, a 503 back.
        with running.connect() as sock:
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
                         b"Content-Length: 1000000\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 503")
        assert first.is_alive() and not replies  # refused while the queue was still full, not after it drained
        first.join(30)
        second.join(30)
    finally:
        held.release.set()
        running.close()
    assert sorted(r[0] for r in replies) == [504, 504]  # neither finished within its 3 s deadline
    for _, headers, _ in replies:  # a 504 says how long it stayed and what admission expected
        timing = dict(part.strip().split(";dur=") for part in headers["server-timing"].split(","))
        assert set(timing) == {"app", "expected"} and float(timing["app"]) >= 2900


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_slow_client_does_not_block_others_and_is_cut_off(clf_dir, clf_pipe, parser, monkeypatch):
    from polymodal.serve import server

    if parser == "h11":  # the fallback where httptools is not installed
        monkeypatch.setattr(server, "HttpToolsProtocol", None)
    running = Live(load_service(clf_dir), header_timeout_s=1.5)
    assert running.server.config.http.__name__ == ("_FastProtocol" if parser == "httptools" else "_Protocol")
    try:
        slow = running.connect()

        def trickle():  # one header byte every half second
            try:
                for byte in b"POST /predict HTTP/1.1\r\nHost: x\r\n":
                    slow.send(bytes([byte]))
                    time.sleep(0.5)
            except OSError:
                pass  # the server cut it off

        threading.Thread(target=trickle, daemon=True).start()
        for i in range(3):  # served while the slow client holds its connection open
            status, _, reply = running.request("POST", "/predict", wav(20 + i))
            assert status == 200
        slow.settimeout(5)
        assert slow.recv(100) == b""  # the server closed it once its header deadline passed
        slow.close()
    finally:
        running.close()


def test_client_disconnect_mid_request_drops_its_work(clf_dir):
    service = load_service(clf_dir, config=ServeConfig(max_batch_size=1, max_wait_ms=0))
    held = Held(service.pipeline, hold=True)
    service.pipeline = held
    running = Live(service)
    try:
        first = threading.Thread(target=lambda: running.request("POST", "/predict", wav(1)))
        first.start()
        assert held.entered.wait(10)
        body = wav(2)
        with running.connect() as sock:  # queued behind request 1, then gone
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            for _ in range(500):
                if service.batcher.depth() == 1:
                    break
                time.sleep(0.01)
        time.sleep(0.3)
        held.release.set()
        first.join(30)
        status, _, _ = running.request("POST", "/predict", wav(3))
        assert status == 200
        assert held.sizes == [1, 1]  # request 1 and request 3: the abandoned one never ran
    finally:
        held.release.set()
        running.close()


def test_drain_finishes_in_flight_and_refuses_new(clf_dir):
    service = load_service(clf_dir, config=ServeConfig(max_batch_size=1, max_wait_ms=0))
    held = Held(service.pipeline, hold=True)
    service.pipeline = held
    running = Live(service, drain_timeout_s=10)
    replies = []
    try:
        first = threading.Thread(target=lambda: replies.append(running.request("POST", "/predict", wav(1))))
        first.start()
        assert held.entered.wait(10)
        running.server.begin_drain()  # what SIGTERM does
        status, headers, reply = running.request("POST", "/predict", wav(2))
        assert status == 503 and "Retry-After" in {k.title() for k in headers} and "shutting down" in reply["error"]
        assert running.request("GET", "/ready")[0] == 503
        held.release.set()
        first.join(30)
        running.thread.join(10)
        assert not running.thread.is_alive()  # the server stopped by itself once idle
    finally:
        held.release.set()
        running.close()
    assert replies[0][0] == 200


# ----------------------------------------------------------------------------- speech recognition


@pytest.fixture(scope="module")
def ctc_dir(tmp_path_factory):
    return ctc_folder(tmp_path_factory.mktemp("ctc"))


def test_transcription_batched_and_long_audio(ctc_dir):
    pipe = polymodal.pipeline("automatic-speech-recognition", model=str(ctc_dir))
    running = Live(load_service(ctc_dir, config=ServeConfig(max_batch_size=3, max_wait_ms=500)))
    try:
        assert running.request("GET", "/health")[2]["task"] == "automatic-speech-recognition"
        bodies = [wav(30 + i, seconds=0.4 + 0.1 * i) for i in range(3)]
        replies = _parallel(lambda i: running.request("POST", "/predict", bodies[i]), 3)
        for body, (status, _, reply) in zip(bodies, replies):
            assert status == 200 and reply == pipe(body)
        long = wav(40, seconds=3)
        status, _, reply = running.request("POST", "/predict?chunk_length_s=1&stride_length_s=0.2", long)
        assert status == 200 and reply == pipe(long, chunk_length_s=1, stride_length_s=0.2)
        status, _, reply = running.request("POST", "/predict?chunk_length_s=0", long)
        assert status == 400 and "chunk_length_s" in reply["error"]
    finally:
        running.close()


def test_chunked_requests_share_forward_passes(ctc_dir):
    """Issue 11: a batch of long-audio requests runs their chunks together (one pass here, not one
    per request), and each reply equals its clip transcribed alone — over HTTP too."""
    from polymodal.pipelines.base import audio_input
    from polymodal.serve.tasks import adapter_for

    pipe = polymodal.pipeline("automatic-speech-recognition", model=str(ctc_dir))
    params = {"chunk_length_s": 0.5, "stride_length_s": 0.1}
    bodies = [wav(60 + i, seconds=seconds) for i, seconds in enumerate((1.0, 0.7, 0.6))]  # 3 + 2 + 2 chunks
    alone = [pipe(body, **params) for body in bodies]
    clips = [audio_input(body, pipe.feature_extractor.sampling_rate, mono_mix=True) for body in bodies]
    with ForwardPasses(pipe.model) as passes:
        together = adapter_for("automatic-speech-recognition").predict(pipe, clips, params)
    assert together == alone and passes.sizes == [7]
    running = Live(load_service(ctc_dir, config=ServeConfig(max_batch_size=3, max_wait_ms=500)))
    try:
        query = "/predict?chunk_length_s=0.5&stride_length_s=0.1"
        replies = _parallel(lambda i: running.request("POST", query, bodies[i]), 3)
        assert [(status, reply) for status, _, reply in replies] == [(200, one) for one in alone]
    finally:
        running.close()


# ----------------------------------------------------------------------------- task inference / CLI


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


def test_bad_settings_fail_at_start(clf_pipe):
    with pytest.raises(ValueError, match="max_batch_size"):
        ServeConfig(max_batch_size=0)
    with pytest.raises(ValueError, match="max_concurrent_decodes"):
        Limits(max_concurrent_decodes=0)
    with pytest.raises(ConfigError, match="servable tasks"):
        Service(clf_pipe, "no-such-task")


def test_cli_serve_parser_and_missing_folder(tmp_path, capsys):
    from polymodal.cli import build_parser, cmd_serve, main

    args = build_parser().parse_args(["serve", "m", "--port", "0", "--max-batch-size", "4", "--max-request-mb", "2",
                                      "--max-audio-seconds", "30", "--replicas", "2", "--ray"])
    assert args.func is cmd_serve and args.port == 0 and args.max_batch_size == 4 and args.max_request_mb == 2
    assert args.max_audio_seconds == 30 and args.replicas == 2 and args.ray
    assert main(["serve", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_sigterm_drains_the_cli_server(clf_dir):
    """`polymodal serve` in its own process: SIGTERM lets the in-flight request finish, refuses new ones, exits 0."""
    import os
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "-m", "polymodal", "serve", str(clf_dir), "--port", str(port), "--max-wait-ms", "1500",
           "--log-format", "json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        assert "serving audio-classification" in proc.stdout.readline()

        class Client(Live):
            def __init__(self):
                self.port = port

        client = Client()
        for _ in range(100):
            try:
                client.request("GET", "/health")
                break
            except OSError:
                time.sleep(0.05)
        replies = []
        first = threading.Thread(target=lambda: replies.append(client.request("POST", "/predict", wav(1))))
        first.start()
        time.sleep(0.5)  # request 1 now waits in the batcher for 1.5 s
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        status, headers, reply = client.request("POST", "/predict", wav(2))
        assert status == 503 and "retry-after" in headers
        first.join(30)
        assert replies[0][0] == 200
        assert proc.wait(20) == 0
        logs = [json.loads(line) for line in proc.stderr.read().splitlines() if line.startswith("{")]
        assert any(entry.get("event") == "drain" for entry in logs)
    finally:
        proc.kill()


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

    paths = []
    for i in range(3):
        paths.append(tmp_path / f"photo{i}.png")
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (40, 50 + i, 3), dtype=np.uint8)).save(paths[-1])
    labels = ["cat", "dog", "a bowl of soup"]
    pipe = polymodal.pipeline("zero-shot-image-classification", model=str(clip_dir))
    running = Live(load_service(clip_dir, config=ServeConfig(max_batch_size=3, max_wait_ms=300,
                                                             limits=Limits(max_image_pixels=10_000))))
    try:
        assert running.request("GET", "/health")[2]["task"] == "zero-shot-image-classification"
        query = "/predict?candidate_labels=cat,dog&candidate_labels=a%20bowl%20of%20soup"
        replies = _parallel(lambda i: running.request("POST", query, paths[i].read_bytes(),
                                                      {"Content-Type": "image/png"}), 3)
        for path, (status, _, reply) in zip(paths, replies):
            assert status == 200
            _same(reply, pipe(str(path), candidate_labels=labels))
        payload = {"inputs": base64.b64encode(paths[0].read_bytes()).decode(), "parameters": {"candidate_labels": labels}}
        status, _, reply = running.request("POST", "/predict", json.dumps(payload), {"Content-Type": "application/json"})
        assert status == 200
        _same(reply, pipe(str(paths[0]), candidate_labels=labels))
        status, _, reply = running.request("POST", "/predict", paths[0].read_bytes())
        assert status == 400 and "candidate_labels" in reply["error"]
        status, _, reply = running.request("POST", "/predict?candidate_labels=cat", b"not an image")
        assert status == 400 and "not a readable image" in reply["error"]
        big = io.BytesIO()
        Image.new("RGB", (200, 100)).save(big, format="PNG")
        status, _, reply = running.request("POST", "/predict?candidate_labels=cat", big.getvalue())
        assert status == 413 and "200x100" in reply["error"]
    finally:
        running.close()


def test_overload_is_refused_before_decoding_when_the_queue_would_outlast_the_deadline(clf_dir):
    service = load_service(clf_dir, config=ServeConfig(max_batch_size=1, max_wait_ms=0, max_queue=8, timeout_s=3))
    held = Held(service.pipeline, hold=True)
    service.pipeline = held
    running = Live(service)
    replies = []
    try:
        first = threading.Thread(target=lambda: replies.append(running.request("POST", "/predict", wav(5))))
        first.start()
        assert held.entered.wait(10)
        second = threading.Thread(target=lambda: replies.append(running.request("POST", "/predict", wav(6))))
        second.start()
        for _ in range(500):
            if service.batcher.depth() == 1:
                break
            time.sleep(0.01)
        service.batcher.seconds_per_item = 5.0  # one queued input of 5 s outlasts a 3 s deadline
        service._parse = None  # refused before decoding: the decode step is never reached
        status, headers, reply = running.request("POST", "/predict", wav(7))
        assert status == 503 and headers["retry-after"] == "1" and "deadline" in reply["error"]
        assert first.is_alive() and not replies  # refused up front, while the queued work still waits
    finally:
        held.release.set()
        for thread in (first, second):
            thread.join(30)
        running.close()


def test_admission_counts_requests_still_being_decoded(clf_dir):
    """Requests admitted but not yet in the batch queue (decoding, or held by Ray's replica) count
    towards the wait a new request faces: otherwise they are let in and answered 504."""
    service = load_service(clf_dir, config=ServeConfig(max_batch_size=4, timeout_s=20))
    try:
        service.batcher.seconds_per_item = 1.0  # as measured after a few batches
        assert service.batcher.depth() == 0
        service.in_flight = 5  # its own batch ends after 2 batches of 4: 8 s, within 80% of 20 s
        assert service.refusal(time.monotonic() + 20) is None
        service.in_flight = 20  # 24 s of work ahead, 20 s left
        assert "deadline" in service.refusal(time.monotonic() + 20)
    finally:
        service.in_flight = 0
        service.close()


def test_admission_keeps_headroom_and_counts_the_whole_own_batch():
    """A request is admitted while the work ahead, rounded up to its own full batch, fits in
    ADMIT_SHARE of the time left: admitting up to the whole deadline answered the last admitted
    requests of Ray Serve replicas 504 whenever a batch ran a little slower than average."""
    from polymodal.serve.batcher import Batcher
    from polymodal.serve.service import ADMIT_SHARE

    batcher = Batcher(lambda items, params: items, max_batch_size=4)
    try:
        batcher.seconds_per_item = 0.5  # a batch of 4 takes 2 s
        assert batcher.expected_wait(0) == batcher.expected_wait(3) == 2.0  # answered with its batch
        assert batcher.expected_wait(4) == 4.0
        service = Service(None, "audio-classification", config=ServeConfig(max_batch_size=4, timeout_s=10))
        service.batcher.close()
        service.batcher = batcher
        assert 0 < ADMIT_SHARE < 1
        service.in_flight = 11  # 3 batches = 6 s ahead: within 80% of 10 s
        assert service.refusal(time.monotonic() + 10) is None
        service.in_flight = 12  # 4 batches = 8 s: past 80% of 10 s (the deadline itself would admit it)
        assert "deadline" in service.refusal(time.monotonic() + 9.9)
    finally:
        batcher.close()


def test_a_cold_server_admits_two_batches_until_it_has_timed_one(clf_dir):
    """Before any batch has run there is no speed estimate: a burst then gets two batches in and
    503 for the rest (not dozens admitted and answered 504), until the first batch gives the pace."""
    service = load_service(clf_dir, config=ServeConfig(max_batch_size=4, timeout_s=10))
    try:
        assert service.batcher.seconds_per_item == 0
        service.in_flight = 8  # (counting the new request itself, as Service.predict's check does)
        assert service.refusal(time.monotonic() + 10) is None
        service.in_flight = 9
        assert "warming up" in service.refusal(time.monotonic() + 10)
        service.batcher.seconds_per_item = 0.01  # timed: the deadline rule takes over
        assert service.refusal(time.monotonic() + 10) is None
    finally:
        service.in_flight = 0
        service.close()


def test_pace_adopts_a_slowdown_faster_than_a_speedup():
    """The time per item admission uses follows a slowdown (another replica or process taking the
    cores) a little faster than a speed-up; one slow batch does not shut the door for long."""
    from polymodal.serve.batcher import Batcher

    batcher = Batcher(lambda items, params: items, max_batch_size=8)
    try:
        batcher._pace(8, 0.8)
        assert batcher.seconds_per_item == pytest.approx(0.1)  # the first batch sets it
        batcher._pace(8, 1.6)  # twice as slow: 30% of the way per batch
        assert batcher.seconds_per_item == pytest.approx(0.13)
        batcher._pace(8, 1.6)
        assert batcher.seconds_per_item == pytest.approx(0.151)
        batcher._pace(8, 0.8)  # fast again: 20% of the way per batch
        assert batcher.seconds_per_item == pytest.approx(0.1408)
    finally:
        batcher.close()


def test_pace_is_measured_on_the_wall_clock_of_whole_batches():
    """Time per item is taken from the first request taken to the batch's last answer, so CPU
    the model does not get (decode threads, event loop, other replicas) is in the estimate."""
    from polymodal.serve.batcher import Batcher

    def slow(items, params):
        time.sleep(0.2)  # stands for a model call slowed by competition for the cores
        return items

    batcher = Batcher(slow, max_batch_size=4, max_wait_ms=50)
    try:
        futures = [batcher.submit(i, {}, time.monotonic() + 30) for i in range(4)]
        assert [f.result(30) for f in futures] == [0, 1, 2, 3]
        for _ in range(200):
            if batcher.seconds_per_item:
                break
            time.sleep(0.01)
        assert batcher.seconds_per_item >= 0.2 / 4
        started, finished = futures[0].timing
        assert finished - started >= 0.2
    finally:
        batcher.close()
