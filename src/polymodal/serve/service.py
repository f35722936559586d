"""The served model: a pipeline, its task adapter, the batcher, the decode pool, metrics and drain state.

``Service.predict`` is the whole request path after the body has been read: parse (JSON or raw
file + query parameters) and check limits in a bounded decode pool, queue for a batch, wait until
the request's deadline. Every failure is a :class:`HTTPError` with the status and message the
client sees; internal exception text never reaches the reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..core.errors import ConfigError, InvalidInputError
from .batcher import Batcher, DeadlineExceeded, QueueFull
from .limits import LimitError, Limits
from .metrics import Metrics
from .tasks import TaskAdapter, adapter_for, infer_task

logger = logging.getLogger("polymodal.serve")
JSON_TYPES = ("application/json",)
RAW_TYPES = {"audio": ("audio/", "application/octet-stream", "video/"), "image": ("image/", "application/octet-stream"),
             "text": ("text/plain",)}


# A request is admitted only while the wait expected ahead of it fits in this share of its time
# left. The estimate is a moving average and batch times vary (on shared cores a batch of 8 took
# 2.6 s at p50 and 4.2 s at p99 under 5x overload on 2 Ray replicas): admitting up to the whole
# deadline answered the last admitted requests 504. Throughput does not suffer: 80% of a 10 s
# deadline still queues many batches.
ADMIT_SHARE = 0.8


class HTTPError(Exception):
    """A request that ends with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class ServeConfig:
    """Batching, queueing and deadline settings (validated here, so a bad flag fails at start-up)."""

    max_batch_size: int = 8
    max_wait_ms: float = 10.0
    max_queue: int = 64
    timeout_s: float = 60.0  # per-request deadline: answered 504 when its batch has not finished by then
    body_timeout_s: float = 30.0  # a body not fully received by then is answered 408
    retry_after_s: int = 1
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self):
        for name in ("max_batch_size", "max_queue", "retry_after_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{name}={value!r}; expected a positive integer.")
        if not self.max_wait_ms >= 0:
            raise InvalidInputError(f"max_wait_ms={self.max_wait_ms!r}; expected 0 or more milliseconds.")
        for name in ("timeout_s", "body_timeout_s"):
            if not getattr(self, name) > 0:
                raise InvalidInputError(f"{name}={getattr(self, name)!r}; expected a positive number of seconds.")


class Service:
    def __init__(self, pipe, task: str, model: str = "", config: ServeConfig | None = None,
                 adapter: TaskAdapter | None = None):
        self.pipeline, self.task, self.model = pipe, task, model
        self.config = config or ServeConfig()
        self.adapter = adapter or adapter_for(task)
        self.metrics = Metrics()
        self.decodes = ThreadPoolExecutor(self.config.limits.max_concurrent_decodes, "polymodal-decode")
        self.batcher = Batcher(self._predict, self.config.max_batch_size, self.config.max_wait_ms,
                               self.config.max_queue, self.metrics.batch_size.observe)
        self.draining = False
        self.in_flight = 0

    def _predict(self, items: list, params: dict) -> list:
        return self.adapter.predict(self.pipeline, items, params)

    def close(self) -> None:
        self.batcher.close()
        self.decodes.shutdown(wait=False, cancel_futures=True)

    def idle(self) -> bool:
        return self.in_flight == 0 and self.batcher.idle()

    def info(self) -> dict:
        return {"task": self.task, "model": self.model}

    # ------------------------------------------------------------------ the request path

    async def predict(self, body: bytes, content_type: str, query: list[tuple[str, str]], deadline: float):
        self._admit(deadline)  # before decoding: an overloaded server refuses in milliseconds
        loop = asyncio.get_running_loop()
        try:
            work = loop.run_in_executor(self.decodes, self._parse, body, content_type, query)
            item, params = await asyncio.wait_for(work, timeout=max(deadline - time.monotonic(), 0.001))
        except asyncio.TimeoutError:
            raise HTTPError(504, "The request timed out while waiting to be decoded; the server is overloaded.") from None
        except LimitError as exc:
            raise HTTPError(exc.status, str(exc)) from None
        except InvalidInputError as exc:
            raise HTTPError(400, str(exc)) from None
        stream = None
        if params.get("stream") and getattr(self.adapter, "streams", False):  # tokens over SSE (streaming.py)
            from .streaming import TokenStream

            item = stream = TokenStream(item, loop)
        try:
            future = self.batcher.submit(item, params, deadline)
        except QueueFull:
            raise HTTPError(503, "The server is busy (request queue full); retry shortly.", self.retry_headers()) from None
        future.stream = stream  # the app answers a streaming request with server-sent events
        return future

    async def result(self, future, deadline: float):
        """Wait for a queued request's result until its deadline."""
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout=max(deadline - time.monotonic(), 0.001))
        except (asyncio.TimeoutError, DeadlineExceeded):
            raise HTTPError(504, f"The prediction did not finish within the {self.config.timeout_s:g} s deadline; "
                            "the server is overloaded or the input is very long.") from None
        except InvalidInputError as exc:
            raise HTTPError(400, str(exc)) from None

    def refusal(self, deadline: float) -> str | None:
        """Why a new request must get a 503 now (None: admit it). Cheap: no body, no decoding."""
        if self.draining:
            return "The server is shutting down; retry on another replica."
        if self.batcher.full():
            return "The server is busy (request queue full); retry shortly."
        if not self.batcher.seconds_per_item and self._ahead() > 2 * self.config.max_batch_size:
            # No batch timed yet, so no estimate: a cold server hit by a burst would otherwise admit
            # everything (a Ray replica takes dozens) and answer most of it 504. Two batches keep
            # the model busy until the first one gives the pace.
            return "The server is busy (warming up); retry shortly."
        if self.expected_wait() > ADMIT_SHARE * (deadline - time.monotonic()):
            return "The server is busy (the queue ahead would outlast this request's deadline); retry shortly."
        return None

    def _ahead(self) -> int:
        # Ahead of a new request is not only the batch queue but every admitted request still being
        # decoded or run: under Ray Serve a replica holds dozens of them, and counting the queue
        # alone let requests in that then missed their deadline (504s in bench_serve's Ray rows).
        return max(self.batcher.depth(), self.in_flight)

    def expected_wait(self) -> float:
        """Seconds until a request admitted now would have its answer (an estimate)."""
        return self.batcher.expected_wait(self._ahead())

    def _admit(self, deadline: float) -> None:
        """503 at once when the queue is full or would not reach this request before its deadline."""
        reason = self.refusal(deadline)
        if reason is not None:
            raise HTTPError(503, reason, self.retry_headers())

    def retry_headers(self) -> dict:
        return {"Retry-After": str(self.config.retry_after_s)}

    def _parse(self, body: bytes, content_type: str, query: list[tuple[str, str]]):
        """Runs in the decode pool: body → (pipeline input, checked parameters)."""
        media = self.adapter.media
        params = parse_query(query)
        if content_type in JSON_TYPES:
            value, json_params = parse_json(body)
            value = self.adapter.json_inputs(value)
            params = {**params, **json_params}
        elif not content_type or content_type.startswith(RAW_TYPES[media]):
            value = body
        else:
            raise HTTPError(415, f"Content-Type {content_type!r} is not accepted by this {self.task} server; send the "
                            f"raw file ({', '.join(RAW_TYPES[media])}…) or application/json.")
        params = self.adapter.check_parameters(params)
        return self.adapter.decode(self.pipeline, value, self.config.limits), params


def parse_query(query: list[tuple[str, str]]) -> dict:
    """Query parameters: JSON scalars parsed (``top_k=3`` → 3), repeated keys collected in a list."""
    params: dict = {}
    for key, text in query:
        try:
            value = json.loads(text) if len(text) < 64 else text
        except ValueError:
            value = text
        if isinstance(value, (dict, list)):
            value = text
        if key in params:
            previous = params[key] if isinstance(params[key], list) else [params[key]]
            params[key] = previous + [value]
        else:
            params[key] = value
    if isinstance(params.get("candidate_labels"), (str, list)):  # a,b&c → ["a", "b", "c"]
        values = params["candidate_labels"] if isinstance(params["candidate_labels"], list) else [
            params["candidate_labels"]]
        params["candidate_labels"] = [part for v in values for part in str(v).split(",") if part.strip()]
    return params


def parse_json(body: bytes) -> tuple[object, dict]:
    """``{"inputs": …, "parameters": {…}}`` → (inputs, parameters); malformed or too deep JSON is a 400."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise InvalidInputError("The JSON body is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("The request body is not valid JSON.") from None
    if not isinstance(data, dict) or "inputs" not in data:
        raise InvalidInputError('The JSON body must be an object {"inputs": <base64 file>, "parameters": {...}}.')
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        raise InvalidInputError(f"'parameters' must be a JSON object, got {type(params).__name__}.")
    return data["inputs"], params


def load_service(model_dir, task: str | None = None, config: ServeConfig | None = None, device=None,
                 backend: str = "torch") -> Service:
    """Load ``model_dir``'s pipeline once and wrap it in a Service."""
    from ..pipelines import pipeline

    task = task or infer_task(model_dir)
    task = {"asr": "automatic-speech-recognition"}.get(task, task)
    adapter = adapter_for(task)
    kwargs = {} if backend == "torch" else {"backend": backend}
    if backend not in ("torch", "onnxruntime"):
        raise ConfigError(f"backend={backend!r}; choose 'torch' or 'onnxruntime'.")
    pipe = pipeline(task, model=os.fspath(model_dir), device=device, **kwargs)
    return Service(pipe, task, os.fspath(model_dir), config, adapter)
