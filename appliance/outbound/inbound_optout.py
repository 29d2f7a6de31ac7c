"""An opt-out said on an inbound call: the caller's number comes off the reminder list.

The inbound session knows the caller only by the keyed hash of their number (the
`caller_key`, appliance.store.pseudonyms); the ledger keeps the same keyed hash of each
number it may dial (appliance.outbound.numbers), so the two meet without the number:
`Ledger.opt_out_caller` revokes every consent in force whose number hashes to the
caller's key (with or without the NANP country code) and lists the key itself as
do-not-call, which the planner and the dialler check against every hash of a number
they would dial. A withheld number (the shared "anonymous" hash) cannot be listed: the
caller is told so and the refusal is audited. Implements appliance.ports.CallerOptOuts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from appliance.domain import CallId
from appliance.outbound import templates as say
from appliance.outbound.ledger import Actor, audit, opt_out_caller_in
from appliance.outbound.optout_phrases import is_opt_out
from appliance.store.db import Connection, Database
from appliance.store.pseudonyms import UNKNOWN, caller_hash

logger = logging.getLogger(__name__)


class InboundOptOuts:
    """The agent plane's opt-out hook over the consent ledger (one per process)."""

    def __init__(
        self, db: Database, hash_key: bytes, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._key = hash_key
        self._clock = clock  # UNIX s
        self._anonymous = caller_hash(hash_key, UNKNOWN)

    async def heard(self, call_id: CallId, caller_key: str, text: str) -> str | None:
        if not is_opt_out(text):
            return None
        actor = Actor("caller", "caller", "agent", call_id)
        at = self._clock()
        if not caller_key or caller_key == self._anonymous:
            await self._db.run(_unmatched, self._db, actor, at)
            logger.info("opt-out without a number", extra={"code": "opt-out-no-number"})
            return say.opt_out_no_number()
        revoked = await self._db.run(opt_out_caller_in, self._db, self._key, caller_key, at, actor)
        logger.info(
            "caller opted out", extra={"code": "opt-out-inbound", "consents_revoked": revoked}
        )
        return say.opted_out_inbound()


def _unmatched(conn: Connection, db: Database, actor: Actor, at: float) -> None:
    audit(conn, db, actor, ("dnc.not-added", "dnc", "anonymous", "opt-out-no-number", at))
