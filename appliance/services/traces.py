"""The agent's trace sink: each ended call's spans into the encrypted store."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from appliance.domain import CallId, SessionEvent
from appliance.errors import ApplianceError
from appliance.observability.call_trace import AgentInfo, call_spans
from appliance.store.db import Database
from appliance.store.spans import SpanStore

logger = logging.getLogger(__name__)


class StoredTraces:
    """`TraceSink` over the store: build the call's spans, keep them; never raises."""

    def __init__(self, db: Database, agent: AgentInfo) -> None:
        self._spans, self._agent = SpanStore(db), agent

    async def record(self, call_id: CallId, events: Sequence[SessionEvent]) -> None:
        try:
            await self._spans.add(call_id, call_spans(events, self._agent))
        except ApplianceError as exc:
            extra = {"call_id": call_id, "stage": "trace", "code": exc.code}
            logger.error("call trace not stored", extra=extra)
        except Exception as exc:  # a trace never fails a call that has already ended
            extra = {"call_id": call_id, "stage": "trace", "error": type(exc).__name__}
            logger.error("call trace not built", extra=extra)
