"""Continuous batching: one thread per model steps every live stream of that model together
(``generate.streaming.Batcher``). Requests join between steps and leave as soon as they finish,
are cancelled (the client went away) or run out of time; each stream's pieces reach its
request's asyncio queue through ``call_soon_threadsafe``. PyTorch releases the GIL in its
products, so the event loop keeps answering while the thread steps."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

from recur.generate.streaming import Batcher, TextStream

# Events go to the event loop at most every FLUSH_SECONDS, and less often the more streams there
# are (one more FLUSH_SECONDS per STREAMS_PER_FLUSH streams): a wake-up and a socket write cost
# the loop far more than an event, and 10-50 deliveries a second still read as text appearing
# token by token.
FLUSH_SECONDS = 0.02
STREAMS_PER_FLUSH = 16
IDLE_WAIT = 0.5  # seconds the thread sleeps with nothing to do (a new stream wakes it at once)


class Full(Exception):
    """The model already holds as many streams as it may; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Handle:
    """A request's view of its stream: events ("text", piece), ("end", reason) or
    ("error", message) arrive on ``queue``."""

    stream: TextStream
    queue: asyncio.Queue
    loop: asyncio.AbstractEventLoop
    deadline: float
    cancelled: bool = False
    started: float = field(default_factory=time.monotonic)


def deliver(items: list) -> None:
    """On the event loop: hand each (handle, event) of one step to its request."""
    for handle, item in items:
        handle.queue.put_nowait(item)


class Engine:
    """The step loop of one model; ``submit`` adds a stream, ``cancel`` frees its slot."""

    def __init__(self, model, precision: str, device, max_streams: int, request_seconds: float):
        self.batcher = Batcher(model, precision, device)
        self.max_streams, self.request_seconds = max_streams, request_seconds
        self.lock, self.wake = threading.Lock(), threading.Event()
        self.pending: list[Handle] = []
        self.active: dict[int, Handle] = {}  # id(stream) -> handle
        self.reserved = 0  # slots held by requests that do not stream (beam, documents, music)
        self.step_seconds, self.closed = 0.001, False
        self.outbox: list[tuple[Handle, tuple]] = []  # events of the last steps, sent together
        self.flushed = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True, name="recur-engine")
        self.thread.start()

    @property
    def load(self) -> int:
        return len(self.pending) + len(self.active) + self.reserved

    def _check_room(self, count: int) -> None:
        if self.load + count > self.max_streams:
            remaining = [
                h.stream.sample.length - len(h.stream.tokens) for h in self.active.values()
            ]
            wait = min(remaining, default=1) * self.step_seconds
            raise Full(max(1, round(wait)))

    def submit(self, streams: list[TextStream]) -> list[Handle]:
        """Join the next step (all of ``streams`` or none: Full when there is no room)."""
        loop = asyncio.get_running_loop()
        with self.lock:
            self._check_room(len(streams))
            deadline = time.monotonic() + self.request_seconds
            handles = [Handle(s, asyncio.Queue(), loop, deadline) for s in streams]
            self.pending += handles
        self.wake.set()
        return handles

    def reserve(self) -> None:
        with self.lock:
            self._check_room(1)
            self.reserved += 1

    def release(self) -> None:
        with self.lock:
            self.reserved -= 1

    def cancel(self, handles: list[Handle]) -> None:
        for handle in handles:
            handle.cancelled = True
        self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.wake.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.closed:
            if not self.batcher.streams and not self.pending:
                self.wake.wait(IDLE_WAIT)
            self.wake.clear()
            try:
                self._admit()
                self._drop()
                self._step()
            except Exception as error:  # a failed step ends its streams, never the server
                self._fail(f"generation failed: {error}")
            live = len(self.batcher.streams)
            wait = FLUSH_SECONDS * (1 + live // STREAMS_PER_FLUSH)
            if not live or time.monotonic() - self.flushed >= wait:
                self._flush()

    def _post(self, handle: Handle, item: tuple) -> None:
        self.outbox.append((handle, item))

    def _flush(self) -> None:
        """One wake-up of each event loop, carrying every event since the last one."""
        self.flushed = time.monotonic()
        by_loop: dict = {}
        for handle, item in self.outbox:
            by_loop.setdefault(handle.loop, []).append((handle, item))
        self.outbox = []
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(deliver, items)
            except RuntimeError:  # that loop is gone: its requests are too
                for handle, _ in items:
                    handle.cancelled = True

    def _admit(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, []
        pending = [h for h in pending if not h.cancelled]
        if not pending:
            return
        try:
            self.batcher.add_many([h.stream for h in pending])
        except Exception:  # one bad start: admit them one by one so that only it fails
            for handle in pending:
                self._admit_one(handle)
            return
        for handle in pending:
            self._started(handle)

    def _admit_one(self, handle: Handle) -> None:
        try:
            self.batcher.add(handle.stream)
        except Exception as error:
            self._post(handle, ("error", f"generation failed: {error}"))
            return
        self._started(handle)

    def _started(self, handle: Handle) -> None:
        self._post(handle, ("start", handle.stream.prime_text))
        if handle.stream.finish_reason is not None:
            self._post(handle, ("end", handle.stream.finish_reason))
            return
        with self.lock:
            self.active[id(handle.stream)] = handle

    def _drop(self) -> None:
        """Streams whose client went away or whose time is up leave before the next step."""
        now, gone = time.monotonic(), []
        for handle in list(self.active.values()):
            if handle.cancelled or now > handle.deadline:
                gone.append(handle)
                if not handle.cancelled:
                    handle.stream.finish_reason = "time"
                    self._post(handle, ("end", "time"))
        if gone:
            self.batcher.remove([h.stream for h in gone])
            with self.lock:
                for handle in gone:
                    self.active.pop(id(handle.stream), None)

    def _step(self) -> None:
        if not self.batcher.streams:
            return
        started = time.perf_counter()
        out = self.batcher.step()
        self.step_seconds = 0.9 * self.step_seconds + 0.1 * (time.perf_counter() - started)
        for stream, piece in out:
            handle = self.active.get(id(stream))
            if handle is None:
                continue
            if piece:
                self._post(handle, ("text", piece))
            if stream.finish_reason is not None:
                self._post(handle, ("end", stream.finish_reason))
                with self.lock:
                    self.active.pop(id(stream), None)

    def _fail(self, message: str) -> None:
        with self.lock:
            handles = list(self.active.values())
            self.active.clear()
        self.batcher.remove([h.stream for h in handles])
        for handle in handles:
            self._post(handle, ("error", message))
