"""Text generation behind ``polymodal serve``: batched prompts, and tokens streamed over server-sent events."""

from __future__ import annotations

import http.client
import json
import threading

import pytest
from serve_helpers import Live

import polymodal
from polymodal.serve import ServeConfig, infer_task, load_service

pytest.importorskip("transformers")

GREEDY = {"max_new_tokens": 6, "do_sample": False}


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    from docs_fixtures import gpt2_lm

    return gpt2_lm(str(tmp_path_factory.mktemp("lm") / "gpt2"))


@pytest.fixture(scope="module")
def running(lm_dir):
    live = Live(load_service(lm_dir, config=ServeConfig(max_batch_size=4, max_wait_ms=50)))
    yield live
    live.close()


@pytest.fixture(scope="module")
def pipe(lm_dir):
    return polymodal.pipeline("text-generation", model=str(lm_dir))


def _post(live, prompt, parameters):
    return live.request("POST", "/predict", json.dumps({"inputs": prompt, "parameters": parameters}),
                        {"Content-Type": "application/json"})


def _events(raw: bytes) -> list[tuple[str, object]]:
    frames = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        event, data = "message", None
        for line in block.splitlines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        frames.append((event, data))
    return frames


def test_infers_text_generation(lm_dir):
    assert infer_task(lm_dir) == "text-generation"


def test_concurrent_prompts_batch_and_answer_like_the_pipeline(running, pipe):
    prompts = ["Hello world", "The quick brown fox jumps over", "Once upon"]
    replies = [None] * len(prompts)

    def send(i):
        replies[i] = _post(running, prompts[i], GREEDY)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for prompt, (status, _, reply) in zip(prompts, replies):
        assert status == 200
        assert reply == pipe(prompt, **GREEDY)


def test_stream_sends_tokens_then_the_result(running, pipe):
    conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=30)
    conn.request("POST", "/predict?stream=true&max_new_tokens=6&do_sample=false", body=b"Hello world",
                 headers={"Content-Type": "text/plain"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("content-type").startswith("text/event-stream")
    frames = _events(response.read())
    conn.close()
    expected = pipe("Hello world", **GREEDY)
    tokens = [data["token"] for event, data in frames if event == "message"]
    assert len(tokens) >= 1
    assert frames[-1] == ("done", expected)
    assert "".join(tokens) == pipe("Hello world", return_full_text=False, **GREEDY)[0]["generated_text"]


def test_generation_parameters_are_checked(running):
    status, _, reply = _post(running, "Hello", {"stream": True, "num_beams": 2})
    assert status == 400 and "stream" in reply["error"]
    status, _, reply = _post(running, "Hello", {"temperature": -1})
    assert status == 400 and "temperature" in reply["error"]
    status, _, reply = _post(running, "Hello", {"max_new_tokens": 0})
    assert status == 400 and "max_new_tokens" in reply["error"]


def test_a_client_leaving_a_stream_stops_its_generation(running, pipe):
    import socket

    sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
    body = b"Hello world"
    sock.sendall(b"POST /predict?stream=true&max_new_tokens=100&do_sample=false HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: text/plain\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert b"200" in sock.recv(64)
    sock.close()
    # The server stays healthy and answers the next request.
    status, _, reply = _post(running, "Once upon", GREEDY)
    assert status == 200 and reply == pipe("Once upon", **GREEDY)
