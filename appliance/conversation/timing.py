"""Deadlines on the session's Clock (never the event loop's), so tests run on virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from appliance.errors import ApplianceError
from appliance.ports import Clock

T = TypeVar("T")


async def within(clock: Clock, seconds: float, work: Awaitable[T], error: ApplianceError) -> T:
    """Await `work`, raising `error` if it takes longer than `seconds` on `clock`.

    On cancellation or timeout the work is cancelled and awaited, so nothing is left running.
    """
    task = asyncio.ensure_future(work)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, timer):
            if not pending.done():
                pending.cancel()
        await asyncio.gather(task, timer, return_exceptions=True)
    if task.cancelled() and timer.done() and not timer.cancelled():
        raise error
    return task.result()


async def paced(
    clock: Clock, items: AsyncIterator[T], gap_s: float, error: ApplianceError
) -> AsyncIterator[T]:
    """Re-yield `items`, raising `error` if any single item takes longer than `gap_s`."""
    iterator = aiter(items)
    while True:
        try:
            item = await within(clock, gap_s, anext(iterator), error)
        except StopAsyncIteration:
            return
        yield item
