"""`appliance reminders run`: the dialler's parts put together (the real SIP endpoint and
speech models are started by appliance.cli.outbound, above this layer).

- calls go out from a SIP endpoint of its own (pjsua2, PjsipTelephony.place) to
  `sip:<E.164>@<via>`, where `via` is the PBX or its outbound proxy; that endpoint
  listens on `sip_port` (0: any free port) and takes its RTP ports just above the
  agent workers' range (sip.rtp_port + sip.rtp_port_range, 40 ports); a call to it
  is hung up;
- the conversation speaks with the appliance's own Piper voice, hears with its
  Whisper model and Silero end-of-turn detector (the [stt], [tts], [vad] settings);
- inbound capacity (StoreCapacity): the call slots the edge admits
  (sip.max_calls x sip.workers) less the inbound calls open in the store now (a row
  in `calls` not ended, started within sip.max_call_s, so a crashed call's row does
  not count forever).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

import msgspec

from appliance.config import Outbound, Settings, Sip
from appliance.errors import OutboundError
from appliance.outbound.dialler import (
    CallReport,
    Conversation,
    Dialler,
    OutboundLine,
    Pacing,
    PlacedCall,
)
from appliance.outbound.ledger import Actor, Ledger
from appliance.outbound.planner import Decision, Planner
from appliance.outbound.reminder_call import ReminderCall, ReminderSettings, Voice
from appliance.outbound.reminder_call import appointment_facts as facts_of
from appliance.outbound.reminder_move import Moves
from appliance.outbound.reminder_move import booked_appointment as load
from appliance.ports import CallHandle, Clock
from appliance.store.db import Connection, Database
from appliance.workflows.understander import Understander

DIALLER_RTP_PORTS = 40
ACTOR = Actor("reminders", "system", "outbound")


@dataclass(frozen=True, slots=True)
class RunOptions:
    day: date
    via: str  # host[:port] of the PBX / outbound proxy
    callback: str  # the clinic's call-back number, said in messages
    sip_port: int = 0
    pacing: Pacing = field(default_factory=Pacing)


class StoreCapacity:
    """Call slots free for inbound calls, read from the store at each look."""

    def __init__(self, db: Database, slots: int, max_call_s: float, now: Callable[[], float]):
        self._db = db
        self._slots = slots
        self._max_call_s = max_call_s or 24 * 3600.0
        self._now = now

    def inbound_free(self) -> int:
        since = self._now() - self._max_call_s

        def open_calls(conn: Connection) -> int:
            row = conn.execute(
                "SELECT count(*) FROM calls WHERE ended_at IS NULL AND started_at >= ?",
                (since,),
            ).fetchone()
            return int(row[0])

        return self._slots - self._db.query(open_calls)


@dataclass(frozen=True, slots=True)
class Overrides:
    """What `reminders run` was told on its command line ("" / None: the setting holds)."""

    via: str = ""
    callback: str = ""
    sip_port: int = 0
    max_concurrent: int | None = None
    inbound_reserve: int | None = None


def run_options(o: Outbound, day: date, given: Overrides) -> RunOptions:
    """A run's options: [outbound] (route, callback, pacing, retry delays) with the
    command line's overrides on top."""
    pacing = pacing_of(o, given.max_concurrent, given.inbound_reserve)
    via, callback = given.via or o.route, given.callback or o.callback
    return RunOptions(day, via, callback, given.sip_port, pacing)


def pacing_of(o: Outbound, max_concurrent: int | None, inbound_reserve: int | None) -> Pacing:
    """The [outbound] pacing and retry delays; a CLI option, when given, overrides."""
    return Pacing(
        max_concurrent=o.max_concurrent if max_concurrent is None else max_concurrent,
        inbound_reserve=o.inbound_reserve if inbound_reserve is None else inbound_reserve,
        ring_s=o.ring_s,
        busy_retry_s=o.busy_retry_s,
        no_answer_retry_s=o.no_answer_retry_s,
        failed_retry_s=o.failed_retry_s,
    )


def dialler_sip(sip: Sip, sip_port: int) -> Sip:
    """The dialler endpoint's [sip]: its own port and RTP range, no registrations."""
    return msgspec.structs.replace(
        sip,
        port=sip_port,
        rtp_port=sip.rtp_port + sip.rtp_port_range,
        rtp_port_range=DIALLER_RTP_PORTS,
        registrations=[],
    )


def uri_for(via: str) -> Callable[[str], str]:
    return lambda number: f"sip:{number}@{via}"


def reminder_call(settings: Settings, db: Database, voice: Voice, callback: str) -> ReminderCall:
    """The conversation, cancelling through the built-in schedule (as the workflows do)
    and moving through the clinic's workflow engine (as an inbound call does)."""
    from appliance.scheduling.builtin import BuiltinSchedule
    from appliance.workflows.factory import clinic_engines

    zone = ZoneInfo(settings.clinic.timezone)
    # the rules alone read the callee's words: a reminder run starts no LLM
    moves = Moves(clinic_engines(settings, db), Understander(None, "never"), load(db, zone))
    return ReminderCall(
        voice,
        ReminderSettings(
            settings.clinic.name, callback, emergency_number=settings.workflows.emergency_number
        ),
        facts_of(db, zone),
        BuiltinSchedule(db, zone).cancel,
        moves,
    )


def build_dialler(
    settings: Settings,
    db: Database,
    hash_key: bytes,
    seams: tuple[OutboundLine, Conversation, Clock],
    options: RunOptions,
) -> Dialler:
    """The dialler over a line (PjsipTelephony or a test's), a conversation and a clock."""
    line, talk, clock = seams
    sip = settings.sip
    capacity = StoreCapacity(db, sip.max_calls * sip.workers, sip.max_call_s, clock.time)
    return Dialler(
        Planner.from_settings(db, hash_key, settings),
        Ledger(db, hash_key, ACTOR),
        (line, talk, capacity, clock),
        ZoneInfo(settings.clinic.timezone),
        uri_for(options.via),
        options.pacing,
    )


class FixedClock:
    """A clock standing at one instant (`reminders run --dry-run --now`)."""

    def __init__(self, at: float) -> None:
        self._at = at

    def monotonic(self) -> float:
        return self._at

    def time(self) -> float:
        return self._at

    async def sleep(self, seconds: float) -> None:
        raise OutboundError("outbound-dry-run", "a dry run does not wait")


class _NoLine:
    async def place(self, uri: str, headers: dict[str, str] | None = None) -> PlacedCall:
        raise OutboundError("outbound-dry-run", "a dry run places no call")


class _NoTalk:
    async def __call__(self, call: CallHandle, decision: Decision, ledger: Ledger) -> CallReport:
        raise OutboundError("outbound-dry-run", "a dry run talks to no one")


def dry_dialler(settings: Settings, db: Database, hash_key: bytes, at: float) -> Dialler:
    """A dialler for `preview` only: it can place no call and write nothing."""
    sip = settings.sip
    clock = FixedClock(at)
    capacity = StoreCapacity(db, sip.max_calls * sip.workers, sip.max_call_s, clock.time)
    return Dialler(
        Planner.from_settings(db, hash_key, settings),
        Ledger(db, hash_key, ACTOR),
        (_NoLine(), _NoTalk(), capacity, clock),
        ZoneInfo(settings.clinic.timezone),
        uri_for("dry-run.invalid"),
        pacing_of(settings.outbound, None, None),
    )
