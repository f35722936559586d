"""``polymodal serve`` under load: the server in its own process, the load generator in another.

For each model (the demo log-mel classifier and a wav2vec2-base-shaped classifier, random
weights, 1 s clips) and each server setup (uvicorn with batching, uvicorn at batch 1, and with
``--ray`` two Ray Serve replicas):

* closed loop: 1, 8 and 32 clients each sending one request after another → throughput and
  p50/p99 latency;
* open loop at 2x and 5x the sustainable rate (the 32-client throughput) → the server stays up,
  its RSS over time, rejections (503) and their p99 latency, whether accepted requests met the
  deadline (``--timeout-s``; 504 when not) and whether every 200 carries the offline pipeline's
  answer; and where an accepted request's time went, from the server's ``Server-Timing`` header
  (before the server — Ray's proxy —, queue, model), with the wait admission expected for each 504.

    .venv/bin/python benchmarks/bench_serve.py --models demo wav2vec2-base --duration 10 --overload-duration 60
    .venv/bin/python benchmarks/bench_serve.py --models wav2vec2-base --ray      # 2 Ray Serve replicas too
    # quick overload-only iterations: one setup, a fixed sustainable rate, a 3 s warm-up
    .venv/bin/python benchmarks/bench_serve.py --models wav2vec2-base --setups ray --sustainable 13 --overload-duration 20

Prints Markdown tables (the ones in docs/serving.md) and the load average after each overload level.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

RATE = 16000
TOP_K = 3
SETUPS = {"uvicorn-1": ("uvicorn, batch 1", 1, False), "uvicorn-8": ("uvicorn, batch 8", 8, False),
          "ray": ("Ray Serve x2, batch 8", 8, True)}


# ----------------------------------------------------------------------------- models and clips


def make_model(kind: str, folder: Path) -> Path:
    import torch

    torch.manual_seed(0)
    labels = {i: f"intent_{i}" for i in range(14)}
    if kind == "demo":
        from polymodal import WhisperFeatureExtractor
        from polymodal.models.logmel_cnn.configuration import LogMelClassifierConfig
        from polymodal.models.logmel_cnn.modeling import LogMelClassifierForSequenceClassification

        config = LogMelClassifierConfig(id2label=labels, label2id={v: k for k, v in labels.items()})
        LogMelClassifierForSequenceClassification(config).save_pretrained(folder)
        WhisperFeatureExtractor(feature_size=80, chunk_length=4).save_pretrained(folder)
    elif kind == "wav2vec2-base":
        import transformers

        config = transformers.Wav2Vec2Config(id2label=labels, label2id={v: k for k, v in labels.items()})
        transformers.Wav2Vec2ForSequenceClassification(config).save_pretrained(folder)
        transformers.Wav2Vec2FeatureExtractor(return_attention_mask=False).save_pretrained(folder)
    else:
        raise SystemExit(f"unknown model {kind!r}")
    return folder


def clips(count: int = 16, seconds: float = 1.0) -> list[bytes]:
    import soundfile as sf

    bodies = []
    for seed in range(count):
        audio = np.random.default_rng(seed).standard_normal(int(RATE * seconds)).astype(np.float32) * 0.3
        buffer = io.BytesIO()
        sf.write(buffer, audio, RATE, format="WAV", subtype="FLOAT")
        bodies.append(buffer.getvalue())
    return bodies


# ----------------------------------------------------------------------------- the server process


class Server:
    def __init__(self, model_dir: Path, port: int, batch: int, ray: bool, timeout_s: float, threads: int):
        cli = Path(sys.executable).parent / "polymodal"
        command = [str(cli), "serve", str(model_dir), "--port", str(port), "--max-batch-size", str(batch),
                   "--max-wait-ms", "5", "--timeout-s", str(timeout_s), "--log-format", "json"]
        if ray:
            command += ["--ray", "--replicas", "2"]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "POLYMODAL_VERBOSITY": "error"}
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, stdout=self.log, stderr=self.log, env=env)
        self.port, self.ray = port, ray
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"the server exited:\n{self.log.read().decode()[-3000:]}")
            try:
                status, _ = request(port, "GET", "/ready", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit("the server did not become ready within 300 s")

    def rss_mb(self) -> float:
        import psutil

        try:
            process = psutil.Process(self.process.pid)
            members = [process, *process.children(recursive=True)]
            return sum(p.memory_info().rss for p in members if p.is_running()) / 2**20
        except psutil.Error:
            return float("nan")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        import psutil

        # Only this server's own process tree (its Ray cluster included): `ray stop --force` would
        # also end Ray clusters other people run on the same machine.
        try:
            tree = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            tree = []
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        for child in tree:  # what the server's shutdown left running
            try:
                child.kill()
            except psutil.Error:
                pass


def request(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 120, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        if headers is not None:
            headers.update((name.lower(), value) for name, value in response.getheaders())
        return response.status, response.read()
    finally:
        conn.close()


def server_timing(text: str) -> dict:
    """``queue;dur=1.0, model;dur=2.0`` → {"queue": 1.0, "model": 2.0} (ms)."""
    out = {}
    for part in text.split(","):
        name, _, rest = part.strip().partition(";dur=")
        if rest:
            out[name] = float(rest)
    return out


# ----------------------------------------------------------------------------- load generators (own process)


def _send(port: int, bodies: list[bytes], index: int, out: list) -> None:
    start, headers = time.perf_counter(), {}
    try:
        status, data = request(port, "POST", f"/predict?top_k={TOP_K}", bodies[index], headers=headers)
    except OSError:
        status, data = 0, b""
    # The body of a 200 (checked against the offline answer) or of an unexpected status (which error
    # it was); the server's own account of the time (Server-Timing) to split the latency.
    keep = data if status not in (503,) else b""
    out.append((start, time.perf_counter() - start, status, index, keep, server_timing(headers.get("server-timing", ""))))


def closed_loop(port: int, bodies: list[bytes], clients: int, seconds: float, results) -> None:
    records: list = []
    stop = time.perf_counter() + seconds

    def client(number: int) -> None:
        i = number
        while time.perf_counter() < stop:
            _send(port, bodies, i % len(bodies), records)
            i += clients

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(records)


def open_loop(port: int, bodies: list[bytes], rate: float, seconds: float, results) -> None:
    records: list = []
    threads = []
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=_send, args=(port, bodies, n % len(bodies), records), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(180)
    results.put(records)


def run_load(target, *args) -> tuple[list, float]:
    results = mp.get_context("spawn").Queue()
    process = mp.get_context("spawn").Process(target=target, args=(*args, results))
    start = time.perf_counter()
    process.start()
    records = results.get()
    process.join()
    return records, time.perf_counter() - start


# ----------------------------------------------------------------------------- checks and tables


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def wrong_answers(records: list, expected: list) -> int:
    wrong = 0
    for _, _, status, index, data, _ in records:
        if status != 200:
            continue
        got, want = json.loads(data), expected[index]
        same = [r["label"] for r in got] == [r["label"] for r in want] and np.allclose(
            [r["score"] for r in got], [r["score"] for r in want], atol=1e-4)
        wrong += not same
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["demo", "wav2vec2-base"])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per closed-loop level")
    parser.add_argument("--overload-duration", type=float, default=60.0, help="seconds per overload level")
    parser.add_argument("--overload", type=float, nargs="*", default=[2.0, 5.0])
    parser.add_argument("--timeout-s", type=float, default=10.0, help="the server's per-request deadline")
    parser.add_argument("--ray", action="store_true", help="also 2 Ray Serve replicas")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="OMP threads of the server (1 on a machine whose cores are shared: spinning OpenMP "
                        "threads on busy cores cost 20x here)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--setups", nargs="+", choices=list(SETUPS), default=None,
                        help="which servers (default: uvicorn-1 uvicorn-8, plus ray with --ray)")
    parser.add_argument("--sustainable", type=float, default=None,
                        help="skip the closed-loop levels and overload relative to this many req/s")
    args = parser.parse_args()
    # A terminated benchmark still stops its server (the finally blocks run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import polymodal

    bodies = clips()
    load_rows, overload_rows, timing_rows = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.models:
            folder = make_model(kind, Path(tmp) / kind)
            pipe = polymodal.pipeline("audio-classification", model=str(folder))
            expected = [pipe(body, top_k=TOP_K) for body in bodies]
            chosen = args.setups or ["uvicorn-1", "uvicorn-8", *(["ray"] if args.ray else [])]
            for name, batch, ray in (SETUPS[key] for key in chosen):
                server = Server(folder, args.port, batch, ray, args.timeout_s, args.threads)
                try:
                    sustainable = args.sustainable or 0.0
                    if args.sustainable:  # warm up only (the admission's speed estimate needs batches)
                        run_load(closed_loop, args.port, bodies, max(args.clients), 3.0)
                    for clients in [] if args.sustainable else args.clients:
                        run_load(closed_loop, args.port, bodies, clients, 2.0)  # warm-up
                        records, _ = run_load(closed_loop, args.port, bodies, clients, args.duration)
                        ok = [r for r in records if r[2] == 200]
                        throughput = len(ok) / args.duration
                        sustainable = max(sustainable, throughput)
                        latencies = [r[1] for r in ok]
                        load_rows.append((kind, name, clients, throughput, percentile(latencies, 50),
                                          percentile(latencies, 99), len(records) - len(ok),
                                          wrong_answers(records, expected)))
                        print("|", " | ".join(_fmt(v) for v in load_rows[-1]), "|", flush=True)
                    if batch == 1:
                        continue
                    for factor in args.overload:
                        rate = factor * sustainable
                        rss, stop = [], threading.Event()

                        def watch():
                            while not stop.is_set():
                                rss.append(server.rss_mb())
                                stop.wait(1.0)

                        watcher = threading.Thread(target=watch)
                        watcher.start()
                        records, _ = run_load(open_loop, args.port, bodies, rate, args.overload_duration)
                        stop.set()
                        watcher.join()
                        ok = [r for r in records if r[2] == 200]
                        rejected = [r[1] for r in records if r[2] == 503]
                        late = sum(r[1] > args.timeout_s for r in ok)
                        timed_out = sum(r[2] == 504 for r in records)  # accepted, then missed the deadline
                        other = len(records) - len(ok) - len(rejected) - timed_out
                        if other:  # which statuses (0: the connection failed or timed out)
                            counts: dict[int, int] = {}
                            for r in records:
                                if r[2] not in (200, 503, 504):
                                    counts[r[2]] = counts.get(r[2], 0) + 1
                            print(f"other statuses at {factor:g}x: {dict(sorted(counts.items()))}", flush=True)
                        timing_rows.append((kind, name, f"{factor:g}x", *time_split(records)))
                        print("|", " | ".join(_fmt(v) for v in timing_rows[-1]), "|", flush=True)
                        overload_rows.append((kind, name, f"{factor:g}x", rate, len(ok) / args.overload_duration,
                                              len(rejected) / max(len(records), 1), percentile(rejected, 99),
                                              percentile([r[1] for r in ok], 99), late, timed_out, other,
                                              wrong_answers(records, expected), server.alive(),
                                              " → ".join(f"{v:.0f}" for v in rss[:: max(1, len(rss) // 6)])))
                        print("|", " | ".join(_fmt(v) for v in overload_rows[-1]), "|", flush=True)
                        print("load average:", Path("/proc/loadavg").read_text().strip(), flush=True)
                finally:
                    server.stop()
    print("\n| model | server | clients | req/s | p50 ms | p99 ms | errors | wrong answers |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in load_rows:
        print("|", " | ".join(_fmt(v) for v in row), "|")
    if overload_rows:
        print("\n| model | server | load | offered req/s | 200/s | 503 share | p99 503 ms | p99 200 ms | 200 past "
              "deadline | 504 | other errors | wrong answers | up | server RSS MB over time |")
        print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
        for row in overload_rows:
            print("|", " | ".join(_fmt(v) for v in row), "|")
        print("\nWhere the time went under overload (ms, p50 / p99 over the 200s; 504s: p50). before server: the "
              "client's latency minus the server's own (Ray: the proxy and its queue); expected: the wait the "
              "server's admission estimated for a request that then got 504.")
        print("| model | server | load | 200 before server | 200 queue | 200 model | 200 in server | 504s | "
              "504 before server | 504 in server | 504 expected at admission |")
        print("| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |")
        for row in timing_rows:
            print("|", " | ".join(_fmt(v) for v in row), "|")


def time_split(records: list) -> tuple:
    """Server-Timing of the 200s (p50 / p99) and of the 504s (p50): where an accepted request's time went."""
    def p50_p99(values):
        return f"{np.percentile(values, 50):.0f} / {np.percentile(values, 99):.0f}" if values else "-"

    def p50(values):
        return float(np.percentile(values, 50)) if values else float("nan")

    ok = [r for r in records if r[2] == 200 and "app" in r[5]]
    late = [r for r in records if r[2] == 504]
    return (p50_p99([r[1] * 1000 - r[5]["app"] for r in ok]), p50_p99([r[5].get("queue", 0) for r in ok]),
            p50_p99([r[5].get("model", 0) for r in ok]), p50_p99([r[5]["app"] for r in ok]), len(late),
            p50([r[1] * 1000 - r[5]["app"] for r in late if "app" in r[5]]),
            p50([r[5]["app"] for r in late if "app" in r[5]]), p50([r[5]["expected"] for r in late if "expected" in r[5]]))


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 1 else f"{value:.1f}"
    return str(value)


if __name__ == "__main__":
    main()
