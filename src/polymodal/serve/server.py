"""Run the app on uvicorn: timeouts for slow or idle clients, a connection cap, graceful drain.

* A connection must send its complete request headers within ``header_timeout_s`` of opening
  (or of its previous response), or it is closed: a client trickling one byte a second cannot
  hold a connection slot for long. Idle keep-alive connections close after ``keep_alive_s``.
* HTTP is parsed by httptools (C) when installed, else by h11.
* At most ``max_connections`` connections; more get 503 from uvicorn straight away.
* SIGTERM (or Ctrl-C) starts a drain: ``/ready`` and new ``/predict`` calls answer 503 with
  ``Retry-After`` while requests already accepted finish (up to ``drain_timeout_s``); then the
  server stops. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from dataclasses import dataclass

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

try:  # httptools' C parser: a new connection + 64 KB POST + 503 took 360 us against h11's 510 us here
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is optional
    HttpToolsProtocol = None

from .app import create_app
from .service import Service

logger = logging.getLogger("polymodal.serve")


@dataclass
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    max_connections: int = 1000
    header_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    drain_timeout_s: float = 30.0
    backlog: int = 2048
    log_level: str = "info"


class _Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a deadline for receiving a request's headers."""

    header_timeout_s = 10.0

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_overdue)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._header_timer.cancel()
        if not self.transport.is_closing():
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_overdue)

    def connection_lost(self, exc) -> None:
        self._header_timer.cancel()
        super().connection_lost(exc)

    def _headers_overdue(self) -> None:
        # IDLE: h11 has not yet seen a complete request line and headers on this connection.
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


if HttpToolsProtocol is not None:

    class _FastProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol plus the same deadline for receiving a request's headers."""

        header_timeout_s = 10.0

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._headers_seen = 0  # requests whose headers arrived on this connection
            self._arm_header_timer()

        def _arm_header_timer(self) -> None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_overdue,
                                                      self._headers_seen)

        def on_headers_complete(self) -> None:
            self._headers_seen += 1
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._header_timer.cancel()
            if not self.transport.is_closing():
                self._arm_header_timer()

        def connection_lost(self, exc) -> None:
            self._header_timer.cancel()
            super().connection_lost(exc)

        def _headers_overdue(self, seen_when_armed: int) -> None:
            # No new request's headers since the timer was armed, and none being answered.
            idle = self.cycle is None or self.cycle.response_complete
            if self._headers_seen == seen_when_armed and idle and not self.transport.is_closing():
                self.transport.close()


class DrainingServer(uvicorn.Server):
    """A uvicorn Server whose first SIGTERM/SIGINT drains the service before stopping."""

    def __init__(self, config: uvicorn.Config, service: Service, drain_timeout_s: float):
        super().__init__(config)
        self.service, self.drain_timeout_s = service, drain_timeout_s
        self.drain_started: float | None = None

    def handle_exit(self, sig: int, frame) -> None:
        if self.drain_started is not None:  # a second signal: stop now
            if sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True
            return
        self.begin_drain()

    def begin_drain(self) -> None:
        logger.info("draining: new requests get 503 while %d in flight finish", self.service.in_flight,
                    extra={"event": "drain"})
        self.service.draining = True
        self.drain_started = time.monotonic()

    async def on_tick(self, counter: int) -> bool:
        if self.drain_started is not None and not self.should_exit:
            overdue = time.monotonic() - self.drain_started > self.drain_timeout_s
            if self.service.idle() or overdue:
                self.should_exit = True
        return await super().on_tick(counter)


def make_server(service: Service, options: ServerOptions | None = None, sock: socket.socket | None = None):
    """A :class:`DrainingServer` for ``service`` (``server.run(sockets=[sock])`` or ``server.run()``)."""
    options = options or ServerOptions()
    protocol = _Protocol if HttpToolsProtocol is None else _FastProtocol
    protocol.header_timeout_s = options.header_timeout_s
    config = uvicorn.Config(create_app(service), host=options.host, port=options.port, http=protocol,
                            lifespan="off", timeout_keep_alive=int(max(1, options.keep_alive_s)),
                            limit_concurrency=options.max_connections, backlog=options.backlog,
                            timeout_graceful_shutdown=int(max(1, options.drain_timeout_s)),
                            log_level=options.log_level, access_log=False, log_config=None)
    return DrainingServer(config, service, options.drain_timeout_s)


def run(service: Service, options: ServerOptions | None = None) -> None:
    """Serve until SIGTERM/Ctrl-C, then drain; closes the service's worker threads at the end."""
    options = options or ServerOptions()
    server = make_server(service, options)
    print(f"serving {service.task} from {service.model} on http://{options.host}:{options.port} "
          "(POST /predict, GET /health /ready /metrics /docs)", flush=True)
    try:
        asyncio.run(server.serve())
    finally:
        service.close()
