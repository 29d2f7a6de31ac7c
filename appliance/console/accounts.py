"""Console users: invitation, enrolment, lockout, unlock and disabling, each audited.

An owner invites a person (`appliance users add NAME --role ROLE`, later the users
screen); the one-time link (24 h) lets that person set a password, register the TOTP
secret and receive recovery codes. Sign-in itself is in signin.py.

Audit records name the user and carry codes only: never a password, a code or a token.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from appliance.console import credentials as cred
from appliance.console.roles import Role, parse_role
from appliance.errors import ConsoleError
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

Clock = Callable[[], float]
ENROLMENT_S = 24 * 3600.0  # s an enrolment link stays valid
_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
_USERS = (
    "SELECT user_id, name, role, status, locked_until, created_at, enrolled_at FROM console_users"
)


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    name: str
    role: Role
    status: str  # invited | active | disabled
    locked_until: float | None
    created_at: float
    enrolled_at: float | None


@dataclass(frozen=True, slots=True)
class Invitation:
    name: str
    role: Role
    token: str  # shown once, stored only as its hash
    expires_at: float


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the enrolment page shows: who, and the TOTP secret to register."""

    user: User
    totp_secret: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something, for the audit log (a console user, or the CLI's operator)."""

    name: str
    role: str
    component: str = "console"


def check_name(name: str) -> str:
    """The user name in lower case; raises ConsoleError console-bad-name."""
    lowered = name.strip().lower()
    if not _NAME.match(lowered):
        raise ConsoleError(
            "console-bad-name", "a user name is 2-32 of a-z 0-9 . _ - and starts with a letter"
        )
    return lowered


def row_user(row: tuple[object, ...]) -> User:
    uid, name, role, status, locked, created, enrolled = row
    return User(
        int(str(uid)),
        str(name),
        Role(str(role)),
        str(status),
        None if locked is None else float(str(locked)),
        float(str(created)),
        None if enrolled is None else float(str(enrolled)),
    )


def find_user(conn: Connection, name: str) -> User | None:
    row = conn.execute(_USERS + " WHERE name = ?", (name,))
    found = row.fetchone()
    return row_user(found) if found else None


LAST_OWNER = "the last active owner can be neither disabled nor demoted"


def _last_owner(conn: Connection, user: User) -> bool:
    """Whether `user` is the last active owner."""
    if user.role is not Role.OWNER or user.status != "active":
        return False
    others = conn.execute(
        "SELECT count(*) FROM console_users WHERE role = 'owner' AND status = 'active'"
        " AND user_id != ?",
        (user.user_id,),
    ).fetchone()[0]
    return int(others) == 0


def _raised(result: User | ConsoleError) -> User:
    if isinstance(result, ConsoleError):
        raise result
    return result


def audit(db: Database, conn: Connection, actor: Actor, action: str, **fields: object) -> None:
    """Append one console audit record inside the caller's transaction."""
    event = AuditEvent(
        actor=actor.name,
        actor_role=actor.role,
        action=action,
        component=actor.component,
        **fields,  # type: ignore[arg-type]
    )
    append_audit(conn, event, db.audit_signer, db.audit_checkpoint_every)


class Accounts:
    """Blocking operations on the store (the routes run them in a thread)."""

    def __init__(self, db: Database, clock: Clock = time.time) -> None:
        self.db = db
        self.clock = clock

    def add(self, name: str, role: str, by: Actor) -> Invitation:
        """Create an invited user and its enrolment link. Raises ConsoleError
        console-bad-name, console-bad-role, console-user-exists."""
        name, parsed = check_name(name), parse_role(role)
        token, now = cred.new_token(), self.clock()
        expires = now + ENROLMENT_S
        self.db.execute(self._add, name, parsed, cred.token_hash(token), now, by)
        return Invitation(name, parsed, token, expires)

    def _add(
        self, conn: Connection, name: str, role: Role, digest: str, now: float, by: Actor
    ) -> None:
        if find_user(conn, name) is not None:
            raise ConsoleError("console-user-exists", "a user of that name exists")
        cur = conn.execute(
            "INSERT INTO console_users (name, role, status, totp_secret, created_at)"
            " VALUES (?, ?, 'invited', ?, ?)",
            (name, role.value, cred.new_totp_secret(), now),
        )
        conn.execute(
            "INSERT INTO console_enrolments (token_hash, user_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (digest, cur.lastrowid, now, now + ENROLMENT_S),
        )
        audit(
            self.db,
            conn,
            by,
            "console.user.add",
            object_type="user",
            object_id=name,
            reason_code=role.value,
            at=now,
        )

    def users(self) -> list[User]:
        rows = self.db.query(lambda c: c.execute(_USERS + " ORDER BY name").fetchall())
        return [row_user(r) for r in rows]

    def get(self, name: str) -> User | None:
        return self.db.query(find_user, name)

    def unlock(self, name: str, by: Actor) -> User:
        """Lift a lockout and forget the failures. Raises console-no-user."""
        return _raised(self.db.execute(self._change, check_name(name), by, "console.user.unlock"))

    def disable(self, name: str, by: Actor) -> User:
        """No more sign-ins; open sessions end now. Raises console-no-user,
        console-last-owner (the refusal is audited)."""
        return _raised(self.db.execute(self._change, check_name(name), by, "console.user.disable"))

    def _refuse(self, conn: Connection, by: Actor, action: str, name: str) -> ConsoleError:
        """A refused change (the last owner): audited, and the error to raise."""
        audit(
            self.db,
            conn,
            by,
            action,
            object_type="user",
            object_id=name,
            outcome="denied",
            reason_code="last-owner",
            at=self.clock(),
        )
        return ConsoleError("console-last-owner", LAST_OWNER)

    def _change(self, conn: Connection, name: str, by: Actor, action: str) -> User | ConsoleError:
        user = find_user(conn, name)
        if user is None:
            raise ConsoleError("console-no-user", "no user of that name")
        now = self.clock()
        if action == "console.user.disable" and _last_owner(conn, user):
            return self._refuse(conn, by, action, name)
        if action == "console.user.unlock":
            conn.execute(
                "UPDATE console_users SET locked_until = NULL WHERE user_id = ?", (user.user_id,)
            )
            conn.execute("DELETE FROM console_signin_failures WHERE user_id = ?", (user.user_id,))
        else:
            conn.execute(
                "UPDATE console_users SET status = 'disabled' WHERE user_id = ?", (user.user_id,)
            )
            self._end_sessions(conn, user, "disabled", now)
        audit(self.db, conn, by, action, object_type="user", object_id=name, at=now)
        found = find_user(conn, name)
        assert found is not None
        return found

    def set_role(self, name: str, role: str, by: Actor) -> User:
        """Change a user's role; their open sessions end (the next sign-in gets the new
        screens). Raises console-no-user, console-bad-role, console-last-owner (the refusal
        is audited)."""
        return _raised(self.db.execute(self._set_role, check_name(name), parse_role(role), by))

    def _set_role(self, conn: Connection, name: str, role: Role, by: Actor) -> User | ConsoleError:
        user = find_user(conn, name)
        if user is None:
            raise ConsoleError("console-no-user", "no user of that name")
        if role is not Role.OWNER and _last_owner(conn, user):
            return self._refuse(conn, by, "console.user.role", name)
        now = self.clock()
        conn.execute("UPDATE console_users SET role = ? WHERE user_id = ?", (role, user.user_id))
        self._end_sessions(conn, user, "role-changed", now)
        audit(
            self.db,
            conn,
            by,
            "console.user.role",
            object_type="user",
            object_id=name,
            reason_code=f"{user.role.value}>{role.value}",
            at=now,
        )
        found = find_user(conn, name)
        assert found is not None
        return found

    def _end_sessions(self, conn: Connection, user: User, reason: str, now: float) -> None:
        """End the user's open sessions, each audited as the other session ends are
        (`console.session.expired` naming the user and the role it had, the reason)."""
        ended = conn.execute(
            "UPDATE console_sessions SET ended_at = ?, end_reason = ?"
            " WHERE user_id = ? AND ended_at IS NULL",
            (now, reason, user.user_id),
        ).rowcount
        for _ in range(max(ended, 0)):
            audit(
                self.db,
                conn,
                Actor(user.name, user.role.value),
                "console.session.expired",
                reason_code=reason,
                at=now,
            )

    # --- enrolment ----------------------------------------------------------------------

    def enrolment(self, token: str) -> Enrolment:
        """The pending enrolment of a link. Raises ConsoleError console-enrolment-invalid
        (unknown, used or expired: one message for all three)."""
        return self.db.query(self._enrolment, cred.token_hash(token), self.clock())

    def _enrolment(self, conn: Connection, digest: str, now: float) -> Enrolment:
        row = conn.execute(
            "SELECT e.user_id, e.expires_at, e.used_at, u.name, u.totp_secret, u.status"
            " FROM console_enrolments e JOIN console_users u USING (user_id)"
            " WHERE e.token_hash = ?",
            (digest,),
        ).fetchone()
        if row is None or row[2] is not None or now >= float(row[1]) or row[5] != "invited":
            raise ConsoleError("console-enrolment-invalid", "this link is unknown, used or expired")
        user = find_user(conn, str(row[3]))
        assert user is not None
        return Enrolment(user, str(row[4]), float(row[1]))

    def enrol(self, token: str, password: str, confirm: str, code: str) -> list[str]:
        """Set the password, confirm the TOTP secret with a code, use up the link; the
        recovery codes are returned once. Raises ConsoleError console-enrolment-invalid,
        console-password-mismatch, console-weak-password, console-totp-wrong."""
        pending = self.enrolment(token)
        if password != confirm:
            raise ConsoleError("console-password-mismatch", "the two passwords differ")
        cred.check_password_policy(password, pending.user.name)
        digest, hashed = cred.token_hash(token), cred.hash_password(password)
        codes = cred.new_recovery_codes()
        done = self.db.execute(self._enrol, digest, hashed, code, codes)
        if not done:
            raise ConsoleError("console-totp-wrong", "that code is not the current one")
        return codes

    def _enrol(
        self, conn: Connection, digest: str, hashed: str, code: str, codes: list[str]
    ) -> bool:
        now = self.clock()
        pending = self._enrolment(conn, digest, now)  # again, inside the write
        user = pending.user
        step = cred.match_totp(pending.totp_secret, code, now, 0)
        actor = Actor(user.name, user.role.value)
        if step is None:
            audit(
                self.db,
                conn,
                actor,
                "console.enrol",
                outcome="failed",
                reason_code="totp-wrong",
                object_type="user",
                object_id=user.name,
                at=now,
            )
            return False
        conn.execute(
            "UPDATE console_users SET status = 'active', password_hash = ?, totp_last_step = ?,"
            " enrolled_at = ? WHERE user_id = ?",
            (hashed, step, now, user.user_id),
        )
        conn.execute(
            "UPDATE console_enrolments SET used_at = ? WHERE token_hash = ?", (now, digest)
        )
        conn.executemany(
            "INSERT INTO console_recovery_codes (user_id, code_hash) VALUES (?, ?)",
            [(user.user_id, cred.code_hash(c)) for c in codes],
        )
        audit(
            self.db, conn, actor, "console.enrol", object_type="user", object_id=user.name, at=now
        )
        return True
