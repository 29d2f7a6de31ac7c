"""Console accounts on the real encrypted store and a virtual clock: enrolment links,
argon2id, TOTP replay, lockout and unlock, idle and absolute session limits, audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from appliance.console import credentials as cred
from appliance.console.accounts import Accounts, Actor
from appliance.console.roles import Role
from appliance.console.sessions import Sessions
from appliance.console.signin import SignIn
from appliance.errors import ConsoleError
from appliance.services.app_db import MIGRATIONS
from appliance.store.audit import read_records
from appliance.store.db import Database

pytestmark = pytest.mark.unit

PASSWORD = "correct horse battery staple"
OWNER = Actor("root-operator", "operator", "cli")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "console.db", "ab" * 32, MIGRATIONS)
    yield database
    database.close()


@pytest.fixture
def accounts(db: Database, clock: Clock) -> Accounts:
    return Accounts(db, clock)


def enrol(accounts: Accounts, clock: Clock, name: str = "alice", role: str = "owner") -> str:
    """Invite and enrol `name`; the TOTP secret."""
    invite = accounts.add(name, role, OWNER)
    secret = accounts.enrolment(invite.token).totp_secret
    accounts.enrol(invite.token, PASSWORD, PASSWORD, pyotp.TOTP(secret).at(clock.now))
    clock.tick(30)  # the enrolment's step is used up
    return secret


def code(secret: str, clock: Clock) -> str:
    return pyotp.TOTP(secret).at(clock.now)


def actions(db: Database) -> list[tuple[str, str, str, str | None]]:
    records = db.query(read_records)
    return [(r.actor, r.action, r.outcome, r.reason_code) for r in records]


def test_argon2id_parameters_are_pinned() -> None:
    stored = cred.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert cred.verify_password(stored, PASSWORD)
    assert not cred.verify_password(stored, PASSWORD + "!")
    assert not cred.verify_password(None, PASSWORD)  # no hash (unknown user): refused


def test_enrolment_link_is_single_use_and_stored_as_a_hash(
    accounts: Accounts, clock: Clock, db: Database
) -> None:
    invite = accounts.add("Alice", "owner", OWNER)
    assert invite.name == "alice" and invite.expires_at == clock.now + 24 * 3600
    stored = db.query(lambda c: c.execute("SELECT * FROM console_enrolments").fetchall())
    assert stored[0][0] == cred.token_hash(invite.token)
    assert invite.token not in repr(stored)
    secret = accounts.enrolment(invite.token).totp_secret
    codes = accounts.enrol(invite.token, PASSWORD, PASSWORD, code(secret, clock))
    assert len(codes) == 10 and len(set(codes)) == 10
    user = accounts.get("alice")
    assert user is not None and user.status == "active" and user.role is Role.OWNER
    clock.tick(30)
    with pytest.raises(ConsoleError) as used:
        accounts.enrol(invite.token, PASSWORD, PASSWORD, code(secret, clock))
    assert used.value.code == "console-enrolment-invalid"
    with pytest.raises(ConsoleError):
        accounts.enrolment(invite.token)


def test_enrolment_link_expires_after_24_hours(accounts: Accounts, clock: Clock) -> None:
    invite = accounts.add("bob", "front-desk", OWNER)
    clock.tick(24 * 3600 - 1)
    secret = accounts.enrolment(invite.token).totp_secret  # still valid
    clock.tick(1)
    with pytest.raises(ConsoleError) as expired:
        accounts.enrol(invite.token, PASSWORD, PASSWORD, code(secret, clock))
    assert expired.value.code == "console-enrolment-invalid"


def test_enrolment_refuses_bad_input_and_keeps_the_link(accounts: Accounts, clock: Clock) -> None:
    invite = accounts.add("carol", "quality-reviewer", OWNER)
    secret = accounts.enrolment(invite.token).totp_secret
    cases = [
        (PASSWORD, PASSWORD + "x", code(secret, clock), "console-password-mismatch"),
        ("short", "short", code(secret, clock), "console-weak-password"),
        ("carol-" + PASSWORD, "carol-" + PASSWORD, code(secret, clock), "console-weak-password"),
        (
            PASSWORD,
            PASSWORD,
            "000000" if code(secret, clock) != "000000" else "111111",
            "console-totp-wrong",
        ),
    ]
    for password, confirm, totp, expected in cases:
        with pytest.raises(ConsoleError) as refused:
            accounts.enrol(invite.token, password, confirm, totp)
        assert refused.value.code == expected
    accounts.enrol(invite.token, PASSWORD, PASSWORD, code(secret, clock))  # link still good
    with pytest.raises(ConsoleError) as bad:
        accounts.add("x", "janitor", OWNER)
    assert bad.value.code == "console-bad-name"
    with pytest.raises(ConsoleError) as role:
        accounts.add("dave", "janitor", OWNER)
    assert role.value.code == "console-bad-role"
    with pytest.raises(ConsoleError) as twice:
        accounts.add("carol", "owner", OWNER)
    assert twice.value.code == "console-user-exists"


def test_a_totp_code_is_accepted_once(accounts: Accounts, clock: Clock, db: Database) -> None:
    secret = enrol(accounts, clock)
    signin = SignIn(accounts)
    now_code = code(secret, clock)
    assert signin.sign_in("alice", PASSWORD, now_code).name == "alice"
    with pytest.raises(ConsoleError) as replay:
        signin.sign_in("alice", PASSWORD, now_code)  # same step: replay
    assert replay.value.code == "console-signin-failed"
    clock.tick(30)
    older = pyotp.TOTP(secret).at(clock.now - 60)
    with pytest.raises(ConsoleError):
        signin.sign_in("alice", PASSWORD, older)  # within the skew, but older than the last
    assert not signin.step_up(accounts.get("alice").user_id, now_code)  # type: ignore[union-attr]
    assert signin.step_up(accounts.get("alice").user_id, code(secret, clock))  # type: ignore[union-attr]
    assert ("alice", "console.stepup", "failed", "totp-wrong") in actions(db)


def test_lockout_after_three_failures_in_15_minutes_lasts_3_hours(
    accounts: Accounts, clock: Clock, db: Database
) -> None:
    secret = enrol(accounts, clock)
    signin = SignIn(accounts)

    def fail() -> None:
        with pytest.raises(ConsoleError):
            signin.sign_in("alice", "wrong password, long enough", code(secret, clock))

    fail()
    fail()
    clock.tick(15 * 60 + 1)  # the first two fall out of the window
    fail()
    assert accounts.get("alice").locked_until is None  # type: ignore[union-attr]
    fail()
    fail()
    assert ("alice", "console.lockout", "ok", "too-many-failures") in actions(db)
    clock.tick(3 * 3600 - 1)
    with pytest.raises(ConsoleError):  # right password and code, still locked
        signin.sign_in("alice", PASSWORD, code(secret, clock))
    assert ("alice", "console.signin", "refused", "account-locked") in actions(db)
    clock.tick(31)
    assert signin.sign_in("alice", PASSWORD, code(secret, clock)).name == "alice"
    assert ("system", "console.user.unlock", "ok", "lockout-expired") in actions(db)


def test_an_owner_unlocks_a_locked_account(accounts: Accounts, clock: Clock, db: Database) -> None:
    secret = enrol(accounts, clock, "erin", "front-desk")
    signin = SignIn(accounts)
    for _ in range(3):
        with pytest.raises(ConsoleError):
            signin.sign_in("erin", "not the password at all", code(secret, clock))
    with pytest.raises(ConsoleError):
        signin.sign_in("erin", PASSWORD, code(secret, clock))
    accounts.unlock("erin", Actor("alice", "owner"))
    clock.tick(30)
    assert signin.sign_in("erin", PASSWORD, code(secret, clock)).role is Role.FRONT_DESK
    assert ("alice", "console.user.unlock", "ok", None) in actions(db)


def test_unknown_names_are_audited_without_what_was_typed(
    accounts: Accounts, clock: Clock, db: Database
) -> None:
    with pytest.raises(ConsoleError):
        SignIn(accounts).sign_in("my secret password", PASSWORD, "123456")
    assert actions(db)[-1] == ("unknown", "console.signin", "failed", "unknown-user")


def test_a_recovery_code_signs_in_once(accounts: Accounts, clock: Clock) -> None:
    invite = accounts.add("frank", "compliance-officer", OWNER)
    secret = accounts.enrolment(invite.token).totp_secret
    codes = accounts.enrol(invite.token, PASSWORD, PASSWORD, code(secret, clock))
    signin = SignIn(accounts)
    assert signin.sign_in("frank", PASSWORD, codes[0].upper()).name == "frank"
    with pytest.raises(ConsoleError):
        signin.sign_in("frank", PASSWORD, codes[0])


@pytest.mark.parametrize(
    ("role", "idle_s"),
    [
        ("front-desk", 15 * 60),
        ("quality-reviewer", 15 * 60),
        ("owner", 10 * 60),
        ("platform-engineer", 10 * 60),
    ],
)
def test_idle_logoff(
    accounts: Accounts, clock: Clock, db: Database, role: str, idle_s: int
) -> None:
    secret = enrol(accounts, clock, "gina", role)
    sessions = Sessions(accounts)
    sid, _ = sessions.start(SignIn(accounts).sign_in("gina", PASSWORD, code(secret, clock)))
    for _ in range(3):  # each request restarts the idle clock
        clock.tick(idle_s - 1)
        assert sessions.get(sid) is not None
    clock.tick(idle_s)
    assert sessions.get(sid) is None
    assert sessions.get(sid) is None  # stays ended
    assert ("gina", "console.session.expired", "ok", "idle") in actions(db)


def test_absolute_session_limit(accounts: Accounts, clock: Clock, db: Database) -> None:
    secret = enrol(accounts, clock, "hank", "front-desk")
    sessions = Sessions(accounts)
    sid, session = sessions.start(SignIn(accounts).sign_in("hank", PASSWORD, code(secret, clock)))
    while clock.now - session.created_at < 12 * 3600 - 300:
        clock.tick(300)
        assert sessions.get(sid) is not None
    clock.tick(300)
    assert sessions.get(sid) is None
    assert ("hank", "console.session.expired", "ok", "absolute-limit") in actions(db)


def test_sign_out_and_disable_end_sessions(accounts: Accounts, clock: Clock, db: Database) -> None:
    secret = enrol(accounts, clock, "ivy", "contact-centre-lead")
    sessions, signin = Sessions(accounts), SignIn(accounts)
    first, session = sessions.start(signin.sign_in("ivy", PASSWORD, code(secret, clock)))
    assert session.csrf_ok(session.csrf) and not session.csrf_ok("") and not session.csrf_ok("x")
    sessions.end(first)
    assert sessions.get(first) is None
    clock.tick(30)
    second, _ = sessions.start(signin.sign_in("ivy", PASSWORD, code(secret, clock)))
    accounts.disable("ivy", Actor("alice", "owner"))
    assert sessions.get(second) is None
    clock.tick(30)
    with pytest.raises(ConsoleError):
        signin.sign_in("ivy", PASSWORD, code(secret, clock))
    log = actions(db)
    assert ("ivy", "console.signout", "ok", None) in log
    assert ("alice", "console.user.disable", "ok", None) in log
    assert ("ivy", "console.signin", "failed", "user-disabled") in log
    stored = db.query(lambda c: c.execute("SELECT id_hash FROM console_sessions").fetchall())
    assert {row[0] for row in stored} == {cred.token_hash(first), cred.token_hash(second)}


def test_no_secret_reaches_the_audit_log(accounts: Accounts, clock: Clock, db: Database) -> None:
    secret = enrol(accounts, clock)
    used = code(secret, clock)
    SignIn(accounts).sign_in("alice", PASSWORD, used)
    text = repr(db.query(read_records))
    for secret_text in (PASSWORD, used, secret):
        assert secret_text not in text
    assert "console.enrol" in text and "console.signin" in text


def test_the_roles_document_shows_the_permissions_table() -> None:
    from appliance.console.roles import PERMISSIONS, Permission

    doc = (Path(__file__).resolve().parents[2] / "docs" / "console-roles.md").read_text("utf-8")
    rows = [line.split("|")[1:-1] for line in doc.splitlines() if line.startswith("| ")]
    header, body = [c.strip() for c in rows[0]], rows[1:]
    assert header[1:] == [role.value for role in Role]
    shown = {
        Role(role): frozenset(Permission(row[0].strip()) for row in body if row[i].strip() == "yes")
        for i, role in enumerate(header)
        if i
    }
    assert {row[0].strip() for row in body} == {p.value for p in Permission}
    assert shown == PERMISSIONS
