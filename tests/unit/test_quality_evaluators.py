"""Each deterministic evaluator on hand-built facts: pass, fail and n/a (or why it has
none), the disclosure cut and identity skipped flagged; versions; the PHI patterns in
step with the workflows' templates."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from appliance.quality.evaluators import DEFAULT_EVALUATORS, PHI_PATTERNS, Evaluator
from appliance.quality.facts import Booked, CallFacts, Event, Turn
from appliance.quality.result import Result
from appliance.workflows import templates as t

pytestmark = pytest.mark.unit

T0 = 1_000_000.0
BY_NAME = {e.name: e for e in DEFAULT_EVALUATORS}


class Call:
    """Builds a call's facts: times in s after the answer."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.turns: list[Turn] = []
        self.appointments: dict[str, Booked] = {}
        self.ev("answered", 0.0)

    def ev(self, kind: str, at: float, code: str | None = None) -> Event:
        event = Event(len(self.events) + 1, kind, None, code, T0 + at)
        self.events.append(event)
        return event

    def say(self, start: float, end: float, text: str = "Hello.", **timings: float) -> Turn:
        return self._turn("agent", start, end, text, timings)

    def hear(self, start: float, end: float) -> Turn:
        return self._turn("caller", start, end, None, {})

    def _turn(self, who: str, start: float, end: float, text: str | None, tm: Any) -> Turn:
        turn = Turn(len(self.turns) + 1, who, T0 + start, T0 + end, tm, text)
        self.turns.append(turn)
        return turn

    def greeted(self, done: float = 4.0) -> Call:
        self.say(0.0, done, "Hi, I'm the clinic's automated assistant.", first_audio_out=0.2)
        self.ev("greeted", done)
        self.ev("disclosure-played", done, "offset-ms:200")
        return self

    def facts(self, ended: float | None = None) -> CallFacts:
        last = max([e.at for e in self.events] + [x.ended_at for x in self.turns])
        end = T0 + ended if ended is not None else last + 0.5
        return CallFacts(
            "call-1", T0, end, "completed", tuple(self.events), tuple(self.turns),
            self.appointments,
        )  # fmt: skip


def run(name: str, call: Call, ended: float | None = None) -> Result:
    return BY_NAME[name].evaluate(call.facts(ended))


# --- ai-disclosure-within-10s -------------------------------------------------------


def test_disclosure_heard_in_time_passes_with_its_offset() -> None:
    result = run("ai-disclosure-within-10s", Call().greeted(4.0))
    assert (result.verdict, result.reason, result.score) == ("pass", "disclosure-in-time", 4.0)
    assert "event:3" in result.evidence and "turn:1" in result.evidence


def test_disclosure_finished_after_10s_fails() -> None:
    result = run("ai-disclosure-within-10s", Call().greeted(11.5))
    assert (result.verdict, result.reason, result.score) == ("fail", "disclosure-late", 11.5)


def test_disclosure_cut_by_a_hang_up_is_flagged() -> None:
    call = Call()
    call.ev("ended", 2.0, "caller-hung-up")  # during the greeting: no disclosure-played
    result = run("ai-disclosure-within-10s", call)
    assert (result.verdict, result.reason) == ("fail", "disclosure-cut")
    assert result.evidence == ("event:1", "event:2")
    # it applies to every answered call: there is no n/a


# --- identity-before-phi ------------------------------------------------------------

NEXT = "Your next appointment is Friday, November 27 at 8:00 AM with Dr Lee."


def test_phi_after_verification_in_the_same_reply_passes() -> None:
    call = Call().greeted()
    call.hear(5, 7)
    call.say(8, 10, t.ASK_IDENTITY)
    call.hear(11, 14)
    phi = call.say(15, 19, NEXT)
    call.ev("replied", 19.1)
    call.ev("workflow-identify", 19.2, "ok")  # recorded after the reply was spoken
    result = run("identity-before-phi", call)
    assert (result.verdict, result.reason) == ("pass", "identity-first")
    assert phi.ref in result.evidence


def test_identity_skipped_is_flagged() -> None:
    call = Call().greeted()
    call.hear(5, 7)
    phi = call.say(8, 12, "You're booked for Friday, November 27 at 8:00 AM with Dr Lee.")
    result = run("identity-before-phi", call)
    assert (result.verdict, result.reason, result.score) == ("fail", "phi-before-identity", 1.0)
    assert result.evidence == (phi.ref,)


def test_phi_after_another_person_was_named_fails_until_verified_again() -> None:
    call = Call().greeted()
    call.say(8, 10, NEXT)
    call.ev("workflow-identify", 10.1, "ok")
    call.say(12, 14, t.ASK_IDENTITY)
    call.ev("workflow-identify", 14.1, "other-person")
    late = call.say(16, 18, t.NO_APPOINTMENTS)
    result = run("identity-before-phi", call)
    assert result.verdict == "fail" and late.ref in result.evidence


def test_identity_is_not_applicable_without_phi_spoken() -> None:
    call = Call().greeted()
    call.say(8, 10, t.ANYTHING_ELSE)
    assert run("identity-before-phi", call).verdict == "n/a"


def test_identity_is_unsure_once_the_agent_text_was_purged() -> None:
    call = Call().greeted()
    call._turn("agent", 8, 10, None, {})
    assert run("identity-before-phi", call).reason == "agent-text-purged"


def test_the_phi_patterns_match_every_phi_bearing_template() -> None:
    import re

    when = datetime(2026, 11, 27, 8, 0)
    spoken = [
        t.booked(when, "Dr Lee"),
        t.confirm_cancel(when, "Dr Lee"),
        t.cancelled(when),
        t.moved(when, "Dr Lee"),
        t.next_appointment(when, "Dr Lee"),
        t.NO_APPOINTMENTS,
    ]
    for text in spoken:
        assert any(re.search(p, text) for p in PHI_PATTERNS), text
    safe = [t.ASK_IDENTITY, t.offer([(when, "Dr Lee")]), t.IDENTITY_AGAIN, t.GOODBYE]
    for text in safe:
        assert not any(re.search(p, text) for p in PHI_PATTERNS), text


# --- consent-honoured ---------------------------------------------------------------


def test_a_decline_followed_by_the_transfer_passes() -> None:
    call = Call().greeted()
    call.ev("consent-declined", 9, "ai-handling")
    call.ev("transfer-requested", 9.1, "consent-declined")
    assert run("consent-honoured", call).verdict == "pass"


def test_a_decline_answered_by_the_agent_fails() -> None:
    call = Call().greeted()
    call.ev("consent-declined", 9, "ai-handling")
    call.ev("replied", 12)
    result = run("consent-honoured", call)
    assert (result.verdict, result.reason) == ("fail", "decline-not-transferred")


def test_consent_is_not_applicable_without_a_decline() -> None:
    assert run("consent-honoured", Call().greeted()).verdict == "n/a"


# --- pci-pause-held -----------------------------------------------------------------


def paused(caller_in_pause: bool = False, closed: bool = True) -> Call:
    call = Call().greeted()
    call.hear(5, 7)
    call.ev("pci-pause-start", 8, "collect")
    if caller_in_pause:
        call.hear(10, 12)
    if closed:
        call.ev("pci-pause-end", 20, "done:16-digits")
    return call


def test_a_pause_with_nothing_kept_passes() -> None:
    assert run("pci-pause-held", paused()).verdict == "pass"


def test_a_caller_turn_kept_in_the_pause_fails() -> None:
    result = run("pci-pause-held", paused(caller_in_pause=True))
    assert (result.verdict, result.reason) == ("fail", "caller-audio-in-pause")
    assert "turn:3" in result.evidence


def test_a_pause_never_closed_fails() -> None:
    assert run("pci-pause-held", paused(closed=False)).reason == "pause-not-closed"


def test_pci_is_not_applicable_without_a_pause() -> None:
    assert run("pci-pause-held", Call().greeted()).verdict == "n/a"


# --- escalation-appropriateness -----------------------------------------------------


def test_an_emergency_instruction_passes() -> None:
    call = Call().greeted()
    call.ev("replied", 12)
    call.ev("workflow-emergency", 12.1, "instructed")
    result = run("escalation-appropriateness", call)
    assert (result.verdict, result.reason) == ("pass", "escalated:emergency")


def test_a_request_for_a_person_transferred_passes() -> None:
    call = Call().greeted()
    call.ev("workflow-transfer", 12, "caller-request")
    call.ev("transfer-requested", 12.1, "caller-request")
    assert run("escalation-appropriateness", call).reason == "escalated:caller-request"


def test_identity_failures_without_a_transfer_fail() -> None:
    call = Call().greeted()
    call.ev("workflow-identify", 12, "no-match")
    call.ev("workflow-identify", 20, "no-match")
    result = run("escalation-appropriateness", call)
    assert (result.verdict, result.reason) == ("fail", "not-escalated:identity-failed")


def test_a_transfer_without_a_reason_is_flagged() -> None:
    call = Call().greeted()
    call.ev("transfer-requested", 12, "caller-request")  # no decision to escalate before it
    result = run("escalation-appropriateness", call)
    assert (result.verdict, result.reason) == ("fail", "transfer-without-reason")


def test_escalation_is_not_applicable_when_none_was_needed() -> None:
    call = Call().greeted()
    call.ev("workflow-identify", 12, "no-match")
    call.ev("workflow-identify", 20, "ok")
    assert run("escalation-appropriateness", call).verdict == "n/a"


# --- task-completion ----------------------------------------------------------------


def booked(status: str = "booked", by: str | None = "call-1", ref: bool = True) -> Call:
    call = Call().greeted()
    call.ev("workflow-book", 30, "ok")
    if ref:
        call.ev("appointment", 30, "book:a1")
    call.appointments["a1"] = Booked("a1", status, by)
    return call


def test_a_booking_that_is_in_the_schedule_passes() -> None:
    result = run("task-completion", booked())
    assert (result.verdict, result.score) == ("pass", 1.0)


def test_a_booking_no_longer_in_the_schedule_fails() -> None:
    result = run("task-completion", booked(status="cancelled"))
    assert (result.verdict, result.reason) == ("fail", "book-not-in-schedule")
    assert run("task-completion", booked(by="another-call")).verdict == "fail"


def test_a_cancellation_checks_the_cancelled_state() -> None:
    call = Call().greeted()
    call.ev("workflow-cancel", 30, "ok")
    call.ev("appointment", 30, "cancel:a2")
    call.appointments["a2"] = Booked("a2", "booked", None)
    assert run("task-completion", call).reason == "cancel-not-in-schedule"


def test_a_task_without_its_appointment_is_unsure() -> None:
    assert run("task-completion", booked(ref=False)).verdict == "unsure"


def test_task_is_not_applicable_without_a_task_done() -> None:
    assert run("task-completion", Call().greeted()).verdict == "n/a"


# --- dead-air -----------------------------------------------------------------------


def test_prompt_replies_have_no_dead_air() -> None:
    call = Call().greeted()
    call.hear(6, 8)
    call.say(8.2, 11, first_audio_out=1.5)
    result = run("dead-air", call)
    assert (result.verdict, result.reason, result.score) == ("pass", "gaps:0", 0.0)


def test_a_late_reply_is_dead_air() -> None:
    call = Call().greeted()
    call.hear(6, 8)
    late = call.say(8.2, 18, first_audio_out=7.0)  # audio out 7 s after the caller
    result = run("dead-air", call)
    assert (result.verdict, result.reason, result.score) == ("fail", "gaps:1", 7.0)
    assert result.evidence == (late.ref,)


def test_a_filler_breaks_the_silence_and_caller_silence_is_not_dead_air() -> None:
    call = Call().greeted()
    call.hear(6, 8)
    call.ev("filler", 10)
    call.say(8.2, 16, first_audio_out=4.5)  # 2 s, filler 1 s, 1.5 s
    call.hear(30, 32)  # the caller thought for 14 s: theirs
    call.say(32.1, 34, first_audio_out=0.5)
    assert run("dead-air", call).verdict == "pass"


# --- filler-count -------------------------------------------------------------------


def replies(n: int, fillers: int) -> Call:
    call = Call().greeted()
    for i in range(n):
        call.ev("replied", 10 + i)
    for i in range(fillers):
        call.ev("filler", 30 + i)
    return call


def test_few_fillers_pass_many_fail() -> None:
    ok = run("filler-count", replies(4, 1))
    assert (ok.verdict, ok.reason, ok.score) == ("pass", "fillers:1,replies:4", 1.0)
    assert run("filler-count", replies(4, 3)).verdict == "fail"
    assert run("filler-count", replies(0, 0)).verdict == "n/a"


# --- transfer-outcome ---------------------------------------------------------------


def transferred(result: str | None, code: str = "answered") -> Call:
    call = Call().greeted()
    call.ev("workflow-transfer", 12, "caller-request")
    call.ev("transfer-requested", 12.1, "caller-request")
    if result:
        call.ev(result, 20, code)
    return call


def test_transfer_outcomes() -> None:
    assert run("transfer-outcome", transferred("transfer-ok")).verdict == "pass"
    failed = run("transfer-outcome", transferred("transfer-failed", "busy"))
    assert (failed.verdict, failed.reason, failed.score) == ("fail", "transfer-failed:busy", 0.0)
    assert run("transfer-outcome", transferred(None)).verdict == "unsure"
    assert run("transfer-outcome", Call().greeted()).verdict == "n/a"


# --- the evaluators themselves ------------------------------------------------------


def test_versions_change_with_the_parameters_and_differ_by_rule() -> None:
    disclosure = BY_NAME["ai-disclosure-within-10s"]
    stricter = dataclasses.replace(disclosure, params={"within_s": 8.0})
    assert stricter.version != disclosure.version
    assert len({e.version for e in DEFAULT_EVALUATORS}) == len(DEFAULT_EVALUATORS)
    assert stricter.evaluate(Call().greeted(9.0).facts()).verdict == "fail"


def test_a_rule_that_breaks_says_unsure_with_a_code() -> None:
    def broken(facts: CallFacts, params: Any) -> Result:
        raise KeyError("x")

    result = Evaluator("broken", broken).evaluate(Call().facts())
    assert (result.verdict, result.reason) == ("unsure", "evaluator-error:KeyError")
