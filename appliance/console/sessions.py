"""Server-side sessions: the cookie holds only a random id, the store its hash.

A session ends on sign-out, after 15 minutes without a request (10 for the owner and
the platform engineer), after 12 hours whatever happens, and when its user is disabled.
Each session has its own CSRF token, which every form posts back.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, replace

from appliance.console import credentials as cred
from appliance.console.accounts import Accounts, Actor, User, audit
from appliance.console.roles import ABSOLUTE_S, Role, idle_limit_s
from appliance.store.db import Connection

STEP_UP_S = 5 * 60.0  # s a fresh TOTP counts for sensitive actions


@dataclass(frozen=True, slots=True)
class Session:
    id_hash: str
    user_id: int
    name: str
    role: Role
    csrf: str
    created_at: float
    last_seen: float
    step_up_at: float | None

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf, presented or "")

    def fresh(self, now: float, within_s: float = STEP_UP_S) -> bool:
        """Whether the user confirmed a TOTP code within `within_s` (sensitive actions)."""
        return self.step_up_at is not None and now - self.step_up_at <= within_s


_SELECT = (
    "SELECT s.id_hash, s.user_id, u.name, u.role, s.csrf, s.created_at, s.last_seen,"
    " s.step_up_at, s.ended_at, u.status FROM console_sessions s"
    " JOIN console_users u USING (user_id) WHERE s.id_hash = ?"
)


class Sessions:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self.db = accounts.db

    def start(self, user: User) -> tuple[str, Session]:
        """A new session for a user who has just signed in: (cookie value, session)."""
        sid, now = cred.new_token(), self.accounts.clock()
        digest = cred.token_hash(sid)
        self.db.execute(
            lambda c: c.execute(
                "INSERT INTO console_sessions (id_hash, user_id, csrf, created_at, last_seen)"
                " VALUES (?, ?, ?, ?, ?)",
                (digest, user.user_id, secrets.token_urlsafe(32), now, now),
            )
        )
        session = self.get(sid)
        assert session is not None
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        """The live session of a cookie value, its idle clock restarted; None when there is
        none or it has just expired (idle, absolute limit, user disabled: audited)."""
        if not sid:
            return None
        return self.db.execute(self._get, cred.token_hash(sid))

    def _get(self, conn: Connection, digest: str) -> Session | None:
        row = conn.execute(_SELECT, (digest,)).fetchone()
        if row is None or row[8] is not None:
            return None
        now = self.accounts.clock()
        session = _row_session(row)
        reason = _expiry(session, str(row[9]), now)
        if reason is not None:
            self._end(conn, session, reason, now)
            return None
        conn.execute("UPDATE console_sessions SET last_seen = ? WHERE id_hash = ?", (now, digest))
        return replace(session, last_seen=now)

    def still_live(self, sid: str | None) -> bool:
        """Whether a session is live, without restarting its idle clock (a long-lived
        stream asks this: only the user's own requests keep a session alive). One that
        has just expired is ended here (audited)."""
        return bool(sid) and self.db.execute(self._still_live, cred.token_hash(sid or ""))

    def _still_live(self, conn: Connection, digest: str) -> bool:
        row = conn.execute(_SELECT, (digest,)).fetchone()
        if row is None or row[8] is not None:
            return False
        now, session = self.accounts.clock(), _row_session(row)
        reason = _expiry(session, str(row[9]), now)
        if reason is not None:
            self._end(conn, session, reason, now)
        return reason is None

    def end(self, sid: str | None) -> None:
        """Sign-out: the session ends now (audited); an unknown or ended one is ignored."""
        if sid:
            self.db.execute(self._end_by_id, cred.token_hash(sid))

    def _end_by_id(self, conn: Connection, digest: str) -> None:
        row = conn.execute(_SELECT, (digest,)).fetchone()
        if row is None or row[8] is not None:
            return
        session = _row_session(row)
        self._end(conn, session, "signout", self.accounts.clock())

    def _end(self, conn: Connection, session: Session, reason: str, now: float) -> None:
        conn.execute(
            "UPDATE console_sessions SET ended_at = ?, end_reason = ? WHERE id_hash = ?",
            (now, reason, session.id_hash),
        )
        action = "console.signout" if reason == "signout" else "console.session.expired"
        audit(
            self.db,
            conn,
            Actor(session.name, session.role.value),
            action,
            reason_code=None if reason == "signout" else reason,
            at=now,
        )

    def mark_step_up(self, session: Session) -> Session:
        now = self.accounts.clock()
        self.db.execute(
            lambda c: c.execute(
                "UPDATE console_sessions SET step_up_at = ? WHERE id_hash = ?",
                (now, session.id_hash),
            )
        )
        return replace(session, step_up_at=now)


def _expiry(session: Session, status: str, now: float) -> str | None:
    if status != "active":
        return "user-disabled"
    if now - session.created_at >= ABSOLUTE_S:
        return "absolute-limit"
    if now - session.last_seen >= idle_limit_s(session.role):
        return "idle"
    return None


def _row_session(row: tuple[object, ...]) -> Session:
    step_up = row[7]
    return Session(
        str(row[0]),
        int(str(row[1])),
        str(row[2]),
        Role(str(row[3])),
        str(row[4]),
        float(str(row[5])),
        float(str(row[6])),
        None if step_up is None else float(str(step_up)),
    )
