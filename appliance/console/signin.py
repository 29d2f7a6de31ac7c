"""Sign-in with a password and a second factor, lockout, and the fresh TOTP (step-up)
that sensitive actions ask for.

Three failed sign-ins within 15 minutes lock the account for 3 hours, or until an owner
unlocks it (DISA STIG; HIPAA 164.312(a)(1), (d)). A TOTP code is accepted once: the
last accepted time step is stored and a code of that step or an older one is refused.
Every attempt is audited under the user's name (an unknown name as "unknown": what was
typed might be a password in the wrong field).
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.console import credentials as cred
from appliance.console.accounts import Accounts, Actor, User, audit, check_name, find_user
from appliance.errors import ConsoleError
from appliance.store.db import Connection

MAX_FAILURES = 3
FAILURE_WINDOW_S = 15 * 60.0  # s: failures counted within this window
LOCKOUT_S = 3 * 3600.0  # s a lockout lasts unless an owner lifts it
FAILED = "Sign-in failed. Three failures in 15 minutes lock the account."


@dataclass(frozen=True, slots=True)
class _Secrets:
    user_id: int
    password_hash: str | None
    totp_secret: str


class SignIn:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self.db = accounts.db

    def sign_in(self, name: str, password: str, code: str) -> User:
        """The user when name, password and code (TOTP, or a recovery code) are right.
        Raises ConsoleError console-signin-failed (one message whatever was wrong)."""
        try:
            name = check_name(name)
        except ConsoleError:
            name = ""
        secrets = self.db.query(_secrets, name) if name else None
        # the hash is checked outside the store's lock (argon2id takes ~0.1 s)
        password_ok = cred.verify_password(secrets.password_hash if secrets else None, password)
        user = self.db.execute(self._record, name, password_ok, code)
        if user is None:
            raise ConsoleError("console-signin-failed", FAILED)
        return user

    def _record(self, conn: Connection, name: str, password_ok: bool, code: str) -> User | None:
        now = self.accounts.clock()
        user = find_user(conn, name) if name else None
        if user is None or user.status != "active":
            reason = "unknown-user" if user is None else f"user-{user.status}"
            actor = Actor("unknown", "none") if user is None else Actor(user.name, user.role)
            audit(
                self.db, conn, actor, "console.signin", outcome="failed", reason_code=reason, at=now
            )
            return None
        actor = Actor(user.name, user.role.value)
        if user.locked_until is not None and now < user.locked_until:
            audit(
                self.db,
                conn,
                actor,
                "console.signin",
                outcome="refused",
                reason_code="account-locked",
                at=now,
            )
            return None
        if user.locked_until is not None:  # the lockout has run its 3 h
            _clear_lockout(conn, user.user_id)
            audit(
                self.db,
                conn,
                Actor("system", "system"),
                "console.user.unlock",
                object_type="user",
                object_id=user.name,
                reason_code="lockout-expired",
                at=now,
            )
        factor = _second_factor(conn, user.user_id, code, now) if password_ok else None
        if factor is None:
            self._failure(conn, user, actor, now)
            return None
        conn.execute("DELETE FROM console_signin_failures WHERE user_id = ?", (user.user_id,))
        audit(self.db, conn, actor, "console.signin", reason_code=factor, at=now)
        return find_user(conn, name)

    def _failure(self, conn: Connection, user: User, actor: Actor, now: float) -> None:
        conn.execute(
            "INSERT INTO console_signin_failures (user_id, at) VALUES (?, ?)", (user.user_id, now)
        )
        audit(
            self.db,
            conn,
            actor,
            "console.signin",
            outcome="failed",
            reason_code="bad-credentials",
            at=now,
        )
        count = conn.execute(
            "SELECT count(*) FROM console_signin_failures WHERE user_id = ? AND at > ?",
            (user.user_id, now - FAILURE_WINDOW_S),
        ).fetchone()[0]
        if int(count) >= MAX_FAILURES:
            conn.execute(
                "UPDATE console_users SET locked_until = ? WHERE user_id = ?",
                (now + LOCKOUT_S, user.user_id),
            )
            audit(
                self.db,
                conn,
                actor,
                "console.lockout",
                object_type="user",
                object_id=user.name,
                reason_code="too-many-failures",
                at=now,
            )

    def step_up(self, user_id: int, code: str) -> bool:
        """A fresh TOTP code (never a recovery code) before a sensitive action: audited."""
        return self.db.execute(self._step_up, user_id, code)

    def _step_up(self, conn: Connection, user_id: int, code: str) -> bool:
        now = self.accounts.clock()
        ok = _accept_totp(conn, user_id, code, now)
        row = conn.execute("SELECT name, role FROM console_users WHERE user_id = ?", (user_id,))
        name, role = row.fetchone()
        audit(
            self.db,
            conn,
            Actor(str(name), str(role)),
            "console.stepup",
            outcome="ok" if ok else "failed",
            reason_code=None if ok else "totp-wrong",
            at=now,
        )
        return ok


def _secrets(conn: Connection, name: str) -> _Secrets | None:
    row = conn.execute(
        "SELECT user_id, password_hash, totp_secret FROM console_users WHERE name = ?", (name,)
    ).fetchone()
    return _Secrets(int(row[0]), row[1], str(row[2])) if row else None


def _clear_lockout(conn: Connection, user_id: int) -> None:
    conn.execute("UPDATE console_users SET locked_until = NULL WHERE user_id = ?", (user_id,))
    conn.execute("DELETE FROM console_signin_failures WHERE user_id = ?", (user_id,))


def _second_factor(conn: Connection, user_id: int, code: str, now: float) -> str | None:
    """ "totp" or "recovery-code" when `code` is accepted (and used up), else None."""
    if cred.looks_like_recovery_code(code):
        cur = conn.execute(
            "UPDATE console_recovery_codes SET used_at = ?"
            " WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
            (now, user_id, cred.code_hash(code)),
        )
        return "recovery-code" if cur.rowcount == 1 else None
    return "totp" if _accept_totp(conn, user_id, code, now) else None


def _accept_totp(conn: Connection, user_id: int, code: str, now: float) -> bool:
    row = conn.execute(
        "SELECT totp_secret, totp_last_step FROM console_users WHERE user_id = ?", (user_id,)
    ).fetchone()
    step = cred.match_totp(str(row[0]), code, now, int(row[1])) if row else None
    if step is None:
        return False
    conn.execute("UPDATE console_users SET totp_last_step = ? WHERE user_id = ?", (step, user_id))
    return True
