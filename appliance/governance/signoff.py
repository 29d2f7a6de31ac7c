"""Sign-offs: a console user approves a change, or reviews a use case, with a fresh TOTP.

The approver is an active, unlocked console account holding the role the change needs
(`required_roles`): the owner for production, a compliance officer for a high-risk use
case, else any role that may sign off (appliance/console/roles.py). The requester is an
active console account too, and never the approver. The code is checked against the
approver's TOTP secret with the console's own rules (appliance/console/credentials.py:
the current step or its neighbour, never a step already used: sign-in and sign-off share
the account's last accepted step, so a code is used once). A sign-off row keeps the
comment and the gate evidence with its sha256; the audit record names the approver, the
role and the sha256 (never the comment).
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.console import credentials as cred
from appliance.console.accounts import find_user
from appliance.console.roles import PERMISSIONS, Permission, Role
from appliance.errors import GovernanceError
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

MAX_COMMENT = 500
SIGNERS = frozenset(r for r, p in PERMISSIONS.items() if Permission.SIGN_OFF in p)


@dataclass(frozen=True, slots=True)
class Approval:
    """Who asks, who approves (a console user name), the approver's TOTP and a comment."""

    requested_by: str
    approved_by: str
    totp: str
    comment: str


@dataclass(frozen=True, slots=True)
class Signed:
    use_case: str
    state: str
    to_state: str | None  # None: a review sign-off
    role: Role
    evidence: str  # canonical JSON (counts and verdicts only)
    sha256: str


def required_roles(tier: str, to_state: str | None) -> frozenset[Role]:
    """Who may approve: the owner for production, a compliance officer for high risk (a
    review sign-off included), else any role with the sign-off permission."""
    if to_state == "production":
        return frozenset({Role.OWNER})
    if tier == "high":
        return frozenset({Role.COMPLIANCE_OFFICER})
    return SIGNERS


def verify_in(
    conn: Connection, approval: Approval, roles: frozenset[Role], now: float, two: bool = True
) -> Role:
    """The approver's role when everything holds (the TOTP step is used up); raises
    GovernanceError usecase-needs-comment, usecase-requester-unknown,
    usecase-needs-approver, usecase-approver-unknown, usecase-approver-role,
    usecase-totp-wrong."""
    comment = approval.comment.strip()
    if not comment or len(comment) > MAX_COMMENT:
        needs = f"a sign-off needs a comment (1-{MAX_COMMENT} characters)"
        raise GovernanceError("usecase-needs-comment", needs)
    requester, approver = approval.requested_by.strip(), approval.approved_by.strip()
    if two:
        if _active(conn, requester, now) is None:
            unknown = "the requester is no active console user"
            raise GovernanceError("usecase-requester-unknown", unknown)
        if not approver or approver == requester:
            second = "a promotion is approved by a second person"
            raise GovernanceError("usecase-needs-approver", second)
    user = _active(conn, approver, now)
    if user is None:
        raise GovernanceError("usecase-approver-unknown", "the approver is no active console user")
    if user[1] not in roles:
        needed = " or ".join(sorted(r.value for r in roles))
        raise GovernanceError("usecase-approver-role", f"the approver must be {needed}")
    if not _accept_totp(conn, user[0], approval.totp, now):
        raise GovernanceError("usecase-totp-wrong", "the approver's TOTP code was not accepted")
    return user[1]


def _active(conn: Connection, name: str, now: float) -> tuple[int, Role] | None:
    user = find_user(conn, name) if name else None
    if user is None or user.status != "active":
        return None
    if user.locked_until is not None and user.locked_until > now:
        return None
    return user.user_id, user.role


def _accept_totp(conn: Connection, user_id: int, code: str, now: float) -> bool:
    """As the console's sign-in: a valid code newer than the last accepted step."""
    row = conn.execute(
        "SELECT totp_secret, totp_last_step FROM console_users WHERE user_id = ?", (user_id,)
    ).fetchone()
    step = cred.match_totp(str(row[0]), code, now, int(row[1])) if row else None
    if step is None:
        return False
    conn.execute("UPDATE console_users SET totp_last_step = ? WHERE user_id = ?", (step, user_id))
    return True


def record_in(
    db: Database, conn: Connection, approval: Approval, signed: Signed, at: float
) -> None:
    """The sign-off row and its audit record (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO use_case_signoffs (use_case, at, state, to_state, requested_by,"
        " approved_by, approver_role, comment, evidence_sha256, evidence)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (signed.use_case, at, signed.state, signed.to_state, approval.requested_by.strip(),
         approval.approved_by.strip(), signed.role.value, approval.comment.strip(),
         signed.sha256, signed.evidence),
    )  # fmt: skip
    event = AuditEvent(
        actor=approval.approved_by.strip(), actor_role=signed.role.value,
        action="usecase.signoff", object_type="use_case", object_id=signed.use_case,
        reason_code=f"{signed.to_state or 'review'}:sha256:{signed.sha256}",
        component="governance", at=at,
    )  # fmt: skip
    append_audit(conn, event, db.audit_signer, db.audit_checkpoint_every)


def audit_refused(db: Database, use_case: str, actor: str, code: str, at: float) -> None:
    """A refused sign-off (wrong code, wrong role): its own record, as the change rolled back."""
    event = AuditEvent(
        actor=actor.strip() or "unknown", actor_role="operator", action="usecase.signoff",
        outcome="denied", object_type="use_case", object_id=use_case, reason_code=code,
        component="governance", at=at,
    )  # fmt: skip
    db.execute(lambda conn: append_audit(conn, event, db.audit_signer, db.audit_checkpoint_every))


def signoffs(db: Database, use_case: str | None = None) -> list[dict[str, object]]:
    """The recorded sign-offs, oldest first."""
    keys = ("use_case", "at", "state", "to_state", "requested_by", "approved_by",
            "approver_role", "comment", "evidence_sha256")  # fmt: skip
    sql = (
        "SELECT use_case, at, state, to_state, requested_by, approved_by, approver_role,"
        " comment, evidence_sha256 FROM use_case_signoffs"
    )
    args: tuple[str, ...] = ()
    if use_case is not None:
        sql, args = sql + " WHERE use_case = ?", (use_case,)

    def read(conn: Connection) -> list[dict[str, object]]:
        return [dict(zip(keys, r, strict=True)) for r in conn.execute(sql + " ORDER BY seq", args)]

    return db.query(read)
