"""The ASGI app (FastAPI): ``POST /predict``, ``GET /health`` ``/ready`` ``/metrics``, OpenAPI at ``/openapi.json``.

The same app runs on uvicorn (``polymodal serve``) and inside a Ray Serve replica. Its state is
one :class:`~polymodal.serve.service.Service` in ``app.state.service`` (``None`` until the model
is loaded: ``/ready`` answers 503 until then). Replies are JSON; errors are ``{"error": message}``
with no internal exception text, and every request is logged once through ``logging``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..core.errors import InvalidInputError
from .service import HTTPError, Service

logger = logging.getLogger("polymodal.serve")
ENDPOINTS = {"/predict": "POST", "/health": "GET", "/ready": "GET", "/metrics": "GET"}
# A too-large body up to this size is read and dropped before the 413, so a client still sending
# sees the answer rather than a reset connection; past it the connection is simply closed.
DRAIN_LIMIT_BYTES = 64 * 2**20

_PREDICT_OPENAPI = {
    "parameters": [{"name": "top_k", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
                   {"name": "candidate_labels", "in": "query", "required": False,
                    "schema": {"type": "array", "items": {"type": "string"}}}],
    "requestBody": {"required": True, "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "audio/*": {"schema": {"type": "string", "format": "binary"}},
        "image/*": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object", "required": ["inputs"], "properties": {
            "inputs": {"description": "base64 file, a list of float samples (audio) or text"},
            "parameters": {"type": "object"}}}}}},
    "responses": {str(code): {"description": text, "content": {"application/json": {"schema": {
        "type": "object", "properties": {"error": {"type": "string"}}}}}} for code, text in (
        (400, "bad input or parameter"), (408, "body not received in time"), (411, "no Content-Length"),
        (413, "body, audio or image over a limit"), (415, "unsupported Content-Type"),
        (422, "audio the server refuses to process (e.g. sampling rate too low)"),
        (503, "queue full or shutting down (see Retry-After)"), (504, "deadline passed"))},
}


def create_app(service: Service | None = None) -> FastAPI:
    app = FastAPI(title="polymodal", description="A polymodal pipeline behind HTTP with dynamic batching.",
                  docs_url="/docs", redoc_url=None)
    app.state.service = service
    app.add_middleware(_Observe)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(HTTPError, _error_reply)

    @app.get("/health", summary="Liveness: the process answers")
    async def health(request: Request):
        svc = request.app.state.service
        return {"status": "ok", **(svc.info() if svc else {})}

    @app.get("/ready", summary="Readiness: the model is loaded and the server is not draining")
    async def ready(request: Request):
        svc = request.app.state.service
        if svc is None or svc.draining:
            state = "loading" if svc is None else "draining"
            return JSONResponse({"status": state}, status_code=503, headers={"Retry-After": "1"})
        return {"status": "ready", **svc.info()}

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request):
        svc = request.app.state.service
        if svc is None:
            return Response(b"", media_type="text/plain; version=0.0.4")
        svc.metrics.queue_depth.set(svc.batcher.depth())
        return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.post("/predict", summary="Run the pipeline on one input", openapi_extra=_PREDICT_OPENAPI)
    async def predict(request: Request):
        return await _predict(request)

    return app


async def _predict(request: Request) -> Response:
    svc: Service | None = request.app.state.service
    if svc is None:
        return _json_response(503, {"error": "The model is still loading; retry shortly."}, {"Retry-After": "1"})
    svc.in_flight += 1
    try:
        return await _answer(request, svc)
    except HTTPError as exc:
        return _json_response(exc.status, {"error": exc.message}, exc.headers)
    except Exception as exc:  # noqa: BLE001 - the client gets a 500 without internals; the log has the trace
        return _internal(request, exc)
    finally:
        svc.in_flight -= 1


async def _answer(request: Request, svc: Service) -> Response:
    arrival = time.monotonic()
    deadline = arrival + svc.config.timeout_s
    expected = svc.expected_wait()
    try:
        return await _answer_by(request, svc, arrival, deadline)
    except HTTPError as exc:
        if exc.status == 504:  # where the time went: the wait admission expected vs the time spent
            exc.headers = {**exc.headers, "Server-Timing": _timing(app=time.monotonic() - arrival,
                                                                   expected=expected)}
        raise


def _timing(**seconds: float) -> str:
    return ", ".join(f"{name};dur={value * 1000:.1f}" for name, value in seconds.items())


async def _answer_by(request: Request, svc: Service, arrival: float, deadline: float) -> Response:
    body = await _read_body(request, svc)
    future = await svc.predict(body, _content_type(request), list(request.query_params.multi_items()), deadline)
    if getattr(future, "stream", None) is not None:
        return _stream_response(future, svc, deadline)
    waiter = asyncio.ensure_future(svc.result(future, deadline))
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({waiter, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():  # the client left: drop its work from the batch queue
            future.cancel()
            logger.info("client disconnected before its answer", extra={"event": "disconnect"})
            return Response(status_code=499)
        started, finished = getattr(future, "timing", (arrival, arrival))
        # Server-Timing (ms): waiting in this server before the batch, the batch, and the whole stay
        timing = _timing(queue=started - arrival, model=finished - started, app=time.monotonic() - arrival)
        return _json_response(200, waiter.result(), {"Server-Timing": timing})
    finally:
        watcher.cancel()
        waiter.cancel()


def _stream_response(future, svc: Service, deadline: float) -> Response:
    """Server-sent events for a streaming text-generation request (see streaming.py)."""
    from fastapi.responses import StreamingResponse

    from .streaming import events

    def describe(exc: Exception) -> str:
        if isinstance(exc, InvalidInputError):
            return str(exc)
        logger.error("streamed generation failed", exc_info=exc, extra={"event": "error"})
        return "Internal server error; see the server log."

    frames = events(future.stream, future, max(deadline - time.monotonic(), 0.001), describe)
    return StreamingResponse(frames, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _read_body(request: Request, svc: Service) -> bytes:
    """The whole body within ``body_timeout_s``: 411 without a length, 413 over the limit, 408 when it stalls."""
    length = request.headers.get("content-length")
    if length is None or not length.strip().isdigit():
        raise HTTPError(411, "POST /predict needs a Content-Length header (chunked uploads are not supported).",
                        {"Connection": "close"})
    length, limit = int(length), svc.config.limits.max_request_bytes
    if length > limit:
        if length <= DRAIN_LIMIT_BYTES:
            await _drain(request, svc.config.body_timeout_s)
        raise HTTPError(413, f"The request body has {length} bytes; the limit is {limit} (start the server with a "
                        "larger --max-request-mb).", {"Connection": "close"})
    if length == 0:
        raise HTTPError(400, "The request body is empty; send an audio/image file or a JSON object.")
    chunks, received = [], 0
    stop = time.monotonic() + svc.config.body_timeout_s
    stream = request.stream()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout=max(stop - time.monotonic(), 0.001))
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError:
            raise HTTPError(408, f"The request body was not received within {svc.config.body_timeout_s:g} s "
                            f"({received} of {length} bytes arrived).", {"Connection": "close"}) from None
        received += len(chunk)
        chunks.append(chunk)
    return b"".join(chunks)


async def _drain(request: Request, timeout: float) -> None:
    async def consume():
        async for _ in request.stream():
            pass
    try:
        await asyncio.wait_for(consume(), timeout)
    except Exception:  # noqa: BLE001 - a stalled or vanished client: answer (or drop) regardless
        pass


def _json_response(status: int, payload, headers: dict | None = None) -> Response:
    try:
        data = json.dumps(payload, default=_jsonable, allow_nan=False)
    except ValueError:  # NaN / infinity: strict JSON has no spelling for them
        status, data = 500, json.dumps({"error": "The model produced a non-finite score (NaN or infinity) for this "
                                        "input; the checkpoint's weights may be broken."})
    return Response(data, status_code=status, media_type="application/json", headers=headers)


def _jsonable(value):
    if hasattr(value, "tolist"):  # numpy / torch scalars and arrays
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


async def _http_exception(request: Request, exc: StarletteHTTPException) -> Response:
    path = request.url.path
    if exc.status_code == 404:
        return _json_response(404, {"error": f"No such endpoint {path!r}; use POST /predict, GET /health, /ready or "
                                    "/metrics."})
    if exc.status_code == 405:
        allowed = ENDPOINTS.get(path, "GET")
        return _json_response(405, {"error": f"{request.method} is not allowed on {path}; use {allowed}."},
                              {"Allow": allowed})
    return _json_response(exc.status_code, {"error": str(exc.detail)}, getattr(exc, "headers", None))


async def _error_reply(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPError):
        return _json_response(exc.status, {"error": exc.message}, exc.headers)
    return _internal(request, exc)


def _internal(request: Request, exc: Exception) -> Response:
    request_id = request.headers.get("x-request-id", "-")
    logger.error("internal error", exc_info=exc, extra={"event": "error", "request_id": request_id})
    return _json_response(500, {"error": "Internal server error; see the server log."})


async def _shed(scope, send) -> bool:
    """Answer an overloaded server's 503 before routing and before reading the body.

    Under overload the event loop is the scarce resource: a refusal that first went through
    FastAPI's routing and read a whole upload cost about as much as a small prediction, so
    refusals queued behind each other. Here it costs one queue check and two ASGI messages;
    ``Connection: close`` tells uvicorn to drop the unread body with the connection.
    """
    if scope["path"] != "/predict" or scope["method"] != "POST" or "app" not in scope:
        return False
    svc = scope["app"].state.service
    if svc is None:
        return False
    reason = svc.refusal(time.monotonic() + svc.config.timeout_s)
    if reason is None:
        return False
    body = json.dumps({"error": reason}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close"), *((k.lower().encode(), v.encode()) for k, v in svc.retry_headers().items())]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return True


class _Observe:
    """Pure ASGI middleware: request id, one structured log line, request counter and latency histogram."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [500]
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex[:16]

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            if not await _shed(scope, send_wrapper):
                await self.app(scope, receive, send_wrapper)
        finally:
            self._record(scope, status[0], time.perf_counter() - start, request_id)

    def _record(self, scope, status: int, seconds: float, request_id: str) -> None:
        path = scope["path"]
        endpoint = path if path in ENDPOINTS else "other"
        svc = scope["app"].state.service if "app" in scope else None
        if svc is not None:
            svc.metrics.requests.labels(endpoint, str(status)).inc()
            svc.metrics.latency.labels(endpoint).observe(seconds)
        logger.info("%s %s %d %.1f ms", scope["method"], path, status, seconds * 1000, extra={
            "event": "request", "method": scope["method"], "path": path, "status": status,
            "duration_ms": round(seconds * 1000, 2), "request_id": request_id})
