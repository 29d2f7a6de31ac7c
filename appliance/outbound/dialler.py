"""The reminder dialler: the planner's list, checked again right before each dial, placed
through a telephony seam with pacing, each attempt recorded and audited, and busy / no
answer / failed retried within the limits.

Before every dial, on the store as it is at that instant (Planner.plan_one, then the
ledger again): the appointment is still booked that day, the number is on no do-not-call
list, a consent is in force, a calling window is open in every zone of the callee, and
the attempt limits leave room. Anything else is not dialled: a later window re-queues
it, an exclusion drops it with its reason.

Pacing: a call starts only when fewer than `max_concurrent` reminder calls are up and
the capacity seam says at least `inbound_reserve` call slots are free for inbound calls
(inbound calls come first; see docs/outbound.md for how the CLI reads it). Otherwise the
dialler waits `poll_s` and looks again.

The store calls are blocking and made on the event loop: a query takes milliseconds and
the dialler is a process of its own (`appliance reminders run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from appliance.errors import ApplianceError
from appliance.outbound.ledger import Ledger
from appliance.outbound.planner import Decision, Planner
from appliance.ports import CallHandle, Clock

logger = logging.getLogger(__name__)

Outcome = Literal["answered", "busy", "no-answer", "failed", "voicemail"]
RETRIED: frozenset[str] = frozenset({"busy", "no-answer", "failed"})
BUSY_CODES = frozenset({486, 600})
NO_ANSWER_CODES = frozenset({408, 480, 487})


class PlacedCall(CallHandle, Protocol):
    """An outbound call as placed (PjsipCall): it may still ring, or fail."""

    @property
    def ended(self) -> bool: ...

    @property
    def status_code(self) -> int | None: ...  # the last SIP status, once ended

    async def wait_answered(self, within: float) -> bool: ...


class OutboundLine(Protocol):
    """Where calls go out (PjsipTelephony.place)."""

    async def place(self, uri: str, headers: dict[str, str] | None = None) -> PlacedCall: ...


class Capacity(Protocol):
    def inbound_free(self) -> int: ...  # call slots free for inbound calls now


@dataclass(frozen=True, slots=True)
class CallReport:
    outcome: Literal["answered", "voicemail"]
    # confirmed | cancelled | rescheduled | left-as-is | opted-out | wrong-person | no-reply
    # | hung-up | not-booked | to-front-desk | emergency | message-left
    result: str


class Conversation(Protocol):
    """The reminder call once answered (appliance.outbound.reminder_call)."""

    async def __call__(
        self, call: CallHandle, decision: Decision, ledger: Ledger
    ) -> CallReport: ...


@dataclass(frozen=True, slots=True)
class Pacing:
    max_concurrent: int = 2  # reminder calls up at once
    inbound_reserve: int = 2  # call slots that must stay free for inbound calls
    ring_s: float = 30.0  # s before an unanswered call is no-answer
    busy_retry_s: float = 900.0  # s before a busy number is tried again
    no_answer_retry_s: float = 3600.0
    failed_retry_s: float = 1800.0
    poll_s: float = 5.0  # s between looks at capacity (and at a number still in a call)

    def retry_after(self, outcome: str) -> float:
        return {"busy": self.busy_retry_s, "no-answer": self.no_answer_retry_s}.get(
            outcome, self.failed_retry_s
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    appointment_id: str
    number: str  # pn- key
    at: float  # UNIX s, when it was dialled
    outcome: Outcome
    result: str | None  # what the callee answered (answered / voicemail calls)
    sip_status: int | None


@dataclass(slots=True)
class RunReport:
    attempts: list[Attempt] = field(default_factory=list)
    not_dialled: dict[str, str] = field(default_factory=dict)  # appointment -> reason


def classify(status: int | None) -> Outcome:
    """The outcome of a call that was not answered, from its final SIP status."""
    if status in BUSY_CODES:
        return "busy"
    if status in NO_ANSWER_CODES:
        return "no-answer"
    return "failed"


class Dialler:
    def __init__(
        self,
        planner: Planner,
        ledger: Ledger,
        seams: tuple[OutboundLine, Conversation, Capacity, Clock],
        zone: ZoneInfo,
        uri_for: Callable[[str], str],
        pacing: Pacing | None = None,
    ) -> None:
        self._planner = planner
        self._ledger = ledger
        self._line, self._talk, self._capacity, self._clock = seams
        self._zone = zone
        self._uri_for = uri_for
        self._pacing = pacing or Pacing()
        self._queue: list[tuple[float, int, str]] = []  # (UNIX s, seq, appointment id)
        self._seq = 0
        self._calls: dict[asyncio.Task[None], str] = {}  # task -> number hash key
        self._wake = asyncio.Event()
        self._report = RunReport()

    async def run(self, day: date) -> RunReport:
        """Call the reminders for the clinic date `day` until none is left to try today
        (one whose next chance is another day is reported as `next-day`)."""
        self._report = RunReport()
        for decision in self._planner.plan(day, self._now()):
            self._queue_or_drop(decision)
        while self._queue or self._calls:
            await self._step(day)
        return self._report

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.time(), self._zone)

    def _push(self, at: float, appointment_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, appointment_id))

    def _queue_or_drop(self, decision: Decision) -> None:
        if decision.action == "excluded" or decision.at is None:
            self._report.not_dialled[decision.appointment_id] = decision.reason or "excluded"
            return
        if decision.at.astimezone(self._zone).date() > self._now().date():
            self._report.not_dialled[decision.appointment_id] = "next-day"
            return  # a run covers today: tomorrow's run plans it again
        self._report.not_dialled.pop(decision.appointment_id, None)
        self._push(decision.at.timestamp(), decision.appointment_id)

    def _room(self) -> bool:
        pacing = self._pacing
        return (
            len(self._calls) < pacing.max_concurrent
            and self._capacity.inbound_free() >= pacing.inbound_reserve
        )

    async def _step(self, day: date) -> None:
        due = self._queue and self._queue[0][0] <= self._clock.time()
        if due and self._room():
            _, _, appointment_id = heapq.heappop(self._queue)
            self._check_and_dial(appointment_id, day)
            return
        if due:  # no room: look again soon, or when a call ends
            await self._wait(self._pacing.poll_s)
        else:
            await self._wait(self._queue[0][0] - self._clock.time() if self._queue else None)

    async def _wait(self, seconds: float | None) -> None:
        """Until `seconds` pass or a call ends (None: only the latter)."""
        self._wake.clear()
        waits: list[asyncio.Future[object]] = [asyncio.ensure_future(self._wake.wait())]
        if seconds is not None:
            waits.append(asyncio.ensure_future(self._clock.sleep(max(seconds, 0.0))))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    def preview(self, day: date) -> list[tuple[str, str, datetime | None, str | None]]:
        """What `run` would do first, as of now, placing and writing nothing: per
        appointment (id, dial-now | wait | not-dialled, when, why)."""
        out: list[tuple[str, str, datetime | None, str | None]] = []
        today = self._now().date()
        for d in self._planner.plan(day, self._now()):
            refusal = self._refusal(d)
            if refusal is not None or d.at is None:
                out.append((d.appointment_id, "not-dialled", None, refusal or d.reason))
            elif d.at.astimezone(self._zone).date() > today:
                out.append((d.appointment_id, "not-dialled", d.at, "next-day"))
            else:
                action = "dial-now" if d.action == "call-now" else "wait"
                out.append((d.appointment_id, action, d.at, d.reason))
        return out

    def _refusal(self, decision: Decision) -> str | None:
        """Why the decision may not be dialled at all (the planner's reason, or a second
        look at the ledger); None when it may (now or later)."""
        if decision.action == "excluded":
            return decision.reason or "excluded"
        number, patient = decision.contact.number, decision.contact.patient_id
        if (
            number is None
            or self._ledger.on_dnc(number)
            or self._ledger.consent(patient, number) != "active"
        ):  # the planner said so already: a second look costs one query
            return "refused-at-dial"
        return None

    def _check_and_dial(self, appointment_id: str, day: date) -> None:
        """The checks right before a dial; then the call, in a task of its own."""
        decision = self._planner.plan_one(appointment_id, day, self._now())
        if decision is None:
            self._report.not_dialled[appointment_id] = "not-booked"
            return
        if decision.action != "call-now":
            self._queue_or_drop(decision)
            return
        refusal = self._refusal(decision)
        number = decision.contact.number
        if refusal is not None or number is None:
            self._report.not_dialled[appointment_id] = refusal or "no-number"
            return
        if decision.number in self._calls.values():  # the number is in a call right now
            self._push(self._clock.time() + self._pacing.poll_s, appointment_id)
            return
        task = asyncio.ensure_future(self._call(decision, number))
        self._calls[task] = decision.number or ""
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._calls.pop(task, None)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "reminder call task failed",
                extra={"stage": "outbound", "code": "outbound-call-crashed"},
            )

    async def _call(self, decision: Decision, number: str) -> None:
        at = self._clock.time()
        attempt = self._ledger.begin_call(decision.appointment_id, number, at)
        outcome, result, status, call_id = await self._dial(decision, number)
        ledger = self._ledger.for_call(call_id) if call_id else self._ledger
        ledger.end_call(attempt, decision.appointment_id, self._clock.time(), outcome)
        made = Attempt(decision.appointment_id, decision.number or "", at, outcome, result, status)
        self._report.attempts.append(made)
        logger.info(
            "reminder call",
            extra={"stage": "outbound", "code": f"reminder-{outcome}", "result": result},
        )
        if outcome in RETRIED:
            self._push(self._clock.time() + self._pacing.retry_after(outcome), made.appointment_id)

    async def _dial(
        self, decision: Decision, number: str
    ) -> tuple[Outcome, str | None, int | None, str | None]:
        """(outcome, what the callee answered, the final SIP status, the call id)."""
        try:
            call = await self._line.place(self._uri_for(number))
        except ApplianceError as exc:
            logger.warning("reminder dial failed", extra={"stage": "outbound", "code": exc.code})
            return "failed", None, None, None
        call_id = str(call.call_id)
        if not await call.wait_answered(self._pacing.ring_s):
            if not call.ended:
                await call.hangup()
                return "no-answer", None, call.status_code, call_id
            return classify(call.status_code), None, call.status_code, call_id
        ledger = self._ledger.for_call(call_id)
        try:
            report = await self._talk(call, decision, ledger)
        except ApplianceError as exc:
            logger.warning("reminder call broke", extra={"stage": "outbound", "code": exc.code})
            report = CallReport("answered", "broken")
        finally:
            with contextlib.suppress(ApplianceError):
                await call.hangup()
        return report.outcome, report.result, call.status_code, call_id
