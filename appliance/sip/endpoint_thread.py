"""The one thread that owns the pjsua2 Endpoint, and the command queue to reach it.

pjsua2 is configured with no worker threads of its own (`threadCnt = 0`,
`mainThreadOnly`), so every SIP callback runs on this thread, inside
`libHandleEvents`. Asyncio code never touches pjsua2 objects: it submits a
function with `run()`, which this thread executes between polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
POLL_MS = 10  # ms per libHandleEvents() call


def drop_frames(exc: BaseException) -> None:
    """Clear the locals of the endpoint-thread frames an exception's traceback holds.

    They may reference pjsua2 objects (an Endpoint, an Account, a Call); kept alive by
    the exception, those would be destroyed later on another thread, which pjlib
    aborts on (or, for an Endpoint, block the next one from being created).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__


class Command:
    """A function to run on the endpoint thread; its outcome settles an asyncio future."""

    __slots__ = ("fn", "future", "loop")

    def __init__(
        self, fn: Callable[[], Any], loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]
    ) -> None:
        self.fn = fn
        self.loop = loop
        self.future = future

    def execute(self) -> None:
        try:
            result = self.fn()
        except BaseException as exc:
            drop_frames(exc)
            self.settle(None, exc)
        else:
            self.settle(result, None)

    def settle(self, result: Any, exc: BaseException | None) -> None:
        future = self.future

        def apply() -> None:
            if future.done():  # the awaiting task was cancelled
                return
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            self.loop.call_soon_threadsafe(apply)


class EndpointThread:
    """Runs `poll` in a loop on a dedicated thread and executes queued commands.

    `setup` runs first on the thread (its exception fails `start()`); `teardown` runs
    last, after `stop()` was requested, whatever happened before.
    """

    def __init__(
        self,
        name: str,
        setup: Callable[[], None],
        poll: Callable[[int], None],
        teardown: Callable[[], None],
    ) -> None:
        self._setup, self._poll, self._teardown = setup, poll, teardown
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False  # no more commands are accepted
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._setup_error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    async def start(self) -> None:
        """Start the thread; returns once `setup` finished (re-raising its error)."""
        self._thread.start()
        await asyncio.to_thread(self._started.wait)
        if self._setup_error is not None:
            await asyncio.to_thread(self._thread.join)
            raise self._setup_error

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the endpoint thread and return its result (or raise its error).

        Raises RuntimeError once the thread has stopped.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._closed or not self._thread.is_alive():
                raise RuntimeError("the endpoint thread is not running")
            self._commands.put(Command(fn, loop, future))
        return await future

    async def stop(self) -> None:
        """Ask the thread to finish (it runs `teardown`) and wait for it."""
        self._stopping.set()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)

    def _main(self) -> None:
        try:
            self._setup()
        except BaseException as exc:
            drop_frames(exc)  # free what setup() created before teardown destroys the lib
            self._close()
            self._safe_teardown()
            self._setup_error = exc
            self._started.set()
            return
        self._started.set()
        try:
            while not self._stopping.is_set():
                self._poll_once()
                self._drain_commands()
            self._drain_commands()
        finally:
            self._close()
            self._safe_teardown()

    def _poll_once(self) -> None:
        try:
            self._poll(POLL_MS)
        except Exception as exc:  # keep serving calls; do not spin on a persistent error
            logger.error(
                "telephony poll failed",
                extra={
                    "stage": "telephony",
                    "code": "sip-poll-failed",
                    "error": type(exc).__name__,
                },
            )
            time.sleep(POLL_MS / 1000)

    def _drain_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            command.execute()

    def _close(self) -> None:
        """Refuse new commands; fail those still queued instead of leaving them hanging."""
        with self._lock:
            self._closed = True
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            command.settle(None, RuntimeError("the endpoint thread has stopped"))

    def _safe_teardown(self) -> None:
        try:
            self._teardown()
        except Exception as exc:
            logger.error(
                "telephony teardown failed",
                extra={
                    "stage": "telephony",
                    "code": "sip-teardown-failed",
                    "error": type(exc).__name__,
                },
            )
