"""The store as one call sees it: every write bounded in time, and refused fast once the
store has failed.

`GuardedRecorder` wraps the call's `CallRecorder`. Each write must finish within the
stage deadline (a lock held too long, a hung disk: "store-timeout"); anything the store
raises becomes a coded `StoreError` (the message names no value). After the first
failure the call's later turns and events are refused at once with the same code, so the
apology and the hang-up never wait on a store that is down; the call's end is still
tried (bounded), so the record of the call is closed if the store has recovered.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from appliance.conversation.timing import within
from appliance.errors import ApplianceError, StoreError
from appliance.ports import CallRecorder, Clock

T = TypeVar("T")


class GuardedRecorder:
    """A `CallRecorder` whose writes are bounded and fail fast after the first failure."""

    def __init__(self, inner: CallRecorder, clock: Clock, timeout_s: float) -> None:
        self._inner = inner
        self._clock = clock
        self._timeout_s = timeout_s
        self.failed: StoreError | None = None  # the first failure of this call's writes

    async def start_call(
        self, call_id: str, started_at: float, codec: str, remote_hash: str
    ) -> None:
        await self._guard(self._inner.start_call(call_id, started_at, codec, remote_hash))

    async def add_turn(
        self,
        call_id: str,
        speaker: str,
        text: str,
        started_at: float,
        ended_at: float,
        timings: dict[str, float | None],
        stt_confidence: float | None = None,
    ) -> int:
        work = self._inner.add_turn(
            call_id, speaker, text, started_at, ended_at, timings, stt_confidence
        )
        return await self._guard(work)

    async def end_call(self, call_id: str, ended_at: float, outcome: str) -> None:
        await self._guard(self._inner.end_call(call_id, ended_at, outcome), always=True)

    async def add_event(
        self,
        call_id: str,
        kind: str,
        stage: str | None,
        code: str | None,
        at: float,
        audited: bool = True,
    ) -> None:
        await self._guard(self._inner.add_event(call_id, kind, stage, code, at, audited))

    async def _guard(self, work: Awaitable[T], *, always: bool = False) -> T:
        if self.failed is not None and not always:
            _close(work)
            raise StoreError(self.failed.code, "the store refused an earlier write of this call")
        late = StoreError("store-timeout", "the store did not answer in time")
        try:
            return await within(self._clock, self._timeout_s, work, late)
        except ApplianceError as exc:
            error = exc if isinstance(exc, StoreError) else StoreError(exc.code, exc.message)
        except Exception as exc:  # never let an unexpected store error escape uncoded
            error = StoreError("store-write-failed", type(exc).__name__)
        self.failed = self.failed or error
        raise error


def _close(work: Awaitable[object]) -> None:
    """Discard a write that will not be awaited (no 'never awaited' warning)."""
    close = getattr(work, "close", None)
    if close is not None:
        close()
