"""The consent ledger and the do-not-call lists, each change audited in its transaction.

Consent is kept per patient and number: its kind (prior express / written), where it came
from (form with the IP address, front desk, import) and when; a revocation stamps the row
(time, source) and never deletes it; a later consent is a new row. An opt-out (said on a
call, or taken at the desk) revokes every consent for the number at once and puts it on
the clinic's internal do-not-call list, in one transaction with its audit records.

Audit records carry pseudonymous keys only (consent row ids, `pn-`/`pt-` keys from
appliance.outbound.numbers): never a number, a name or a patient id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.errors import OutboundError
from appliance.outbound.numbers import e164, number_hash, number_hashes, number_key, patient_key
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

CONSENT_KINDS = ("prior-express", "written")
CONSENT_SOURCES = ("form", "front-desk", "import")
REVOKE_SOURCES = ("call", "front-desk", "form", "console", "import")
DNC_LISTS = ("internal", "imported")
ConsentStatus = Literal["active", "revoked", "none"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who changes the ledger, for its audit records (no PHI)."""

    name: str = "system"
    role: str = "system"
    component: str = "outbound"
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentGrant:
    patient_id: str  # PHI link
    number: str  # PHI, E.164
    kind: str  # CONSENT_KINDS
    source: str  # CONSENT_SOURCES
    given_at: float  # UNIX s
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """One consent of a patient as the console shows it: `last4` only on a page; the
    full `number` (PHI) stays server-side, for a revocation."""

    consent_id: int
    number: str = field(repr=False)
    last4: str
    kind: str
    source: str
    given_at: float
    revoked_at: float | None
    revoked_source: str | None
    on_dnc: bool


class Ledger:
    """Blocking ledger operations (CLI, console, the dialler's worker thread)."""

    def __init__(self, db: Database, hash_key: bytes, actor: Actor | None = None) -> None:
        self._db = db
        self._key = hash_key
        self._actor = actor or Actor()

    def for_call(self, call_id: str) -> Ledger:
        """The same ledger, its audit records naming the call."""
        return Ledger(self._db, self._key, replace(self._actor, call_id=call_id))

    def grant(self, grant: ConsentGrant) -> bool:
        """Record one consent; False when the same consent is already in force. Raises
        OutboundError outbound-bad-consent (a number, kind or source it cannot take)."""
        normal = e164(grant.number)
        if normal is None or grant.kind not in CONSENT_KINDS or grant.source not in CONSENT_SOURCES:
            raise OutboundError("outbound-bad-consent", "bad number, consent type or source")
        return self._db.execute(self._grant, replace(grant, number=normal))

    def _grant(self, conn: Connection, grant: ConsentGrant) -> bool:
        return insert_grant(conn, self._db, self._key, grant, self._actor)

    def opt_out(self, number: str, source: str, at: float) -> int:
        """Revoke every consent for `number` at once and add it to the internal DNC list
        (audited); the count of consents revoked. Raises OutboundError outbound-bad-number,
        outbound-bad-source."""
        normal = e164(number)
        if normal is None:
            raise OutboundError("outbound-bad-number", "the opt-out's number is not dialable")
        if source not in REVOKE_SOURCES:
            raise OutboundError("outbound-bad-source", f"unknown revocation source {source!r}")
        hashed = number_hash(self._key, normal)
        return self._db.execute(opt_out_in, self._db, hashed, source, at, self._actor)

    def opt_out_caller(self, caller_key: str, at: float) -> int:
        """An opt-out said on an inbound call, where only the caller's keyed hash is known:
        revoke every consent in force whose number hashes to it (any of `number_hashes`)
        and put the hash, and each such number's own, on the internal DNC list (audited,
        one transaction); the count revoked. Raises OutboundError outbound-bad-caller-key."""
        if not _HASH.fullmatch(caller_key):
            raise OutboundError("outbound-bad-caller-key", "not a keyed hash of a number")
        return self._db.execute(opt_out_caller_in, self._db, self._key, caller_key, at, self._actor)

    def revoke(self, patient_id: str, number: str, source: str, at: float) -> int:
        """Revoke one patient's consents for `number` (audited; the number stays off the
        DNC lists: `opt_out` is the caller's "stop calling me"); the count revoked."""
        normal = e164(number)
        if normal is None or source not in REVOKE_SOURCES:
            raise OutboundError("outbound-bad-revocation", "bad number or revocation source")
        hashed = number_hash(self._key, normal)
        return self._db.execute(self._revoke, patient_id, hashed, source, at)

    def _revoke(
        self, conn: Connection, patient_id: str, hashed: str, source: str, at: float
    ) -> int:
        rows = conn.execute(
            "SELECT id FROM outbound_consents"
            " WHERE patient_id = ? AND number_hash = ? AND revoked_at IS NULL",
            (patient_id, hashed),
        ).fetchall()
        _revoke_rows(conn, self._db, [int(r[0]) for r in rows], source, at, self._actor)
        return len(rows)

    def record_attempt(self, appointment_id: str, number: str, at: float, outcome: str) -> None:
        """One dial about an appointment (the attempt limits count these)."""
        normal = e164(number)
        if normal is None:
            raise OutboundError("outbound-bad-number", "the number is not dialable")
        self._db.execute(
            lambda conn: conn.execute(
                "INSERT INTO outbound_attempts (appointment_id, number_hash, at, outcome)"
                " VALUES (?, ?, ?, ?)",
                (appointment_id, number_hash(self._key, normal), at, outcome),
            )
        )

    def record_call(self, appointment_id: str, number: str, at: float, outcome: str) -> None:
        """One reminder call placed by the dialler: the attempt (the limits count it) and
        its audit record (`reminder.call`, the appointment id, the outcome), together."""
        normal = e164(number)
        if normal is None:
            raise OutboundError("outbound-bad-number", "the number is not dialable")
        hashed = number_hash(self._key, normal)
        self._db.execute(self._record_call, appointment_id, hashed, at, outcome)

    def _record_call(
        self, conn: Connection, appointment_id: str, hashed: str, at: float, outcome: str
    ) -> None:
        conn.execute(
            "INSERT INTO outbound_attempts (appointment_id, number_hash, at, outcome)"
            " VALUES (?, ?, ?, ?)",
            (appointment_id, hashed, at, outcome),
        )
        what = ("reminder.call", "appointment", appointment_id, outcome, at)
        audit(conn, self._db, self._actor, what)

    def begin_call(self, appointment_id: str, number: str, at: float) -> int:
        """A dial about to be made: its attempt row (outcome `dialling`, counted by the
        limits at once, so a crash mid-call cannot free another try) and `reminder.dial`,
        together; the attempt's id for `end_call`."""
        normal = e164(number)
        if normal is None:
            raise OutboundError("outbound-bad-number", "the number is not dialable")
        hashed = number_hash(self._key, normal)
        return self._db.execute(self._begin_call, appointment_id, hashed, at)

    def _begin_call(self, conn: Connection, appointment_id: str, hashed: str, at: float) -> int:
        row = conn.execute(
            "INSERT INTO outbound_attempts (appointment_id, number_hash, at, outcome)"
            " VALUES (?, ?, ?, 'dialling')",
            (appointment_id, hashed, at),
        )
        audit(
            conn,
            self._db,
            self._actor,
            ("reminder.dial", "appointment", appointment_id, "dialling", at),
        )
        return int(row.lastrowid or 0)

    def end_call(self, attempt: int, appointment_id: str, at: float, outcome: str) -> None:
        """The dial's outcome on its attempt row and `reminder.call`, together."""
        self._db.execute(self._end_call, attempt, appointment_id, at, outcome)

    def _end_call(
        self, conn: Connection, attempt: int, appointment_id: str, at: float, outcome: str
    ) -> None:
        conn.execute(
            "UPDATE outbound_attempts SET outcome = ? WHERE id = ? AND outcome = 'dialling'",
            (outcome, attempt),
        )
        audit(
            conn,
            self._db,
            self._actor,
            ("reminder.call", "appointment", appointment_id, outcome, at),
        )

    def confirm(self, appointment_id: str, at: float) -> bool:
        """The callee confirmed: the appointment row records it and the audit log says
        so, in one transaction; False when it is no longer booked (nothing changes)."""
        return self._db.execute(confirm_in, self._db, self._actor, appointment_id, at)

    def audit_result(self, appointment_id: str, result: str, at: float) -> None:
        """What the callee answered (`reminder.<result>`: confirmed, cancelled, ...)."""
        what = (f"reminder.{result}", "appointment", appointment_id, result, at)
        self._db.execute(lambda conn: audit(conn, self._db, self._actor, what))

    def audit_workflow(self, action: str, outcome: str, at: float) -> None:
        """A workflow action taken on a reminder call, as an inbound call's is audited
        (`call.workflow-<action>` on the call, its outcome code as the reason)."""
        what = (f"call.workflow-{action}", "call", self._actor.call_id or "", outcome, at)
        self._db.execute(lambda conn: audit(conn, self._db, self._actor, what))

    def add_dnc(self, number: str, source: str, at: float, dnc_list: str = "internal") -> bool:
        """Put a number on a do-not-call list (audited); False when it was already there."""
        normal = e164(number)
        if normal is None:
            raise OutboundError("outbound-bad-number", "the number is not dialable")
        hashed = number_hash(self._key, normal)
        return self._db.execute(add_dnc_in, self._db, hashed, dnc_list, source, at, self._actor)

    def set_patient_zone(self, patient_id: str, zone: str, at: float) -> None:
        """The zone the patient's record names (audited). Raises outbound-bad-zone."""
        check_zone(zone)
        self._db.execute(set_zone_in, self._db, self._key, patient_id, zone, at, self._actor)

    def consent(self, patient_id: str, number: str) -> ConsentStatus:
        normal = e164(number)
        if normal is None:
            return "none"
        return self._db.query(consent_status, patient_id, number_hash(self._key, normal))

    def consents_of(self, patient_id: str) -> list[ConsentRow] | None:
        """A patient's consents, newest first (None: no such patient)."""
        return self._db.query(consents_of, self._key, patient_id)

    def on_dnc(self, number: str) -> bool:
        normal = e164(number)
        return normal is not None and self._db.query(on_dnc, *number_hashes(self._key, normal))


_HASH = re.compile(r"[0-9a-f]{64}")


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
