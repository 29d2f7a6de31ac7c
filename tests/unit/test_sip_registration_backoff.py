"""Registration back-off on virtual time, with the edge's JSON-RPC scripted (the seam the
supervisor talks to Kamailio through). The real registrar test is
tests/integration/test_sip_registration.py."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from appliance.config import SipRegistration, load_settings
from appliance.edge.registration import (
    FLAG_DISABLED,
    FLAG_ONLINE,
    Registrations,
    state_of,
)
from appliance.observability.health import Health

pytestmark = pytest.mark.unit

INIT = 16


class ScriptedEdge:
    """uac.reg_* answers: every attempt fails until `accept_after` attempts were made."""

    def __init__(self, accept_after: int) -> None:
        self.accept_after = accept_after
        self.attempts: list[float] = []
        self.flags: int | None = None
        self.now = 0.0
        self.calls: list[str] = []

    def __call__(self, method: str, params: list[object]) -> dict[str, object] | None:
        self.calls.append(method)
        if method == "uac.reg_add":
            self.attempts.append(self.now)
            ok = len(self.attempts) > self.accept_after
            self.flags = INIT | (FLAG_ONLINE if ok else FLAG_DISABLED)
            return {"result": {}}
        if method == "uac.reg_remove":
            self.flags = None
            return {"result": {}}
        if method == "uac.reg_info":
            if self.flags is None:
                return {"error": {"code": 404, "message": "Record not found"}}
            return {"result": {"flags": self.flags, "auth_password": "must-not-leak"}}
        return {"result": {}}


def registrations(tmp_path: Path, edge: ScriptedEdge, health: Health) -> Registrations:
    password = tmp_path / "pw"
    password.write_text("secret\n")
    password.chmod(0o600)
    reg = SipRegistration(
        name="main", registrar="pbx:5060", user="clinic", password_file=str(password)
    )
    settings = load_settings()
    sip = msgspec.structs.replace(
        settings.sip,
        registrations=[reg],
        registration_retry_s=5.0,
        registration_retry_max_s=20.0,
    )
    return Registrations(sip, edge, health, clock=lambda: edge.now)


def run_for(regs: Registrations, edge: ScriptedEdge, seconds: float) -> None:
    while edge.now < seconds:
        regs.poll()
        edge.now += 1.0


def test_flags_map_to_states() -> None:
    assert state_of(INIT | FLAG_ONLINE) == "registered"
    assert state_of(INIT | FLAG_DISABLED) == "failed"
    assert state_of(INIT | FLAG_DISABLED | FLAG_ONLINE) == "failed"
    assert state_of(INIT) == "registering"


def test_failures_back_off_doubling_up_to_the_cap_then_recover(tmp_path: Path) -> None:
    edge, health = ScriptedEdge(accept_after=6), Health()
    regs = registrations(tmp_path, edge, health)
    run_for(regs, edge, 30)
    status = health.components()["sip-registration-main"]
    assert not status.ok and status.detail.startswith("failed")
    run_for(regs, edge, 120)
    gaps = [b - a for a, b in zip(edge.attempts, edge.attempts[1:], strict=False)]
    # 5 s, 10 s, 20 s, 20 s ... (+-10 %, on 1 s polls: a retry lands on the next poll)
    assert len(gaps) >= 5, edge.attempts
    assert 5 <= gaps[0] <= 7 and 10 <= gaps[1] <= 12 and 18 <= gaps[2] <= 24, gaps
    assert all(g <= 24 for g in gaps), gaps
    assert regs.snapshot() == {"main": "registered"}
    assert health.components()["sip-registration-main"].ok
    assert regs.accounts[0].failures == 6
    assert regs.accounts[0].delay_s == 5.0  # reset once registered
    assert "must-not-leak" not in str(health.snapshot())


def test_an_edge_that_lost_the_account_gets_it_again(tmp_path: Path) -> None:
    edge, health = ScriptedEdge(accept_after=0), Health()
    regs = registrations(tmp_path, edge, health)
    run_for(regs, edge, 3)
    assert regs.snapshot() == {"main": "registered"}
    edge.flags = None  # the edge restarted
    run_for(regs, edge, 6)
    assert edge.calls.count("uac.reg_add") == 2
    assert regs.snapshot() == {"main": "registered"}


def test_an_edge_that_does_not_answer_is_unknown(tmp_path: Path) -> None:
    health = Health()
    regs = registrations(tmp_path, ScriptedEdge(0), health)
    regs._rpc = lambda method, params: None
    regs.poll()
    assert regs.snapshot() == {"main": "unknown"}
    assert health.components()["sip-registration-main"].detail == "edge not answering"
