"""Which requests the agent may handle now: the live use cases and the agent's kill switch,
read from the store at most every `ttl_s` (one reader per process, shared by its calls).

A change (a kill, a pause, a promotion) therefore reaches the next turn of every call in
progress within `ttl_s`. When the store cannot be read, nothing is live (fail closed:
callers go to the front desk) until it can be again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from appliance.errors import ApplianceError
from appliance.governance.use_cases import AGENT, live_intents, load, states_in
from appliance.store.db import Connection, Database

logger = logging.getLogger(__name__)
TTL_S = 2.0


@dataclass(frozen=True, slots=True)
class Live:
    intents: frozenset[str]  # Intent values of the live use cases
    agent_killed: bool


def _read(conn: Connection) -> Live:
    killed = states_in(conn).get(AGENT, "killed") == "killed"
    return Live(live_intents(load(conn)), killed)


NOTHING = Live(frozenset(), True)


class UseCaseGate:
    def __init__(
        self, db: Database, ttl_s: float = TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db, self._ttl, self._clock = db, ttl_s, clock
        self._live: Live | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def live(self) -> Live:
        """The live intents and the kill switch, at most `ttl_s` old."""
        async with self._lock:
            now = self._clock()
            if self._live is None or now - self._read_at >= self._ttl:
                self._live = await self._fetch()
                self._read_at = now
            return self._live

    async def _fetch(self) -> Live:
        try:
            return await self._db.run_query(_read)
        except ApplianceError as exc:
            logger.error(
                "use cases unreadable: every request goes to the front desk",
                extra={"stage": "governance", "code": exc.code},
            )
            return NOTHING
