"""What the phase gates measure, read from the store: the ended calls of a window, each
attributed to the intents its events show, and the counts each gate criterion needs.

Each caller turn the clinic agent understood records an `intent` event whose code is the
request it understood (a fixed code, `appliance.llm.understanding.Intent`). A call is
attributed to the intents of those events (docs/governance.md, "How a call is
attributed"), except a turn turned away because its use case was not live (its turn's
transfer names `use-case-disabled`, `high-risk-use-case` or `agent-killed`): the use
case did not handle it. The PCI pause, which the session starts on the caller's words
before any agent turn, attributes billing too. A call recorded before intent events
existed is attributed by its workflow actions: a booking, move or cancellation names its
intent; identity or a slot search, the scheduling intents; a payment or the PCI pause,
billing; a call with none of these whose agent replied before any transfer is an
information call (clinic_info), unless it was turned away. Only metadata is read: kinds,
codes, times, the keyed hash of the caller's number (to see a call back) and the
evaluators' verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from appliance.quality import rules_compliance
from appliance.quality.evaluators import DEFAULT_EVALUATORS
from appliance.store.db import Connection

SCHEDULING = frozenset({"book", "reschedule", "cancel", "appointment_status"})
EVENT_INTENTS: dict[str, frozenset[str]] = {
    "workflow-book": frozenset({"book"}),
    "workflow-reschedule": frozenset({"reschedule"}),
    "workflow-cancel": frozenset({"cancel"}),
    "workflow-identify": SCHEDULING,
    "workflow-find-slots": SCHEDULING,
    "workflow-payment": frozenset({"billing"}),
    "pci-pause-start": frozenset({"billing"}),
}
TURNED_AWAY = frozenset({"use-case-disabled", "high-risk-use-case", "agent-killed"})
TRANSFERRED = frozenset({"transfer-requested", "workflow-transfer"})
# the post-call evaluators of appliance/quality/rules_compliance.py
COMPLIANCE_EVALUATORS = tuple(
    e.name for e in DEFAULT_EVALUATORS if e.rule.__module__ == rules_compliance.__name__
)


@dataclass(slots=True)
class CallRecord:
    call_id: str
    started_at: float
    caller_key: str
    kinds: list[str] = field(default_factory=list)  # event kinds, in order
    codes: list[str | None] = field(default_factory=list)  # their codes
    verdicts: dict[str, str] = field(default_factory=dict)  # compliance evaluator -> newest
    complaint_flag: bool = False  # a reviewer or the desk flagged it (complaint_flags)

    def has(self, *kinds: str) -> bool:
        return any(k in kinds for k in self.kinds)

    @property
    def transferred(self) -> bool:
        return self.has(*TRANSFERRED)


INTENT = "intent"  # appliance.domain.EventKind.INTENT


def intents_of(call: CallRecord) -> frozenset[str]:
    """The intents a call's events show (empty: not attributed): its intent events,
    or for a call recorded without them, its workflow actions."""
    if call.has(INTENT):
        return _by_intent_events(call)
    return _by_actions(call)


def _by_intent_events(call: CallRecord) -> frozenset[str]:
    """The understood intents, but not those of a turn that was turned away: each intent
    event owns the events after it up to the next one (its turn's actions, transfer)."""
    starts = [i for i, k in enumerate(call.kinds) if k == INTENT]
    found: set[str] = set()
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(call.kinds)
        turn = range(start + 1, end)
        if any(call.kinds[i] in TRANSFERRED and call.codes[i] in TURNED_AWAY for i in turn):
            continue
        code = call.codes[start]
        if code:
            found.add(code)
    if call.has("pci-pause-start"):  # the session's own screen: no agent turn, no intent
        found.add("billing")
    return frozenset(found)


def _by_actions(call: CallRecord) -> frozenset[str]:
    """The rule for calls recorded before intent events: what the workflows did."""
    found: set[str] = set()
    for kind in call.kinds:
        found |= EVENT_INTENTS.get(kind, frozenset())
    if found or call.has("workflow-emergency"):
        return frozenset(found)
    transfers = [i for i, k in enumerate(call.kinds) if k in TRANSFERRED]
    if any(call.codes[i] in TURNED_AWAY for i in transfers):
        return frozenset()
    first_transfer = transfers[0] if transfers else None
    before = call.kinds if first_transfer is None else call.kinds[:first_transfer]
    return frozenset({"clinic_info"}) if "replied" in before else frozenset()


_CALLS = (
    "SELECT call_id, started_at, remote_hash FROM calls WHERE started_at >= ?"
    " AND started_at < ? AND ended_at IS NOT NULL ORDER BY started_at"
)
_EVENTS = (
    "SELECT e.call_id, e.kind, e.code FROM call_events e JOIN calls c USING (call_id)"
    " WHERE c.started_at >= ? AND c.started_at < ? AND c.ended_at IS NOT NULL ORDER BY e.id"
)
_SCORES = (
    "SELECT s.call_id, s.evaluator, s.verdict FROM call_scores s JOIN calls c USING (call_id)"
    " WHERE c.started_at >= ? AND c.started_at < ? AND c.ended_at IS NOT NULL ORDER BY s.id"
)

_FLAGS = (
    "SELECT DISTINCT f.call_id FROM complaint_flags f JOIN calls c USING (call_id)"
    " WHERE c.started_at >= ? AND c.started_at < ? AND c.ended_at IS NOT NULL"
)


def read_window(conn: Connection, since: float, until: float) -> list[CallRecord]:
    """The calls that started in [since, until) and ended, with events and verdicts."""
    calls = {
        str(r[0]): CallRecord(str(r[0]), float(r[1]), str(r[2] or ""))
        for r in conn.execute(_CALLS, (since, until))
    }
    for call_id, kind, code in conn.execute(_EVENTS, (since, until)):
        calls[str(call_id)].kinds.append(str(kind))
        calls[str(call_id)].codes.append(None if code is None else str(code))
    for (call_id,) in conn.execute(_FLAGS, (since, until)):
        calls[str(call_id)].complaint_flag = True
    for call_id, evaluator, verdict in conn.execute(_SCORES, (since, until)):
        if str(evaluator) in COMPLIANCE_EVALUATORS:  # the newest row wins
            calls[str(call_id)].verdicts[str(evaluator)] = str(verdict)
    return list(calls.values())


def callers_since(conn: Connection, since: float) -> dict[str, list[float]]:
    """Keyed number hash -> the start times of its calls since `since` (known numbers)."""
    found: dict[str, list[float]] = {}
    for key, at in conn.execute(
        "SELECT remote_hash, started_at FROM calls WHERE started_at >= ? AND remote_hash != ''"
        " ORDER BY started_at",
        (since,),
    ):
        found.setdefault(str(key), []).append(float(at))
    return found


@dataclass(frozen=True, slots=True)
class Counts:
    """The numerators and denominators of one use case's criteria."""

    calls: int
    contained: int
    scored: int  # calls with a compliance verdict
    flagged: int  # ... of which one or more failed
    transfers: int  # transfers with a known outcome
    reached: int  # ... that reached a human (transfer-ok)
    escalated: int  # calls with a transfer requested
    complaints: int  # ... flagged as a complaint, or transfer failed, or called back in time
    evaluator_fails: dict[str, int]
    evaluator_scored: dict[str, int]


def count(
    calls: Iterable[CallRecord], callers: dict[str, list[float]], callback_s: float
) -> Counts:
    calls = list(calls)
    escalated = [c for c in calls if c.has("transfer-requested")]
    ended = [c for c in escalated if c.has("transfer-ok", "transfer-failed")]
    scored = [c for c in calls if c.verdicts]
    return Counts(
        calls=len(calls),
        contained=sum(1 for c in calls if not c.transferred),
        scored=len(scored),
        flagged=sum(1 for c in scored if "fail" in c.verdicts.values()),
        transfers=len(ended),
        reached=sum(1 for c in ended if c.has("transfer-ok")),
        escalated=len(escalated),
        complaints=sum(1 for c in escalated if _complaint(c, callers, callback_s)),
        evaluator_fails={
            e: sum(1 for c in calls if c.verdicts.get(e) == "fail") for e in COMPLIANCE_EVALUATORS
        },
        evaluator_scored={
            e: sum(1 for c in calls if e in c.verdicts) for e in COMPLIANCE_EVALUATORS
        },
    )


def _complaint(call: CallRecord, callers: dict[str, list[float]], callback_s: float) -> bool:
    """An escalation that became a complaint: flagged as one (complaint_flags), or by the
    proxy: the transfer did not reach a human, or the same caller called again within
    `callback_s` of this call's start."""
    if call.complaint_flag or call.has("transfer-failed"):
        return True
    later = callers.get(call.caller_key, []) if call.caller_key else []
    return any(call.started_at < at <= call.started_at + callback_s for at in later)
