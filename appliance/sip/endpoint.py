"""`PjsipTelephony`: the SIP endpoint as the asyncio side sees it (implements `Telephony`).

One dedicated thread owns pjsua2 (see `endpoint_thread.py` and `stack.py`); this class only
submits commands to it and runs a `CallHandler` task per answered call on the event
loop that called `start()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable

from appliance.config import Sip
from appliance.errors import ApplianceError, TelephonyError
from appliance.ports import CallHandle, CallHandler
from appliance.sip.call import PjsipCall
from appliance.sip.endpoint_thread import EndpointThread
from appliance.sip.stack import SipStack

logger = logging.getLogger(__name__)

RTP_TIMEOUT_S = 30.0  # s without a single RTP packet before a call is considered dead
STOP_HANGUP_WAIT_S = 2.0  # s for calls to disconnect when stopping
STOP_HANDLER_WAIT_S = 3.0  # s for call handlers to finish before they are cancelled
THREAD_NAME = "pjsip-endpoint"
DRAIN_POLL_S = 0.1  # s between checks for calls still up while draining


class PjsipTelephony:
    """SIP endpoint on `sip.host:sip.port` (port 0: ephemeral, see `sip_port`)."""

    def __init__(
        self,
        sip: Sip,
        *,
        user_agent: str = "appliance",
        rtp_timeout_s: float = RTP_TIMEOUT_S,
        log_level: int = 0,
        accept_transfers: bool = False,
        on_rejected: Callable[[int], None] | None = None,
    ) -> None:
        self._sip = sip
        self._on_rejected = on_rejected  # an inbound call refused (busy, draining): its status
        self._accept_transfers = accept_transfers  # follow REFERs (off: 603 Decline)
        self._rtp_timeout_s = rtp_timeout_s  # hang up a call with no RTP this long (0: never)
        self._user_agent = user_agent
        self._log_level = log_level  # PJSIP's own log level (0: off; its logs carry URIs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_call: CallHandler | None = None
        self._stack: SipStack | None = None
        self._worker: EndpointThread | None = None
        self._calls: set[PjsipCall] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._listening = False
        self._stopping = False

    # --- Telephony -----------------------------------------------------------------

    @property
    def sip_port(self) -> int:
        """The bound SIP port (0 before start())."""
        return self._stack.port if self._stack is not None else 0

    @property
    def listening(self) -> bool:
        return self._listening

    async def start(self, on_call: CallHandler) -> None:
        """Start the endpoint thread; returns once it listens. Raises TelephonyError."""
        if self._worker is not None:
            raise TelephonyError("sip-already-started", "the SIP endpoint is already started")
        loop = asyncio.get_running_loop()
        self._loop, self._on_call = loop, on_call
        stack = SipStack(
            self._sip,
            self._user_agent,
            self._new_handle,
            self._inbound,
            self._log_level,
            self._rtp_timeout_s,
            self._accept_transfers,
            self._on_rejected,
        )
        worker = EndpointThread(THREAD_NAME, stack.setup, stack.poll, stack.teardown)
        self._stack, self._worker = stack, worker
        try:
            await worker.start()
        except ApplianceError:
            self._stack = self._worker = None
            raise
        except Exception as exc:
            self._stack = self._worker = None
            raise TelephonyError("sip-start-failed", type(exc).__name__) from exc
        self._listening = True
        logger.info(
            "sip listening",
            extra={
                "stage": "telephony",
                "port": stack.port,
                "transports": self._sip.transports,
                "codecs": stack.codecs,
            },
        )

    async def drain(self, within: float) -> int:
        """Refuse new calls (503 + Retry-After) and wait up to `within` s for calls in
        progress to end. Returns how many are still up (`stop()` hangs those up)."""
        worker, stack = self._worker, self._stack
        if worker is None or stack is None or not self._listening:
            return 0
        with contextlib.suppress(RuntimeError):
            await worker.run(stack.start_draining)
        logger.info(
            "sip draining",
            extra={"stage": "telephony", "active_calls": stack.active, "within_s": within},
        )
        deadline = time.monotonic() + within
        while stack.active > 0 and (left := deadline - time.monotonic()) > 0:
            # wake when a call ends; poll too, for calls not yet handed to a handler
            waits = [asyncio.ensure_future(c.wait_ended()) for c in self._calls if not c.ended]
            waits.append(asyncio.ensure_future(asyncio.sleep(min(left, DRAIN_POLL_S))))
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()
        return stack.active

    async def stop(self) -> None:
        """Hang up every call, let handlers finish, shut pjsua2 down, join the thread."""
        worker, stack = self._worker, self._stack
        if worker is None or stack is None or self._stopping:
            return
        self._stopping = True
        self._listening = False
        with contextlib.suppress(RuntimeError):
            await worker.run(stack.hangup_all)
        live = [c.wait_ended() for c in self._calls if not c.ended]
        if live:
            await asyncio.wait([asyncio.ensure_future(w) for w in live], timeout=STOP_HANGUP_WAIT_S)
        await self._finish_handlers()
        await worker.stop()
        self._calls.clear()
        self._worker = self._stack = None
        self._stopping = False
        logger.info("sip stopped", extra={"stage": "telephony"})

    def active_calls(self) -> int:
        return self._stack.active if self._stack is not None and self._listening else 0

    def status(self) -> dict[str, object]:
        """For the health endpoint (no PHI)."""
        stack = self._stack
        return {
            "listening": self._listening,
            "host": self._sip.host,
            "port": self.sip_port,
            "transports": list(self._sip.transports),
            "codecs": list(stack.codecs) if stack is not None else [],
            "active_calls": self.active_calls(),
            "max_calls": stack.max_calls if stack is not None else self._sip.max_calls,
        }

    async def dial(
        self,
        uri: str,
        timeout: float = 10.0,  # noqa: ASYNC109
        headers: dict[str, str] | None = None,
    ) -> CallHandle:
        """Call `uri` (X-`headers` in the INVITE); returns once media is active.

        Raises TelephonyError if not answered."""
        handle = await self.place(uri, headers)
        if await handle.wait_answered(timeout):
            return handle
        if not handle.ended:
            await handle.hangup()
            raise TelephonyError("sip-call-failed", f"no answer within {timeout:g} s")
        raise TelephonyError("sip-call-failed", f"call failed with SIP status {handle.status_code}")

    async def place(self, uri: str, headers: dict[str, str] | None = None) -> PjsipCall:
        """Send the INVITE and return the call at once (it may still ring, or fail)."""
        worker, stack = self._worker, self._stack
        if worker is None or stack is None or not self._listening:
            raise TelephonyError("sip-not-started", "the SIP endpoint is not running")
        handle = self._new_handle("outbound")
        await worker.run(functools.partial(stack.dial, uri, handle, headers))
        self._track(handle)
        return handle

    # --- internals -----------------------------------------------------------------

    def _new_handle(self, direction: str) -> PjsipCall:
        assert self._loop is not None
        handle = PjsipCall(self._loop, direction)
        handle.bind(
            functools.partial(self._hangup, handle),
            functools.partial(self._send_dtmf, handle),
            functools.partial(self._refer, handle),
        )
        handle.bind_attended(self.place, functools.partial(self._refer_replaces, handle))
        return handle

    async def _hangup(self, handle: PjsipCall) -> None:
        worker, stack = self._worker, self._stack
        if worker is None or stack is None:
            return
        with contextlib.suppress(RuntimeError):  # the endpoint thread has already stopped
            await worker.run(functools.partial(stack.hangup, handle.sip_key))

    async def _send_dtmf(self, handle: PjsipCall, digits: str, method: str) -> None:
        worker, stack = self._worker, self._stack
        if worker is None or stack is None:
            raise TelephonyError("sip-not-started", "the SIP endpoint is not running")
        try:
            await worker.run(functools.partial(stack.send_dtmf, handle.sip_key, digits, method))
        except RuntimeError as exc:
            raise TelephonyError("sip-not-started", "the SIP endpoint has stopped") from exc

    async def _refer(self, handle: PjsipCall, target: str) -> None:
        worker, stack = self._worker, self._stack
        if worker is None or stack is None:
            raise TelephonyError("sip-not-started", "the SIP endpoint is not running")
        try:
            await worker.run(functools.partial(stack.transfer, handle.sip_key, target))
        except RuntimeError as exc:
            raise TelephonyError("sip-not-started", "the SIP endpoint has stopped") from exc

    async def _refer_replaces(self, handle: PjsipCall, consult: PjsipCall) -> None:
        worker, stack = self._worker, self._stack
        if worker is None or stack is None:
            raise TelephonyError("sip-not-started", "the SIP endpoint is not running")
        try:
            await worker.run(
                functools.partial(stack.transfer_replaces, handle.sip_key, consult.sip_key)
            )
        except RuntimeError as exc:
            raise TelephonyError("sip-not-started", "the SIP endpoint has stopped") from exc

    def _inbound(self, handle: PjsipCall) -> None:
        """Media of an inbound call is active (endpoint thread): start its handler."""
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._spawn, handle)

    def _spawn(self, handle: PjsipCall) -> None:
        self._track(handle)
        if self._stopping or self._on_call is None:
            return
        task = asyncio.get_running_loop().create_task(self._run_handler(self._on_call, handle))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_handler(self, on_call: CallHandler, handle: PjsipCall) -> None:
        try:
            await on_call(handle)
        except Exception as exc:
            logger.error(
                "call handler failed",
                extra={
                    "stage": "telephony",
                    "call_id": handle.call_id,
                    "code": getattr(exc, "code", "call-handler-failed"),
                    "error": type(exc).__name__,
                },
            )
        finally:
            if not handle.ended:
                await handle.hangup()
            logger.info(
                "call ended",
                extra={
                    "stage": "telephony",
                    "call_id": handle.call_id,
                    "codec": handle.codec,
                    "remote_ended": handle.remote_ended,
                    "reason": handle.end_reason,
                    "code": handle.status_code,
                },
            )

    def _track(self, handle: PjsipCall) -> None:
        self._calls = {c for c in self._calls if not c.ended}
        self._calls.add(handle)

    async def _finish_handlers(self) -> None:
        tasks = list(self._tasks)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=STOP_HANDLER_WAIT_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
