"""``polymodal serve``: one pipeline behind a small HTTP server, with request batching.

Endpoints:

* ``GET /health`` → ``{"status": "ok", "task": …, "model": …}``.
* ``POST /predict`` → the pipeline's result for one input, as JSON. The body is either

  - the raw bytes of an audio file (wav, flac, ogg, mp3) or an image (PNG, JPEG, …); parameters
    go in the query string (``/predict?top_k=3``, ``?candidate_labels=cat&candidate_labels=dog``), or
  - a JSON object (``Content-Type: application/json``) ``{"inputs": …, "parameters": {…}}`` where
    ``inputs`` is the file base64-encoded, or, for audio, a list of float samples at the model's
    sampling rate.

Bad requests get a 4xx with ``{"error": message}``: 400 for undecodable input or a bad parameter,
404 for an unknown path, 405 for a wrong method, 411 without a Content-Length, 413 for a body over
``max_request_bytes`` and 503 (with ``Retry-After``) when the queue is full.

Batching: request threads decode their input (so a broken file fails alone, with its own 400) and
queue it; one worker thread takes up to ``max_batch_size`` queued requests — waiting at most
``max_wait_ms`` after the first — and calls the pipeline once per group of equal parameters with a
list. Only the worker touches the model, so the pipeline needs no locking. Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import queue
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .core.errors import ConfigError, InvalidInputError

AUDIO_TASKS = ("audio-classification", "automatic-speech-recognition", "zero-shot-audio-classification")
# Parameters a request may set, per task; anything else is a 400 rather than silently ignored.
PARAMETERS = {
    "audio-classification": ("top_k", "function_to_apply"),
    "automatic-speech-recognition": ("chunk_length_s", "stride_length_s", "return_timestamps"),
    "zero-shot-image-classification": ("candidate_labels", "hypothesis_template"),
    "zero-shot-audio-classification": ("candidate_labels", "hypothesis_template"),
}
_LIST_PARAMETERS = ("candidate_labels",)
_ZERO_SHOT_IMAGE = ("clip", "altclip", "align", "chinese_clip", "siglip")
DRAIN_LIMIT_BYTES = 64 * 2**20  # a too-large body up to this size is read and discarded before the 413
RESULT_TIMEOUT_S = 300  # a request gives up (504) if its batch has not run by then


# ----------------------------------------------------------------------------- task


def infer_task(model_dir) -> str:
    """The pipeline task for a checkpoint folder, from its config's architectures (or model_type)."""
    from .core.config import read_json
    from .core.hub import resolve_file

    config = read_json(resolve_file(model_dir, "config.json"))
    architectures = config.get("architectures") or []
    model_type = str(config.get("model_type", ""))
    for name in architectures:
        if name.endswith("ForCTC"):
            return "automatic-speech-recognition"
        if name.endswith(("ForSequenceClassification", "ForAudioClassification")):
            return "audio-classification"
    if model_type == "clap" or any(name.startswith("Clap") for name in architectures):
        return "zero-shot-audio-classification"
    if model_type in _ZERO_SHOT_IMAGE:
        return "zero-shot-image-classification"
    raise ConfigError(
        f"Cannot tell which task to serve for '{model_dir}' (architectures {architectures or 'missing'}, model_type "
        f"{model_type or 'missing'}); pass task=… (one of {sorted(PARAMETERS)})."
    )


# ----------------------------------------------------------------------------- requests


class HTTPError(Exception):
    """A request that ends with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def parse_query(query: str, task: str) -> dict:
    """Query-string parameters: numbers/booleans parsed as JSON, candidate_labels always a list."""
    params = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        if key in _LIST_PARAMETERS:
            params[key] = [label for value in values for label in value.split(",") if label.strip()]
            continue
        try:
            params[key] = json.loads(values[-1])
        except ValueError:
            params[key] = values[-1]
    return check_parameters(params, task)


def check_parameters(params, task: str) -> dict:
    if not isinstance(params, dict):
        raise InvalidInputError(f"'parameters' must be a JSON object, got {type(params).__name__}.")
    unknown = sorted(set(params) - set(PARAMETERS[task]))
    if unknown:
        raise InvalidInputError(f"Unknown parameter(s) {unknown} for {task}; allowed: {list(PARAMETERS[task])}.")
    return params


def parse_json_body(body: bytes, task: str) -> tuple[object, dict]:
    """``{"inputs": base64 | [samples], "parameters": {…}}`` → (bytes or samples, parameters)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"The request body is not valid JSON ({exc}).") from None
    if not isinstance(data, dict) or "inputs" not in data:
        raise InvalidInputError('The JSON body must be an object {"inputs": <base64 file>, "parameters": {...}}.')
    params = check_parameters(data.get("parameters") or {}, task)
    inputs = data["inputs"]
    if isinstance(inputs, str):
        try:
            return base64.b64decode(inputs.split(",", 1)[-1], validate=True), params
        except (binascii.Error, ValueError):
            raise InvalidInputError("'inputs' is not valid base64; encode the file's bytes with base64.") from None
    if isinstance(inputs, list) and task in AUDIO_TASKS and all(isinstance(x, (int, float)) for x in inputs):
        return inputs, params
    samples = " or a list of float samples at the model's sampling rate" if task in AUDIO_TASKS else ""
    raise InvalidInputError(f"'inputs' must be a base64 string of the file{samples}.")


def decode_input(pipe, task: str, value):
    """Bytes / samples → what the pipeline takes (1-D float32 array or RGB PIL image), or InvalidInputError."""
    if task in AUDIO_TASKS:
        import numpy as np

        from .pipelines.base import audio_input

        if isinstance(value, list):
            value = np.asarray(value, dtype=np.float32)
        return audio_input(value, pipe.feature_extractor.sampling_rate, mono_mix=True)
    from .vision.image_io import _open_bytes, load_image

    return load_image(_open_bytes(value, "the request body"))


# ----------------------------------------------------------------------------- batching


class _Job:
    __slots__ = ("item", "params", "key", "done", "result", "error")

    def __init__(self, item, params: dict):
        self.item, self.params = item, params
        self.key = json.dumps(params, sort_keys=True)
        self.done = threading.Event()
        self.result = self.error = None


class Batcher:
    """A bounded queue and one worker thread that runs the pipeline on lists of requests."""

    def __init__(self, pipe, task: str, max_batch_size: int = 8, max_wait_ms: float = 10, max_queue: int = 64):
        self.pipeline, self.task = pipe, task
        self.max_batch_size, self.max_wait_s = max_batch_size, max_wait_ms / 1000
        self.queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="polymodal-batcher", daemon=True)
        self._thread.start()

    def submit(self, item, params: dict):
        """Queue one input and wait for its result (raises the pipeline's error for it)."""
        job = _Job(item, params)
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            raise HTTPError(HTTPStatus.SERVICE_UNAVAILABLE, "The server is busy (request queue full); retry shortly.",
                            {"Retry-After": "1"}) from None
        if not job.done.wait(RESULT_TIMEOUT_S):
            raise HTTPError(HTTPStatus.GATEWAY_TIMEOUT, "The prediction did not finish in time.")
        if job.error is not None:
            raise job.error
        return job.result

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _collect(self) -> list[_Job]:
        try:
            jobs = [self.queue.get(timeout=0.1)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.max_wait_s
        while len(jobs) < self.max_batch_size:
            left = deadline - time.monotonic()
            try:
                jobs.append(self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait())
            except queue.Empty:
                break
        return jobs

    def _run(self) -> None:
        while not self._stop.is_set():
            jobs = self._collect()
            groups: dict[str, list[_Job]] = {}
            for job in jobs:  # one pipeline call per set of parameters
                groups.setdefault(job.key, []).append(job)
            for group in groups.values():
                self._predict(group)

    def _predict(self, jobs: list[_Job]) -> None:
        try:
            results = self.pipeline([job.item for job in jobs], **jobs[0].params)
        except InvalidInputError as exc:
            if len(jobs) > 1:  # find which request is at fault: each gets its own answer
                for job in jobs:
                    self._predict([job])
                return
            jobs[0].error = exc
            jobs[0].done.set()
            return
        except Exception as exc:  # a server fault: every request of the batch gets a 500
            for job in jobs:
                job.error = exc
                job.done.set()
            return
        for job, result in zip(jobs, results):
            job.result = result
            job.done.set()


# ----------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    server_version = "polymodal"
    protocol_version = "HTTP/1.1"
    server: "PredictionServer"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        if not self.server.quiet:
            super().log_message(format, *args)

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/health":
            return self._send(HTTPStatus.OK, {"status": "ok", "task": self.server.task, "model": self.server.model_dir})
        self._fail(path, "GET")

    def do_POST(self):
        parts = urlsplit(self.path)
        if parts.path != "/predict":
            return self._fail(parts.path, "POST")
        try:
            body = self._read_body()
            self._send(HTTPStatus.OK, self._predict(body, parts.query))
        except HTTPError as err:
            self._send(err.status, {"error": str(err)}, err.headers)
        except InvalidInputError as err:  # includes AudioDecodeError
            self._send(HTTPStatus.BAD_REQUEST, {"error": str(err)})
        except Exception as err:  # noqa: BLE001 - the client gets a 500, the server keeps running
            self.log_error("prediction failed: %r", err)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {type(err).__name__}: {err}"})

    def do_PUT(self):
        self._fail(urlsplit(self.path).path, "PUT")

    do_DELETE = do_PATCH = do_PUT

    def _fail(self, path: str, method: str):
        allowed = {"/predict": "POST", "/health": "GET"}.get(path)
        self.close_connection = True  # any body was not read: it must not be parsed as the next request
        if allowed is None:
            return self._send(HTTPStatus.NOT_FOUND, {"error": f"No such endpoint {path!r}; use POST /predict or "
                                                     "GET /health."})
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{method} is not allowed on {path}; use {allowed}."},
                   {"Allow": allowed})

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self.close_connection = True
            raise HTTPError(HTTPStatus.LENGTH_REQUIRED, "POST /predict needs a Content-Length header "
                            "(chunked uploads are not supported).")
        length = int(length)
        if length > self.server.max_request_bytes:
            # Close the connection after the answer; a body of modest size is read and dropped
            # first so the client, still sending, sees the 413 rather than a reset connection.
            self.close_connection = True
            if length <= DRAIN_LIMIT_BYTES:
                self._drain(length)
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"The request body has {length} bytes; the limit is "
                            f"{self.server.max_request_bytes} (start the server with a larger --max-request-mb).")
        if length == 0:
            raise InvalidInputError("The request body is empty; send an audio/image file or a JSON object.")
        return self.rfile.read(length)

    def _drain(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)

    def _predict(self, body: bytes, query: str):
        server = self.server
        if self.headers.get_content_type() == "application/json":
            value, params = parse_json_body(body, server.task)
            if query:
                params = {**parse_query(query, server.task), **params}
        else:
            value, params = body, parse_query(query, server.task)
        item = decode_input(server.pipeline, server.task, value)
        return server.batcher.submit(item, params)

    def _send(self, status: int, payload, headers: dict | None = None) -> None:
        data = json.dumps(payload, default=_jsonable).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def _jsonable(value):
    if hasattr(value, "tolist"):  # numpy / torch scalars and arrays
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class PredictionServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that owns one pipeline and its Batcher; ``server_close`` stops both."""

    daemon_threads = True

    def __init__(self, address, pipe, task: str, model_dir: str, max_batch_size: int, max_wait_ms: float,
                 max_request_bytes: int, max_queue: int, quiet: bool = False):
        super().__init__(address, _Handler)
        self.task, self.model_dir, self.quiet = task, model_dir, quiet
        self.max_request_bytes = max_request_bytes
        self.batcher = Batcher(pipe, task, max_batch_size, max_wait_ms, max_queue)

    @property
    def pipeline(self):
        return self.batcher.pipeline

    def server_close(self) -> None:
        super().server_close()
        self.batcher.close()


def make_server(model_dir, task: str | None = None, host: str = "127.0.0.1", port: int = 8000,
                max_batch_size: int = 8, max_wait_ms: float = 10, max_request_bytes: int = 10 * 2**20,
                max_queue: int = 64, device=None, quiet: bool = False) -> PredictionServer:
    """Load the pipeline once and bind the server (port 0 picks a free port: see ``server_address``)."""
    from .pipelines import TASKS, pipeline

    for name, value in (("max_batch_size", max_batch_size), ("max_request_bytes", max_request_bytes),
                        ("max_queue", max_queue)):
        if not isinstance(value, int) or value < 1:
            raise InvalidInputError(f"{name}={value!r}; expected a positive integer.")
    if max_wait_ms < 0:
        raise InvalidInputError(f"max_wait_ms={max_wait_ms!r}; expected 0 or more milliseconds.")
    task = task or infer_task(model_dir)
    if task == "asr":
        task = "automatic-speech-recognition"
    if task not in TASKS:
        raise ConfigError(f"Cannot serve task {task!r}; choose one of {sorted(TASKS)}.")
    pipe = pipeline(task, model=os.fspath(model_dir), device=device)
    return PredictionServer((host, port), pipe, task, os.fspath(model_dir), max_batch_size, max_wait_ms,
                            max_request_bytes, max_queue, quiet)


def serve(model_dir, task: str | None = None, host: str = "127.0.0.1", port: int = 8000, max_batch_size: int = 8,
          max_wait_ms: float = 10, max_request_bytes: int = 10 * 2**20, max_queue: int = 64, device=None) -> None:
    """Serve ``model_dir`` until interrupted (Ctrl-C)."""
    server = make_server(model_dir, task, host, port, max_batch_size, max_wait_ms, max_request_bytes, max_queue,
                         device)
    host, port = server.server_address[:2]
    print(f"serving {server.task} from {model_dir} on http://{host}:{port} (POST /predict, GET /health)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
