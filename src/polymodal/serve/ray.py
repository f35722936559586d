"""The serving app as a Ray Serve deployment (``polymodal serve MODEL_DIR --ray --replicas 2``).

Each replica loads the model once and serves the very same FastAPI app as ``polymodal serve``
(``serve.ingress`` with the app built at replica start), with its own batcher, limits and
metrics; Ray's HTTP proxy spreads requests over the replicas. On a multi-node cluster start
Ray on every node (``ray start --head`` / ``ray start --address HEAD:6379``), install polymodal
and the checkpoint at the same path on each, then run the same command with
``RAY_ADDRESS=HEAD:6379``.
"""

from __future__ import annotations

import os
import signal
import threading

from ..core.errors import ConfigError
from .app import create_app
from .service import ServeConfig, load_service


def _check_ray():
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
    except ImportError:
        raise ConfigError("Ray is not installed; pip install 'polymodal[ray]' to serve on Ray.") from None


def deployment(model_dir, replicas: int = 1, task: str | None = None, config: ServeConfig | None = None,
               device=None, backend: str = "torch", num_cpus: float = 1.0, autoscaling_config: dict | None = None):
    """A bound Ray Serve application serving ``model_dir`` (pass it to ``ray.serve.run``)."""
    _check_ray()
    from ray import serve

    config = config or ServeConfig()

    @serve.ingress()
    class PolymodalDeployment:
        def __init__(self, model_dir, task, config, device, backend):
            self.service = load_service(model_dir, task, config, device=device, backend=backend)

        def __serve_build_asgi_app__(self):
            return create_app(self.service)

    options = deployment_options(config, replicas, num_cpus, autoscaling_config)
    return serve.deployment(PolymodalDeployment, **options).bind(os.fspath(model_dir), task, config, device, backend)


# Requests a replica takes beyond its own batch queue: they reach its admission control, which
# refuses them in milliseconds, instead of waiting unseen in the proxy.
_OVERFLOW = 16


def deployment_options(config: ServeConfig, replicas: int = 1, num_cpus: float = 1.0,
                       autoscaling_config: dict | None = None) -> dict:
    """``serve.deployment`` options that keep the single-machine server's overload behaviour.

    Ray's proxy holds a request until a replica has room (``max_ongoing_requests``) and by
    default queues without limit: under 2x overload (bench_serve.py) that gave no 503 at all and
    requests answered after 120 s, past their deadline. So a replica accepts more than its batch
    queue (the excess gets the app's fast 503 + Retry-After), and the proxy queues at most
    ``max_queue`` more before answering 503 itself.
    """
    options = {"name": "polymodal", "ray_actor_options": {"num_cpus": num_cpus},
               "max_ongoing_requests": config.max_queue + config.max_batch_size + _OVERFLOW,
               "max_queued_requests": config.max_queue}
    try:  # Ray >= 2.5x: the proxy's own 503 carries Retry-After like the app's
        from ray.serve.config import BackpressureConfig

        options["backpressure_config"] = BackpressureConfig(status_code=503, retry_after_s=config.retry_after_s)
    except ImportError:
        pass
    if autoscaling_config:
        options["autoscaling_config"] = autoscaling_config
    else:
        options["num_replicas"] = replicas
    return options


def autoscaling_config(replicas: int, max_replicas: int | None, target_ongoing_requests: float | None = None):
    """Ray Serve's ``autoscaling_config`` for ``--replicas N --max-replicas M`` (None: a fixed count).

    ``target_ongoing_requests`` is how many requests a replica should hold before Ray adds one;
    by default the batcher's size, so a replica scales out once its batches are full.
    """
    if max_replicas is None:
        if target_ongoing_requests is not None:
            raise ConfigError("target_ongoing_requests only applies with max_replicas (autoscaling).")
        return None
    if max_replicas < replicas:
        raise ConfigError(f"max_replicas={max_replicas} is below replicas={replicas} (the minimum when autoscaling).")
    config = {"min_replicas": replicas, "max_replicas": max_replicas, "initial_replicas": replicas}
    if target_ongoing_requests is not None:
        if not target_ongoing_requests > 0:
            raise ConfigError(f"target_ongoing_requests must be > 0, got {target_ongoing_requests}.")
        config["target_ongoing_requests"] = target_ongoing_requests
    return config


def serve_on_ray(model_dir, replicas: int = 1, task: str | None = None, host: str = "127.0.0.1", port: int = 8000,
                 max_batch_size: int = 8, max_wait_ms: float = 10, max_request_bytes: int = 10 * 2**20,
                 max_queue: int = 64, device=None, timeout_s: float = 60.0, backend: str = "torch",
                 num_cpus: float = 1.0, max_replicas: int | None = None,
                 target_ongoing_requests: float | None = None, **limits) -> None:
    """Deploy on Ray Serve (a local cluster, or ``RAY_ADDRESS``) and block until SIGTERM / Ctrl-C.

    ``max_replicas`` turns on Ray Serve autoscaling between ``replicas`` and ``max_replicas``
    (see :func:`autoscaling_config`); without it the deployment has exactly ``replicas``.
    """
    _check_ray()
    import ray
    from ray import serve

    from .limits import Limits

    config = ServeConfig(max_batch_size=max_batch_size, max_wait_ms=max_wait_ms, max_queue=max_queue,
                         timeout_s=timeout_s, limits=Limits(max_request_bytes=max_request_bytes, **limits))
    ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True)
    serve.start(http_options={"host": host, "port": port})
    scaling = autoscaling_config(replicas, max_replicas, target_ongoing_requests)
    serve.run(deployment(model_dir, replicas, task, config, device, backend, num_cpus, autoscaling_config=scaling),
              name="polymodal", route_prefix="/")
    count = f"{replicas}-{max_replicas} autoscaled" if scaling else str(replicas)
    print(f"serving {model_dir} on Ray Serve with {count} replica(s) at http://{host}:{port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    serve.shutdown()  # replicas finish their in-flight requests (Ray's graceful shutdown)
