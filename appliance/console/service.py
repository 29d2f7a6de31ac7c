"""The console's state for the admin app: accounts, sign-in, sessions, the calls screens'
reads and the knowledge-base versions, on one store."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from appliance.config import Settings
from appliance.console.accounts import Accounts, Clock
from appliance.console.calls import CallReader
from appliance.console.consent import ConsentDesk
from appliance.console.kb import KbVersions
from appliance.console.reminders import Reminders
from appliance.console.schedule import ScheduleEditor
from appliance.console.sessions import Sessions
from appliance.console.signin import SignIn
from appliance.governance.promotion import Rules
from appliance.store.db import Database
from appliance.workflows.kb import KnowledgeBase


@dataclass(frozen=True, slots=True)
class Console:
    accounts: Accounts
    signin: SignIn
    sessions: Sessions
    calls: CallReader
    kb: KbVersions
    schedule: ScheduleEditor
    rules: Rules = field(default_factory=Rules)  # the rollout's gates (demo ticks count?)
    reminders: Reminders | None = None  # None: outbound reminders not set up
    consent: ConsentDesk | None = None  # None: outbound reminders not set up

    @classmethod
    def open(
        cls,
        db: Database,
        clock: Clock = time.time,
        kb_base: KnowledgeBase | None = None,
        rules: Rules | None = None,
        reminders: Reminders | None = None,
        consent_key: bytes | None = None,
    ) -> Console:
        """`clock`: UNIX s (tests pass a virtual one); `kb_base`: the KB file's topics
        (appliance.workflows.factory.knowledge_base), the starting point of edits; `rules`:
        the rollout's gates for the use case screens; `reminders`: the reminders screen's
        planner (None: the screen says reminders are not set up); `consent_key`: the
        caller-hash key of the consent screen's ledger (None: not set up)."""
        accounts = Accounts(db, clock)
        return cls(
            accounts,
            SignIn(accounts),
            Sessions(accounts),
            CallReader(db, clock),
            KbVersions(db, clock, kb_base),
            ScheduleEditor(db, clock),
            rules or Rules(),
            reminders,
            None if consent_key is None else ConsentDesk(db, consent_key, clock),
        )

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> Console:
        """The console of a process: the KB screen starts from the configured KB file's
        topics. Raises ConfigError kb-missing, kb-invalid (as the agent would)."""
        from appliance.workflows.factory import knowledge_base

        rules = Rules(settings.governance, accept_demo=settings.demo.clinic)
        reminders = Reminders.from_settings(db, settings) if settings.outbound.enabled else None
        key = None
        if settings.outbound.enabled:
            from appliance.store.bootstrap import audit_key
            from appliance.store.pseudonyms import caller_hash_key

            key = caller_hash_key(audit_key(settings))
        return cls.open(
            db, kb_base=knowledge_base(settings), rules=rules, reminders=reminders, consent_key=key
        )

    @property
    def db(self) -> Database:
        return self.accounts.db

    def now(self) -> float:
        return self.accounts.clock()
