"""The consent screen for the contact-centre lead and the owner: one patient's consents
(looked up by patient id only: no name search, no listing) and do-not-call marks, and the
three changes the desk makes (record a consent taken at the front desk, revoke one, put a
number on the internal do-not-call list). Each change goes through the ledger's own
audited methods (appliance.outbound.ledger) with an actor naming the console user; this
module writes no SQL. Pages show a number's last 4 digits only, never a name. The routes:
appliance.console.consent_routes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.console.accounts import Actor, Clock
from appliance.errors import ConsoleError
from appliance.outbound.ledger import CONSENT_KINDS, ConsentGrant, ConsentRow, Ledger
from appliance.outbound.ledger import Actor as LedgerActor
from appliance.outbound.numbers import e164
from appliance.store.db import Database

PATIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True, slots=True)
class ConsentDesk:
    db: Database
    key: bytes  # the caller-hash key (appliance.store.pseudonyms.caller_hash_key)
    clock: Clock

    def _ledger(self, by: Actor) -> Ledger:
        return Ledger(self.db, self.key, LedgerActor(by.name, by.role, "console"))

    def consents(self, patient_id: str) -> list[ConsentRow]:
        """A patient's consents, newest first. Raises ConsoleError consent-bad-patient,
        consent-unknown-patient."""
        if not PATIENT_ID.fullmatch(patient_id):
            raise ConsoleError("consent-bad-patient", "a patient id is letters, digits, . _ -")
        rows = Ledger(self.db, self.key).consents_of(patient_id)
        if rows is None:
            raise ConsoleError("consent-unknown-patient", "no patient has that id")
        return rows

    def record(self, patient_id: str, number: str, kind: str, by: Actor) -> bool:
        """A consent taken at the front desk, now; False when already in force. Raises
        ConsoleError consent-unknown-patient, consent-bad-number, consent-bad-type."""
        self.consents(patient_id)
        if kind not in CONSENT_KINDS:
            raise ConsoleError("consent-bad-type", "the type is prior-express or written")
        normal = _number(number)
        grant = ConsentGrant(patient_id, normal, kind, "front-desk", self.clock())
        return self._ledger(by).grant(grant)

    def revoke(self, patient_id: str, consent_id: str, by: Actor) -> int:
        """Revoke the patient's consents for the number of one of their consent rows (source
        `console`); the count revoked. Raises ConsoleError consent-unknown-patient,
        consent-no-consent (not one of this patient's consents in force)."""
        rows = self.consents(patient_id)
        row = next((r for r in rows if str(r.consent_id) == consent_id), None)
        if row is None or row.revoked_at is not None:
            raise ConsoleError("consent-no-consent", "no consent in force with that id")
        return self._ledger(by).revoke(patient_id, row.number, "console", self.clock())

    def add_dnc(self, number: str, by: Actor) -> bool:
        """Put a number on the internal do-not-call list; False when already there. Raises
        ConsoleError consent-bad-number."""
        return self._ledger(by).add_dnc(_number(number), "console", self.clock())


def _number(text: str) -> str:
    normal = e164(text[:40])
    if normal is None:
        raise ConsoleError("consent-bad-number", "that is not a dialable phone number")
    return normal
