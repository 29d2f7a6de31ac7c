"""The application's store as the processes open it (agent, supervisor, admin, CLI).

Above store/ and governance/: it audits the effective configuration on every open.
"""

from __future__ import annotations

from appliance.config import Settings
from appliance.governance.config_audit import audit_config
from appliance.store.bootstrap import open_database
from appliance.store.calls import CallRepository
from appliance.store.db import Database


def open_store(settings: Settings) -> tuple[Database, CallRepository]:
    """Keys from systemd credentials or key files (dev files made 0400 on first use).

    The effective configuration's hash is audited (`config.loaded`, and `config.changed`
    when it differs from the last one: appliance/governance/config_audit.py)."""
    db = open_database(settings, create=True)
    try:
        audit_config(db, settings)
    except BaseException:
        db.close()
        raise
    return db, CallRepository(db)
