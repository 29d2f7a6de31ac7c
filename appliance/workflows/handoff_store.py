"""Handoff packets and caller messages in the encrypted store (tables of migration 4).

Every write appends an audit record (metadata only: ids and codes) in the same
transaction; every packet shown to a person is audited as a PHI read before it is
returned (`read_for_view`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

MAX_READ = 50  # packets returned by one read
KINDS = frozenset({"message", "callback"})


@dataclass(frozen=True, slots=True)
class StoredHandoff:
    seq: int  # increasing: the screen-pop's event id
    handoff_id: str
    call_id: str
    created_at: float  # UNIX s
    reason: str
    packet: str  # JSON, PHI
    outcome: str | None


@dataclass(frozen=True, slots=True)
class CallerMessage:
    call_id: str
    handoff_id: str | None
    reason: str  # code: why it was taken (e.g. the transfer outcome)
    kind: str  # "message" | "callback"
    callback_number: str | None  # PHI, as spoken
    body: str  # PHI
    created_at: float  # UNIX s


class HandoffStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _audit(self, conn: Connection, event: AuditEvent) -> None:
        append_audit(conn, event, self._db.audit_signer, self._db.audit_checkpoint_every)

    # --- writes (agent) ----------------------------------------------------------------

    async def save_packet(self, packet: Mapping[str, Any], at: float | None = None) -> None:
        await self._db.run(self._save_packet, dict(packet), time.time() if at is None else at)

    def _save_packet(self, conn: Connection, packet: dict[str, Any], at: float) -> None:
        conn.execute(
            "INSERT INTO handoffs (handoff_id, call_id, created_at, reason, packet)"
            " VALUES (?, ?, ?, ?, ?)",
            (packet["handoff_id"], packet["call_id"], at, packet["reason"], json.dumps(packet)),
        )
        self._audit(
            conn,
            _event("handoff.create", packet["handoff_id"], packet["call_id"], packet["reason"]),
        )

    async def set_outcome(self, handoff_id: str, outcome: str) -> None:
        await self._db.run(self._set_outcome, handoff_id, outcome)

    def _set_outcome(self, conn: Connection, handoff_id: str, outcome: str) -> None:
        row = conn.execute(
            "UPDATE handoffs SET outcome = ? WHERE handoff_id = ? RETURNING call_id",
            (outcome, handoff_id),
        ).fetchone()
        call_id = str(row[0]) if row else None
        self._audit(conn, _event("transfer.outcome", handoff_id, call_id, outcome))

    async def save_message(self, message: CallerMessage) -> int:
        return await self._db.run(self._save_message, message)

    def _save_message(self, conn: Connection, m: CallerMessage) -> int:
        kind = m.kind if m.kind in KINDS else "message"
        cur = conn.execute(
            "INSERT INTO caller_messages (call_id, handoff_id, created_at, reason, kind,"
            " callback_number, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (m.call_id, m.handoff_id, m.created_at, m.reason, kind, m.callback_number, m.body),
        )
        self._audit(
            conn,
            _event(
                "message.create", m.handoff_id, m.call_id, m.reason, object_type="caller-message"
            ),
        )
        return int(cur.lastrowid or 0)

    # --- reads (admin, tests) ----------------------------------------------------------

    def last_seq(self, since: float) -> int:
        """The seq before the first packet created at or after `since` (UNIX s)."""
        row = self._db.query(
            lambda c: c.execute(
                "SELECT COALESCE(MIN(seq), (SELECT COALESCE(MAX(seq), 0) + 1 FROM handoffs))"
                " FROM handoffs WHERE created_at >= ?",
                (since,),
            ).fetchone()
        )
        return int(row[0]) - 1

    def read_for_view(self, after: int, actor: str) -> list[StoredHandoff]:
        """Packets with seq > `after`, each audited as a PHI read by `actor` before it is
        returned (blocking). The poll itself is a read transaction: no write lock."""
        found = self._db.query(self._select_after, after)
        if found:
            self._db.execute(self._audit_reads, found, actor)
        return found

    @staticmethod
    def _select_after(conn: Connection, after: int) -> list[StoredHandoff]:
        rows = conn.execute(
            "SELECT seq, handoff_id, call_id, created_at, reason, packet, outcome FROM handoffs"
            " WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, MAX_READ),
        ).fetchall()
        return [StoredHandoff(*row) for row in rows]

    def _audit_reads(self, conn: Connection, found: list[StoredHandoff], actor: str) -> None:
        for h in found:
            self._audit(conn, _event("phi.read", h.handoff_id, h.call_id, None, actor=actor))

    def audit_login(self, actor: str, ok: bool) -> None:
        """A screen-pop sign-in attempt (metadata only)."""
        event = AuditEvent(
            actor=actor,
            actor_role="scheduler",
            action="screenpop.login",
            outcome="ok" if ok else "denied",
            component="admin",
        )
        self._db.execute(lambda conn: self._audit(conn, event))

    def packets(self, call_id: str) -> list[StoredHandoff]:
        """A call's packets, unaudited: for the agent's own checks and tests."""
        rows = self._db.query(
            lambda c: c.execute(
                "SELECT seq, handoff_id, call_id, created_at, reason, packet, outcome"
                " FROM handoffs WHERE call_id = ? ORDER BY seq",
                (call_id,),
            ).fetchall()
        )
        return [StoredHandoff(*row) for row in rows]

    def messages(self, call_id: str) -> list[CallerMessage]:
        rows = self._db.query(
            lambda c: c.execute(
                "SELECT call_id, handoff_id, reason, kind, callback_number, body, created_at"
                " FROM caller_messages WHERE call_id = ? ORDER BY id",
                (call_id,),
            ).fetchall()
        )
        return [CallerMessage(*row) for row in rows]


def _event(
    action: str,
    handoff_id: str | None,
    call_id: str | None,
    reason: str | None,
    *,
    actor: str = "agent",
    object_type: str = "handoff",
) -> AuditEvent:
    return AuditEvent(
        actor=actor,
        actor_role="scheduler" if action == "phi.read" else "system",
        action=action,
        object_type=object_type,
        object_id=handoff_id,
        reason_code=reason,
        call_id=call_id,
        component="admin" if action == "phi.read" else "workflows",
    )
