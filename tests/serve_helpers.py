"""A uvicorn server in a thread on 127.0.0.1:<free port>, and small clients for the serve tests."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import socket
import threading
import time

import numpy as np
import soundfile as sf

RATE = 16000


def wav(seed: int, seconds: float = 0.5, rate: int = RATE, subtype: str = "FLOAT", fmt: str = "WAV") -> bytes:
    audio = np.random.default_rng(seed).standard_normal(int(rate * seconds)).astype(np.float32) * 0.3
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


class Live:
    """``Service`` served by a DrainingServer in a thread; ``request`` returns (status, headers, json)."""

    def __init__(self, service, **options):
        from polymodal.serve.server import ServerOptions, make_server

        self.service = service
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.server = make_server(service, ServerOptions(host="127.0.0.1", port=self.port, log_level="warning",
                                                         **options))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[sock])), daemon=True)
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                break
            time.sleep(0.01)

    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            raw = response.read()
            return response.status, dict(response.getheaders()), json.loads(raw) if raw.startswith((b"{", b"[")) else raw
        finally:
            conn.close()

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def close(self):
        self.server.should_exit = True
        self.thread.join(10)
        self.service.close()


class Held:
    """Wraps a pipeline: records each call's batch size and can hold calls until released."""

    def __init__(self, pipe, hold: bool = False):
        self.pipe, self.sizes = pipe, []
        self.feature_extractor = pipe.feature_extractor
        self.entered, self.release = threading.Event(), threading.Event()
        if not hold:
            self.release.set()

    def __call__(self, inputs, **kwargs):
        self.sizes.append(len(inputs))
        self.entered.set()
        self.release.wait(20)
        return self.pipe(inputs, **kwargs)
