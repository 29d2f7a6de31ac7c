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

from dataclasses import replace

from appliance.errors import OutboundError
from appliance.outbound.ledger_model import (
    CONSENT_KINDS,
    CONSENT_SOURCES,
    DNC_LISTS,
    REVOKE_SOURCES,
    Actor,
    ConsentGrant,
    ConsentRow,
    ConsentStatus,
)
from appliance.outbound.ledger_sql import (
    HASH,
    _revoke_rows,
    add_dnc_in,
    audit,
    check_zone,
    confirm_in,
    consent_status,
    consents_of,
    insert_grant,
    on_dnc,
    opt_out_caller_in,
    opt_out_in,
    set_zone_in,
)
from appliance.outbound.numbers import e164, number_hash, number_hashes
from appliance.store.db import Connection, Database

__all__ = [
    "CONSENT_KINDS",
    "CONSENT_SOURCES",
    "DNC_LISTS",
    "REVOKE_SOURCES",
    "Actor",
    "ConsentGrant",
    "ConsentRow",
    "ConsentStatus",
    "Ledger",
    "add_dnc_in",
    "audit",
    "check_zone",
    "consent_status",
    "insert_grant",
    "on_dnc",
    "opt_out_caller_in",
    "set_zone_in",
]  # fmt: skip


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
        if not HASH.fullmatch(caller_key):
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
