"""attended_transfer's whisper step with scripted legs (the SIP path itself is covered by
tests/integration/test_sip_transfer_whisper.py): a whisper that does not go out in time
is cut and the transfer goes on; a desk that hangs up during it fails the transfer
without a REFER; the whisper is played only on the consultation leg."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from appliance.audio import AudioChunk
from appliance.sip import attended
from appliance.sip.transfer import TransferResult

pytestmark = pytest.mark.unit

WHISPER = [AudioChunk(b"\x10\x00" * 1600, 16_000)]  # 0.1 s


class Leg:
    """A call leg: `drain_s` until queued audio has gone out (None: never), `hangs_up`
    ends it as soon as audio is queued."""

    def __init__(self, drain_s: float | None = 0.0, hangs_up: bool = False) -> None:
        self.call_id = "leg"
        self.ended, self.status_code = False, None
        self.drain_s, self.hangs_up = drain_s, hangs_up
        self.played: list[AudioChunk] = []
        self.stopped = 0
        self.referred = False

    async def wait_answered(self, within: float) -> bool:
        return True

    async def play(self, chunk: AudioChunk) -> None:
        self.played.append(chunk)
        self.ended = self.ended or self.hangs_up

    async def drain(self) -> float | None:
        if self.drain_s is None:
            await asyncio.Event().wait()
        await asyncio.sleep(self.drain_s or 0.0)
        return None

    def stop_playback(self) -> None:
        self.stopped += 1

    async def hangup(self) -> None:
        self.ended = True

    async def refer_and_wait(self, send: Any, within: float) -> TransferResult:
        await send()
        self.referred = True
        return TransferResult(True, 200, "answered")


async def transfer(caller: Leg, desk: Leg, whisper: Any = WHISPER) -> tuple[TransferResult, list]:
    told: list[bool] = []

    async def place(uri: str, headers: dict[str, str]) -> Any:
        return desk

    async def replaces(leg: Any) -> None:
        assert leg is desk

    result = await attended.attended_transfer(
        caller, place, replaces, "sip:desk@127.0.0.1", {}, 1.0, 1.0, whisper, told.append
    )
    return result, told


async def test_the_whisper_goes_to_the_desk_only_then_the_caller_is_referred() -> None:
    caller, desk = Leg(), Leg()
    result, told = await transfer(caller, desk)
    assert result.ok and told == [True] and caller.referred
    assert desk.played == WHISPER and not caller.played


async def test_a_whisper_future_is_awaited_once_the_desk_answers() -> None:
    caller, desk = Leg(), Leg()
    future: asyncio.Future[list[AudioChunk]] = asyncio.get_running_loop().create_future()
    future.set_result(WHISPER)
    result, told = await transfer(caller, desk, future)
    assert result.ok and told == [True] and desk.played == WHISPER


async def test_a_stuck_whisper_is_cut_and_the_transfer_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attended, "WHISPER_SLACK_S", 0.05)
    caller, desk = Leg(), Leg(drain_s=None)
    result, told = await asyncio.wait_for(transfer(caller, desk), 5)
    assert result.ok and told == [False] and desk.stopped == 1 and caller.referred


async def test_a_desk_hanging_up_during_the_whisper_fails_without_a_refer() -> None:
    caller, desk = Leg(), Leg(hangs_up=True)
    result, told = await transfer(caller, desk)
    assert result == TransferResult(False, None, "failed") and told == [False]
    assert not caller.referred and not caller.ended  # the caller stays with the agent


async def test_an_empty_whisper_plays_nothing() -> None:
    caller, desk = Leg(), Leg()
    result, told = await transfer(caller, desk, [])
    assert result.ok and told == [] and not desk.played
