"""The console's state for the admin app: accounts, sign-in and sessions on one store."""

from __future__ import annotations

import time
from dataclasses import dataclass

from appliance.console.accounts import Accounts, Clock
from appliance.console.sessions import Sessions
from appliance.console.signin import SignIn
from appliance.store.db import Database


@dataclass(frozen=True, slots=True)
class Console:
    accounts: Accounts
    signin: SignIn
    sessions: Sessions

    @classmethod
    def open(cls, db: Database, clock: Clock = time.time) -> Console:
        """`clock`: UNIX s (tests pass a virtual one)."""
        accounts = Accounts(db, clock)
        return cls(accounts, SignIn(accounts), Sessions(accounts))

    def now(self) -> float:
        return self.accounts.clock()
