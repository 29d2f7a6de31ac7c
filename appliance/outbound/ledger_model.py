"""The consent ledger's records: who changes it, a consent given, a consent as shown, and
the closed vocabularies (kinds, sources, lists)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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
