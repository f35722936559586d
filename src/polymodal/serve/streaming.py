"""Text generation over server-sent events: ``POST /predict?stream=true`` on a text-generation server.

A streaming request still goes through the batcher (only its worker touches the model), but runs
alone, with a :class:`TokenStream` as the pipeline's ``streamer``: each piece of finalised text is
handed from the worker thread to the request's event loop and sent at once as

    data: {"token": " the"}

followed, when generation ends, by ``event: done`` with the pipeline's whole result (what the
non-streaming request returns), or ``event: error`` with ``{"error": …}``. A client that goes away
stops its generation at the next token.
"""

from __future__ import annotations

import asyncio
import json

from ..core.errors import InvalidInputError
from ..generation.streamers import TextStreamer


class ClientGone(InvalidInputError):
    """Raised inside generate() when the streaming client disconnected: stops the generation."""


class TokenStream:
    """One streaming request's text and the asyncio queue its tokens arrive on."""

    def __init__(self, text: str, loop: asyncio.AbstractEventLoop):
        self.text, self.loop = text, loop
        self.queue: asyncio.Queue = asyncio.Queue()
        self.cancelled = False

    def streamer(self, tokenizer) -> TextStreamer:
        stream = self

        class _Streamer(TextStreamer):
            def put(self, value):
                if stream.cancelled:
                    raise ClientGone("the client disconnected")
                super().put(value)

            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                if text:
                    stream.loop.call_soon_threadsafe(stream.queue.put_nowait, text)

        return _Streamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


def sse(data, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, allow_nan=False)}\n\n".encode()


async def events(stream: TokenStream, future, deadline_s: float, describe_error):
    """Yield SSE frames: tokens as they come, then ``done`` with the result (or ``error``)."""
    result = asyncio.wrap_future(future)
    loop = asyncio.get_running_loop()
    stop = loop.time() + deadline_s
    try:
        while True:
            getter = asyncio.ensure_future(stream.queue.get())
            done, _ = await asyncio.wait({getter, result}, timeout=max(stop - loop.time(), 0.001),
                                         return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield sse({"token": getter.result()})
                continue
            getter.cancel()
            if not result.done():
                yield sse({"error": "The generation did not finish within the deadline."}, "error")
                return
            while not stream.queue.empty():
                yield sse({"token": stream.queue.get_nowait()})
            try:
                yield sse(result.result(), "done")
            except Exception as exc:  # noqa: BLE001 - reported to the client without internals
                yield sse({"error": describe_error(exc)}, "error")
            return
    finally:
        stream.cancelled = True  # a client that left stops the generation at its next token
        future.cancel()
