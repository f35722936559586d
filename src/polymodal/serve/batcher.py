"""Dynamic batching: a bounded queue and one worker thread that runs the model on whole batches.

Requests are queued with a deadline. The worker takes the first waiting request, then waits at
most ``max_wait_ms`` for up to ``max_batch_size - 1`` more, drops those whose deadline has passed
(their clients already got a 504), groups the rest by parameters and runs ``predict(items,
params)`` once per group — one forward pass over the padded batch. Only the worker touches the
model, so the pipeline needs no lock. A full queue is refused at once (the app answers 503).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from ..core.errors import InvalidInputError

logger = logging.getLogger("polymodal.serve")


class QueueFull(Exception):
    """The request queue is at ``max_queue``."""


class DeadlineExceeded(Exception):
    """The request's deadline passed before its batch started."""


class _Job:
    __slots__ = ("item", "params", "key", "deadline", "future")

    def __init__(self, item, params: dict, deadline: float):
        self.item, self.params, self.deadline = item, params, deadline
        self.key = json.dumps(params, sort_keys=True)
        self.future: Future = Future()


class Batcher:
    def __init__(self, predict: Callable[[list, dict], list], max_batch_size: int = 8, max_wait_ms: float = 10,
                 max_queue: int = 64, on_batch: Callable[[int], None] | None = None):
        self.predict = predict
        self.max_batch_size, self.max_wait_s = max_batch_size, max_wait_ms / 1000
        self.queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self.on_batch = on_batch or (lambda size: None)
        self.busy = False
        # Wall-clock seconds per served input under the current load (see _pace): the admission
        # check refuses a request at once when the work ahead of it would outlast its deadline.
        self.seconds_per_item = 0.0
        self._taken = 0.0  # when the worker took the first request of the batch it is on
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="polymodal-batcher", daemon=True)
        self._thread.start()

    def submit(self, item, params: dict, deadline: float) -> Future:
        """Queue one input (``deadline`` on the ``time.monotonic`` clock); raises QueueFull."""
        job = _Job(item, params, deadline)
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            raise QueueFull from None
        return job.future

    def depth(self) -> int:
        return self.queue.qsize()

    def full(self) -> bool:
        return self.queue.full()

    def expected_wait(self, ahead: int | None = None) -> float:
        """Seconds until a new request has its answer with ``ahead`` requests (default: the queue's
        depth) before it, at the observed time per item (an estimate; 0 before the first batch).

        The new request's own batch counts whole: it runs with up to ``max_batch_size - 1`` others
        and answers when the batch ends, so the work is rounded up to full batches.
        """
        ahead = self.depth() if ahead is None else ahead
        batches = -(-(ahead + 1) // self.max_batch_size)
        return batches * self.max_batch_size * self.seconds_per_item

    def idle(self) -> bool:
        return not self.busy and self.queue.empty()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _collect(self) -> list[_Job]:
        try:
            jobs = [self.queue.get(timeout=0.05)]
        except queue.Empty:
            return []
        self.busy, self._taken = True, time.monotonic()
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
            try:
                now = time.monotonic()
                live = []
                for job in jobs:
                    if job.future.cancelled() or job.deadline <= now:
                        _set(job.future, exception=DeadlineExceeded())
                    else:
                        live.append(job)
                groups: dict[str, list[_Job]] = {}
                for job in live:  # one forward pass per set of parameters
                    groups.setdefault(job.key, []).append(job)
                for group in groups.values():
                    self._predict(group)
                if live:
                    self._pace(len(live), time.monotonic() - self._taken)
            finally:
                self.busy = False

    def _pace(self, items: int, seconds: float) -> None:
        """Fold one batch's wall-clock time per input into ``seconds_per_item``.

        Wall clock from taking the batch's first request to its last answer, not the model call
        alone: under load that includes waiting for the CPU the decode threads, the event loop and
        (Ray Serve) the other replicas use, which is the pace at which the queue really drains.
        A slowdown is adopted a little faster than a speed-up: a stale fast estimate lets in
        requests that then miss their deadline (504), a stale slow one refuses requests the server
        had time for. Not much faster: on shared cores one slow batch (0.5 up / 0.1 down) kept
        replicas refusing with an empty queue for many seconds, and Ray Serve x2 under 5x overload
        answered 12% fewer requests than with 0.3 / 0.2 (medians of 3 interleaved runs; neither
        gave a 504; the 20% headroom in the admission covers the rest).
        """
        sample = seconds / items
        if not self.seconds_per_item:
            self.seconds_per_item = sample
        else:
            self.seconds_per_item += (0.3 if sample > self.seconds_per_item else 0.2) * (
                sample - self.seconds_per_item)

    def _predict(self, jobs: list[_Job]) -> None:
        self.on_batch(len(jobs))
        start = time.monotonic()
        try:
            results = self.predict([job.item for job in jobs], jobs[0].params)
            if len(results) != len(jobs):
                raise RuntimeError(f"predict returned {len(results)} results for {len(jobs)} inputs")
        except InvalidInputError as exc:
            if len(jobs) > 1:  # find the request at fault: each one gets its own answer
                for job in jobs:
                    self._predict([job])
                return
            _set(jobs[0].future, exception=exc)
            return
        except Exception as exc:  # a server fault: every request of the batch gets a 500
            logger.exception("prediction failed for a batch of %d", len(jobs))
            for job in jobs:
                _set(job.future, exception=exc)
            return
        end = time.monotonic()
        for job, result in zip(jobs, results):
            job.future.timing = (start, end)  # the app's Server-Timing header: queue and model time
            _set(job.future, result=result)


def _set(future: Future, result=None, exception: BaseException | None = None) -> bool:
    """Resolve ``future`` unless its client gave up (cancelled) meanwhile."""
    if not future.set_running_or_notify_cancel():
        return False
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)
    return True
