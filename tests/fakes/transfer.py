"""Scripted transfers on virtual time (unit tests only): a FakeCall that can be handed to
the front desk blind (`transfer`) or attended (`attended_transfer`, with a whisper that
the fake desk "hears" in virtual time before the caller is bridged)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from appliance.audio import AudioChunk
from appliance.ports import Whisper
from appliance.sip.attended import whisper_audio
from appliance.sip.transfer import TransferResult
from tests.fakes import FakeCall


class TransferringCall(FakeCall):
    """The desk rings for `ring_s` (virtual) and then answers with `status` (>= 300: it
    refused, e.g. 486 busy, and the caller stays). Attended: the desk then hears the
    whisper in real (virtual) time before the caller is bridged."""

    def __init__(self, *args: Any, status: int, ring_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status, self.ring_s = status, ring_s
        self.transfers: list[tuple[str, dict[str, str]]] = []  # blind
        self.consultations: list[tuple[str, dict[str, str]]] = []  # attended
        self.desk_heard: list[AudioChunk] = []  # the whisper, on the consultation leg
        self.whispered_at: float | None = None  # monotonic s when the whisper ended
        self.bridged_at: float | None = None  # monotonic s of the REFER (with Replaces)
        self.played_before_answer = 0  # chunks queued for the caller while the desk rang

    async def transfer(
        self, uri: str, headers: dict[str, str] | None = None, within: float = 20.0
    ) -> TransferResult:
        self.transfers.append((uri, dict(headers or {})))
        return await self._ring_and_bridge()

    async def attended_transfer(
        self,
        uri: str,
        headers: dict[str, str] | None = None,
        ring_s: float = 20.0,
        within: float = 20.0,
        whisper: Whisper | None = None,
        whispered: Callable[[bool], None] | None = None,
    ) -> TransferResult:
        self.consultations.append((uri, dict(headers or {})))
        await self._clock.sleep(min(self.ring_s, ring_s))
        if self.ring_s > ring_s:
            return TransferResult(False, None, "timeout")
        if self.status >= 300:
            return TransferResult(False, self.status, "refused")
        audio = await whisper_audio(whisper)
        if audio:
            self.desk_heard.extend(audio)
            await self._clock.sleep(sum(chunk.duration for chunk in audio))
            self.whispered_at = self._clock.monotonic()
            if whispered is not None:
                whispered(True)
        return await self._ring_and_bridge(ring=False)

    async def _ring_and_bridge(self, ring: bool = True) -> TransferResult:
        if ring:
            await self._clock.sleep(self.ring_s)
        self.played_before_answer = len(self.played)
        self.bridged_at = self._clock.monotonic()
        ok = 200 <= self.status < 300
        if ok:
            self.hung_up = True
        return TransferResult(ok, self.status, "answered" if ok else "refused")
