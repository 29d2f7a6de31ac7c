"""The admin's periodic refresh of a metrics board read from the store (the KPIs, WER)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from appliance.errors import ApplianceError

logger = logging.getLogger(__name__)


class Refreshable(Protocol):
    async def refresh_async(self) -> object: ...


async def follow(board: Refreshable, what: str, stop: asyncio.Event, every_s: float) -> None:
    """Refresh `board` every `every_s` until `stop`; a failed refresh is logged (its code
    only) and the last values stay (their timestamp shows their age)."""
    while not stop.is_set():
        try:
            await board.refresh_async()
        except ApplianceError as exc:
            logger.error(f"{what} not refreshed", extra={"code": exc.code})
        except Exception as exc:  # the job outlives a bad refresh; the type only
            logger.error(f"{what} not refreshed", extra={"code": type(exc).__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
