"""``polymodal serve``: any polymodal pipeline behind one ASGI app, with real dynamic batching.

* :mod:`.app` — the FastAPI app (``POST /predict``, ``GET /health`` ``/ready`` ``/metrics``, OpenAPI).
* :mod:`.service` — the request path: parse, limits, decode pool, batcher, deadline.
* :mod:`.tasks` — one :class:`TaskAdapter` per pipeline task (parameters, decoding, batch call).
* :mod:`.batcher` — the bounded queue and the worker that runs one forward pass per batch.
* :mod:`.limits` — refuse over-long / low-rate audio and huge images from their headers.
* :mod:`.server` — uvicorn with header/keep-alive timeouts, a connection cap, drain on SIGTERM.
* :mod:`.ray` — the same app as a Ray Serve deployment; Ray Data bulk inference; Ray Train.

See docs/serving.md.
"""

from __future__ import annotations

from .app import create_app
from .limits import LimitError, Limits
from .service import HTTPError, ServeConfig, Service, load_service
from .tasks import ADAPTERS, ParameterError, TaskAdapter, adapter_for, infer_task, register_adapter

__all__ = ["ADAPTERS", "HTTPError", "LimitError", "Limits", "ParameterError", "ServeConfig", "Service",
           "TaskAdapter", "adapter_for", "create_app", "infer_task", "load_service", "register_adapter", "serve"]


def serve(model_dir, task: str | None = None, host: str = "127.0.0.1", port: int = 8000, max_batch_size: int = 8,
          max_wait_ms: float = 10, max_request_bytes: int = 10 * 2**20, max_queue: int = 64, device=None,
          timeout_s: float = 60.0, backend: str = "torch", **options) -> None:
    """Load ``model_dir`` once and serve it on uvicorn until SIGTERM / Ctrl-C (then drain)."""
    from .server import ServerOptions, run

    limit_names = {"max_seconds", "max_samples", "min_sampling_rate", "max_image_pixels", "max_concurrent_decodes"}
    limits = Limits(max_request_bytes=max_request_bytes, **{k: options.pop(k) for k in list(options)
                                                            if k in limit_names})
    config = ServeConfig(max_batch_size=max_batch_size, max_wait_ms=max_wait_ms, max_queue=max_queue,
                         timeout_s=timeout_s, limits=limits)
    server_options = ServerOptions(host=host, port=port, **options)
    run(load_service(model_dir, task, config, device=device, backend=backend), server_options)
