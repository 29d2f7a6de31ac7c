"""Helpers of the rollout tests: console accounts enrolled for real (their TOTP secrets),
and calls seeded into the real store as the session records them (calls, call events,
post-call scores)."""

from __future__ import annotations

from collections.abc import Sequence

import pyotp

from appliance.console import credentials as cred
from appliance.console.accounts import Accounts, Actor
from appliance.governance import simulation
from appliance.store.db import Connection, Database

T0 = 1_800_000_000.0  # UNIX s: "now" of the rollout tests
DAY = 86400.0
PASSWORD = "a long passphrase for the rollout tests"
REPLIED = [("answered", None), ("greeted", None), ("heard", None), ("replied", None)]
TRANSFER_OK = [
    ("heard", None), ("replied", None), ("workflow-transfer", "caller-request"),
    ("transfer-requested", "caller-request"), ("transfer-ok", "caller-request"),
]  # fmt: skip
BOOKED = [
    ("heard", None), ("workflow-identify", "ok"), ("workflow-find-slots", "ok"),
    ("workflow-book", "ok"), ("appointment", "book:a1"), ("replied", None),
]  # fmt: skip
COMPLIANCE = (
    "ai-disclosure-within-10s", "identity-before-phi", "consent-honoured", "pci-pause-held",
    "escalation-appropriateness",
)  # fmt: skip


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def enrol(db: Database, name: str, role: str, clock: Clock) -> pyotp.TOTP:
    """An active console user, enrolled through the console's own code; its TOTP."""
    accounts = Accounts(db, clock)
    invitation = accounts.add(name, role, Actor("root", "owner", "cli"))
    secret = accounts.enrolment(invitation.token).totp_secret
    totp = pyotp.TOTP(secret, digits=cred.TOTP_DIGITS, interval=cred.TOTP_STEP_S)
    accounts.enrol(invitation.token, PASSWORD, PASSWORD, totp.at(clock.now))
    clock.now += cred.TOTP_STEP_S  # the enrolment used this step
    return totp


def seed_call(
    conn: Connection,
    call_id: str,
    at: float,
    events: Sequence[tuple[str, str | None]],
    caller: str = "",
    verdicts: dict[str, str] | None = None,
    ended: bool = True,
) -> None:
    conn.execute(
        "INSERT INTO calls (call_id, started_at, ended_at, codec, remote_hash, outcome)"
        " VALUES (?, ?, ?, 'PCMU', ?, ?)",
        (call_id, at, at + 90 if ended else None, caller, "completed" if ended else None),
    )
    for i, (kind, code) in enumerate(events):
        conn.execute(
            "INSERT INTO call_events (call_id, kind, stage, code, at) VALUES (?, ?, NULL, ?, ?)",
            (call_id, kind, code, at + i),
        )
    for evaluator, verdict in (verdicts or {}).items():
        conn.execute(
            "INSERT INTO call_scores (call_id, evaluator, evaluator_version, verdict, score,"
            " reason, evidence, scored_at) VALUES (?, ?, 'v1', ?, NULL, 'seeded', '[]', ?)",
            (call_id, evaluator, verdict, at + 100),
        )


def green(fail: str | None = None) -> dict[str, str]:
    """Every compliance evaluator passes (`fail`: that one fails)."""
    return {e: "fail" if e == fail else "pass" for e in COMPLIANCE}


def seed_week(
    db: Database,
    prefix: str,
    events: Sequence[tuple[str, str | None]],
    n: int,
    now: float = T0,
    verdicts: dict[str, str] | None = None,
) -> None:
    """`n` ended calls alike, spread over the 7 days before `now`."""

    def write(conn: Connection) -> None:
        for i in range(n):
            at = now - 6.5 * DAY + i * (6 * DAY / max(n, 1))
            seed_call(conn, f"{prefix}-{i}", at, events, verdicts=verdicts or green())

    db.execute(write)


def simulated(db: Database, use_case: str, at: float, passed: bool = True) -> str:
    """Record a simulation of `use_case` (all of its 10 dialogues reached, or 8: below
    the 0.90 default); its sha256."""
    reached = 10 if passed else 8
    results = tuple(
        simulation.Result(f"d{i}", "reached" if i < reached else "failed", "booked")
        for i in range(10)
    )
    report = simulation.Report(use_case, 0.90, "0" * 64, results)
    simulation.record(db, report, "sim-runner", at)
    return report.sha256()
