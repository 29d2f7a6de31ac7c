"""The consent ledger's statements, each run inside the caller's transaction with its
audit record (appliance.outbound.ledger holds the class that opens the transactions)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.errors import OutboundError
from appliance.outbound.ledger_model import (
    DNC_LISTS,
    Actor,
    ConsentGrant,
    ConsentRow,
    ConsentStatus,
)
from appliance.outbound.numbers import number_hash, number_hashes, number_key, patient_key
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

HASH = re.compile(r"[0-9a-f]{64}")


def check_zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise OutboundError("outbound-bad-zone", "not an IANA time zone") from None


def confirm_in(
    conn: Connection, db: Database, actor: Actor, appointment_id: str, at: float
) -> bool:
    changed = conn.execute(
        "UPDATE appointments SET confirmed_at = ?, confirmed_via = 'reminder-call'"
        " WHERE id = ? AND status = 'booked'",
        (at, appointment_id),
    ).rowcount
    if changed:
        audit(
            conn, db, actor, ("reminder.confirmed", "appointment", appointment_id, "confirmed", at)
        )
    return bool(changed)


def audit(
    conn: Connection, db: Database, actor: Actor, what: tuple[str, str, str, str, float]
) -> None:
    """Append one audit record inside the caller's transaction: (action, object type,
    object id, reason code, at)."""
    action, object_type, object_id, reason_code, at = what
    append_audit(
        conn,
        AuditEvent(
            actor=actor.name,
            actor_role=actor.role,
            component=actor.component,
            call_id=actor.call_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            reason_code=reason_code,
            at=at,
        ),
        db.audit_signer,
        db.audit_checkpoint_every,
    )


def insert_grant(
    conn: Connection, db: Database, key: bytes, grant: ConsentGrant, actor: Actor
) -> bool:
    """Insert a consent in the caller's transaction, audited; False when already in force
    with the same kind."""
    hashed = number_hash(key, grant.number)
    row = conn.execute(
        "SELECT id, kind FROM outbound_consents"
        " WHERE patient_id = ? AND number_hash = ? AND revoked_at IS NULL",
        (grant.patient_id, hashed),
    ).fetchone()
    if row is not None and row[1] == grant.kind:
        return False
    if row is not None:  # a new kind supersedes the consent in force (e.g. now written)
        _revoke_rows(conn, db, [int(row[0])], "superseded", grant.given_at, actor)
    cursor = conn.execute(
        "INSERT INTO outbound_consents (patient_id, number, number_hash, kind, source, ip,"
        " given_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            grant.patient_id,
            grant.number,
            hashed,
            grant.kind,
            grant.source,
            grant.ip,
            grant.given_at,
        ),
    )
    what = ("consent.granted", "consent", f"consent-{cursor.lastrowid}", grant.kind, grant.given_at)
    audit(conn, db, actor, what)
    return True


def opt_out_in(
    conn: Connection, db: Database, hashed: str, source: str, at: float, actor: Actor
) -> int:
    """Revoke every consent in force for the number and add it to the internal list."""
    rows = conn.execute(
        "SELECT id FROM outbound_consents WHERE number_hash = ? AND revoked_at IS NULL",
        (hashed,),
    ).fetchall()
    _revoke_rows(conn, db, [int(r[0]) for r in rows], source, at, actor)
    add_dnc_in(conn, db, hashed, "internal", f"opt-out-{source}", at, actor)
    return len(rows)


def opt_out_caller_in(
    conn: Connection, db: Database, key: bytes, caller_key: str, at: float, actor: Actor
) -> int:
    """Revoke the consents whose number an inbound caller's hash stands for (compared
    through the numbers the ledger keeps), and list the hash and theirs as do-not-call."""
    rows = conn.execute(
        "SELECT id, number FROM outbound_consents WHERE revoked_at IS NULL"
    ).fetchall()
    matched = [(int(r[0]), str(r[1])) for r in rows if caller_key in number_hashes(key, r[1])]
    _revoke_rows(conn, db, [i for i, _ in matched], "call", at, actor)
    listed = dict.fromkeys([caller_key, *(number_hash(key, n) for _, n in matched)])
    for hashed in listed:
        add_dnc_in(conn, db, hashed, "internal", "opt-out-call", at, actor)
    return len(matched)


def _revoke_rows(
    conn: Connection, db: Database, ids: list[int], source: str, at: float, actor: Actor
) -> None:
    for consent_id in ids:
        conn.execute(
            "UPDATE outbound_consents SET revoked_at = ?, revoked_source = ? WHERE id = ?",
            (at, source, consent_id),
        )
        what = ("consent.revoked", "consent", f"consent-{consent_id}", source, at)
        audit(conn, db, actor, what)


def add_dnc_in(
    conn: Connection,
    db: Database,
    hashed: str,
    dnc_list: str,
    source: str,
    at: float,
    actor: Actor,
) -> bool:
    if dnc_list not in DNC_LISTS:
        raise OutboundError("outbound-bad-list", f"unknown do-not-call list {dnc_list!r}")
    cursor = conn.execute(
        "INSERT OR IGNORE INTO outbound_dnc (number_hash, list, source, added_at)"
        " VALUES (?, ?, ?, ?)",
        (hashed, dnc_list, source, at),
    )
    if cursor.rowcount == 0:
        return False
    what = ("dnc.added", "dnc", number_key(hashed), dnc_list, at)
    audit(conn, db, actor, what)
    return True


def set_zone_in(
    conn: Connection,
    db: Database,
    key: bytes,
    patient_id: str,
    zone: str,
    at: float,
    actor: Actor,
) -> None:
    row = conn.execute(
        "SELECT zone FROM outbound_patient_zones WHERE patient_id = ?", (patient_id,)
    ).fetchone()
    if row is not None and row[0] == zone:
        return  # unchanged: nothing to record
    conn.execute(
        "INSERT OR REPLACE INTO outbound_patient_zones (patient_id, zone) VALUES (?, ?)",
        (patient_id, zone),
    )
    what = ("patient.zone-set", "patient", patient_key(key, patient_id), "record-zone", at)
    audit(conn, db, actor, what)


def consent_status(conn: Connection, patient_id: str, hashed: str) -> ConsentStatus:
    """active: a consent is in force; revoked: there were only revoked ones; none."""
    row = conn.execute(
        "SELECT count(*), sum(revoked_at IS NULL) FROM outbound_consents"
        " WHERE patient_id = ? AND number_hash = ?",
        (patient_id, hashed),
    ).fetchone()
    if not row or not row[0]:
        return "none"
    return "active" if row[1] else "revoked"


def on_dnc(conn: Connection, *hashes: str) -> bool:
    """Whether any of the hashes (a number's `number_hashes`) is on a do-not-call list."""
    marks = ", ".join("?" * len(hashes))
    sql = f"SELECT 1 FROM outbound_dnc WHERE number_hash IN ({marks})"  # noqa: S608
    return conn.execute(sql, hashes).fetchone() is not None


def consents_of(conn: Connection, key: bytes, patient_id: str) -> list[ConsentRow] | None:
    if conn.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone() is None:
        return None
    rows = conn.execute(
        "SELECT id, number, kind, source, given_at, revoked_at, revoked_source"
        " FROM outbound_consents WHERE patient_id = ? ORDER BY given_at DESC, id DESC",
        (patient_id,),
    ).fetchall()
    return [
        ConsentRow(
            int(r[0]),
            str(r[1]),
            str(r[1])[-4:],
            str(r[2]),
            str(r[3]),
            float(r[4]),
            None if r[5] is None else float(r[5]),
            r[6],
            on_dnc(conn, *number_hashes(key, r[1])),
        )
        for r in rows
    ]
