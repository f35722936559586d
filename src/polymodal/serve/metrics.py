"""Prometheus metrics for one app (its own registry, so several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("polymodal_requests", "HTTP requests by endpoint and status code",
                                ("endpoint", "status"), registry=self.registry)
        self.latency = Histogram("polymodal_request_latency_seconds", "Time from request to response",
                                 ("endpoint",), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("polymodal_batch_size", "Inputs per model forward pass",
                                    buckets=BATCH_BUCKETS, registry=self.registry)
        self.queue_depth = Gauge("polymodal_queue_depth", "Requests waiting for a batch", registry=self.registry)
        self.in_flight = Gauge("polymodal_requests_in_flight", "Requests being handled", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
