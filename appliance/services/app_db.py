"""The application's store: its whole schema in order, and how the processes open it.

The one place that assembles the migrations of every package that owns tables (store/,
scheduling/, workflows/). Every opener is given this list explicitly (no registration on
import), so a forgotten import cannot silently leave a table out.
"""

from __future__ import annotations

from appliance.config import Settings
from appliance.console.accounts_sql import ACCOUNTS_MIGRATION
from appliance.governance.complaints import COMPLAINTS_MIGRATION
from appliance.governance.config_audit import audit_config
from appliance.governance.edge_refusals import EDGE_REFUSALS_MIGRATION
from appliance.governance.rollout_sql import ROLLOUT_MIGRATION
from appliance.governance.use_cases import USE_CASES_MIGRATION, ensure_built_in
from appliance.outbound.schema import OUTBOUND_MIGRATION
from appliance.quality.audio_store import AUDIO_MIGRATION
from appliance.quality.review import REVIEW_MIGRATION
from appliance.quality.schema import SCORES_MIGRATION
from appliance.quality.wer_store import WER_MIGRATION
from appliance.scheduling.schema import CONFIRMATION_MIGRATION, SCHEDULE_MIGRATION
from appliance.store.bootstrap import open_database
from appliance.store.calls import CallRepository
from appliance.store.db import Database
from appliance.store.migrations import (
    AUDIT_MIGRATION,
    CALLS_MIGRATION,
    CALLS_WORKER_MIGRATION,
    Migration,
)
from appliance.store.spans import SPANS_MIGRATION
from appliance.workflows.handoff_sql import HANDOFF_MIGRATION
from appliance.workflows.kb_versions import KB_VERSIONS_MIGRATION
from appliance.workflows.lockout import LOCKOUT_MIGRATION

# numbered 1, 2, ... as shipped: append only (Database.open refuses a gap or a reordering)
MIGRATIONS: tuple[Migration, ...] = (
    CALLS_MIGRATION,  # 1: calls, turns, call events
    SCHEDULE_MIGRATION,  # 2: the built-in schedule
    AUDIT_MIGRATION,  # 3: audit log and checkpoints, retention marker on turns
    HANDOFF_MIGRATION,  # 4: handoff packets (screen-pop) and caller messages
    LOCKOUT_MIGRATION,  # 5: identity lockout across calls (keyed hashes of numbers)
    CALLS_WORKER_MIGRATION,  # 6: the worker that handles each call (crash recovery)
    ACCOUNTS_MIGRATION,  # 7: console users, enrolment links, sessions
    USE_CASES_MIGRATION,  # 8: use cases, their states and history (governance)
    SCORES_MIGRATION,  # 9: post-call scores, immutable (appliance/quality)
    OUTBOUND_MIGRATION,  # 10: consent ledger, do-not-call, attempts (appliance/outbound)
    SPANS_MIGRATION,  # 11: each ended call's trace (appliance/observability/call_trace)
    KB_VERSIONS_MIGRATION,  # 12: knowledge-base versions, four-eyes (appliance/workflows)
    ROLLOUT_MIGRATION,  # 13: use case checklists and sign-offs (appliance/governance)
    CONFIRMATION_MIGRATION,  # 14: an appointment's confirmation (a reminder call's yes)
    REVIEW_MIGRATION,  # 15: the quality reviewer's queue of unsure judge verdicts
    WER_MIGRATION,  # 16: WER runs and reviewers' transcript corrections (appliance/quality)
    AUDIO_MIGRATION,  # 17: the quality sample's caller audio per turn (appliance/quality)
    COMPLAINTS_MIGRATION,  # 18: calls flagged as complaints, append-only (appliance/governance)
    EDGE_REFUSALS_MIGRATION,  # 19: the SIP edge's refusals of INVITEs per day (governance)
)


def open_store(settings: Settings, worker: int | None = None) -> tuple[Database, CallRepository]:
    """Keys from systemd credentials or key files (dev files made 0400 on first use);
    the repository records `worker` (`agent --worker N`) on the calls it starts.

    The effective configuration's hash is audited (`config.loaded`, and `config.changed`
    when it differs from the last one: appliance/governance/config_audit.py). The
    built-in use cases the store lacks are created (draft, or pilot for the demo clinic:
    appliance/governance/use_cases.py)."""
    db = open_database(settings, MIGRATIONS, create=True)
    try:
        audit_config(db, settings)
        ensure_built_in(db, demo=settings.demo.clinic)
    except BaseException:
        db.close()
        raise
    return db, CallRepository(db, worker)
