"""Configuration changes in the audit log.

At start-up each process hashes the effective settings (SHA-256 over the canonical JSON
of the parsed `Settings`: defaults plus the config file). Secrets are never in the
settings (keys and passwords are systemd credentials or files named by path), so the
hash and its inputs are not secret. The hash is compared with the last audited one:

- `config.loaded`: object id = the hash; reason code = `sections=` and a short hash per
  top-level section (so the next change can name the sections that changed);
- `config.changed` (only when the hash differs from the last one audited): object id =
  `<old hash>-><new hash>`, reason code = `sections=<the changed sections>`.

Both are written in one transaction, so concurrent workers starting at once record one
change, not one per process.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import msgspec

from appliance.config import Settings
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection, Database

SECTION_HASH_CHARS = 12  # hex digits per section in config.loaded's reason code


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def config_hash(settings: Settings) -> str:
    """SHA-256 (hex) of the canonical JSON of the parsed settings."""
    return _digest(msgspec.to_builtins(settings))


def section_hashes(settings: Settings) -> dict[str, str]:
    data: dict[str, Any] = msgspec.to_builtins(settings)
    return {name: _digest(value)[:SECTION_HASH_CHARS] for name, value in sorted(data.items())}


def _encode(sections: dict[str, str]) -> str:
    return "sections=" + ",".join(f"{name}:{h}" for name, h in sections.items())


def _decode(reason: str | None) -> dict[str, str]:
    if not reason or not reason.startswith("sections="):
        return {}
    pairs = (item.partition(":") for item in reason.removeprefix("sections=").split(","))
    return {name: h for name, _, h in pairs if name}


def changed_sections(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def audit_config(db: Database, settings: Settings, component: str = "config") -> str | None:
    """Audit `config.loaded`, and `config.changed` when it differs from the last one
    audited; returns the old hash when it changed (None on first start or no change)."""
    return db.execute(_audit, config_hash(settings), section_hashes(settings), component, db)


def _audit(
    conn: Connection, new: str, sections: dict[str, str], component: str, db: Database
) -> str | None:
    last = conn.execute(
        "SELECT object_id, reason_code FROM audit WHERE action = 'config.loaded'"
        " ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    old = str(last[0]) if last else None
    signer, every = db.audit_signer, db.audit_checkpoint_every
    if old is not None and old != new:
        diff = changed_sections(_decode(last[1]), sections)
        event = AuditEvent(
            actor="appliance",
            actor_role="system",
            action="config.changed",
            object_type="config",
            object_id=f"{old}->{new}",
            reason_code="sections=" + ",".join(diff),
            component=component,
        )
        append_audit(conn, event, signer, every)
    loaded = AuditEvent(
        actor="appliance",
        actor_role="system",
        action="config.loaded",
        object_type="config",
        object_id=new,
        reason_code=_encode(sections),
        component=component,
    )
    append_audit(conn, loaded, signer, every)
    return old if old is not None and old != new else None
