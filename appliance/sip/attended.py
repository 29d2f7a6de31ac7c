"""Attended transfer: a consultation call to the front desk, then REFER with Replaces.

1. The agent places a consultation call to the desk (an outbound leg). Its INVITE
   carries the X-headers (handoff id, short summary), so the desk's phone or screen-pop
   shows them before anyone picks up. The caller stays connected to the agent meanwhile
   (the agent plane tells them to hold on; no SIP hold, so the caller never hears
   nothing at all).
2. Not answered (busy, declined, no answer within `ring_s`): the caller is still with
   the agent and the result says why (e.g. 486: "the front desk is busy").
3. Answered: the agent sends the caller's side a REFER whose Refer-To names the desk with
   `Replaces=<the consultation dialog>` (RFC 3891; pjsua's `xferReplaces`). The caller's
   phone or PBX then sends the desk an INVITE with Replaces, which takes the
   consultation's place at the desk. The final NOTIFY (sipfrag, RFC 3515) settles the
   outcome: 2xx -> the agent leaves both calls; otherwise it ends the consultation and
   keeps the caller.

Between 2 and 3, if given, a whisper (one sentence about the caller, no PHI: see
appliance/conversation/flows/whisper.py) is played to the desk on the consultation leg only, so the
human knows who is coming before the caller is bridged. A whisper never blocks the
transfer: playback that has not gone out within its length plus WHISPER_SLACK_S is cut.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from appliance.audio import AudioChunk
from appliance.errors import TelephonyError
from appliance.ports import Whisper
from appliance.sip.transfer import TransferResult, check_x_headers

if TYPE_CHECKING:
    from appliance.sip.call import PjsipCall

logger = logging.getLogger(__name__)

Place = Callable[[str, dict[str, str]], Awaitable["PjsipCall"]]  # (uri, X-headers) -> leg
ReferReplaces = Callable[["PjsipCall"], Awaitable[None]]  # REFER naming that leg's dialog
Whispered = Callable[[bool], None]  # told whether the whisper went out in full (False: cut)
WHISPER_SLACK_S = 2.0  # s beyond the whisper's own length before its playback is cut


def _failed(status: int | None) -> str:
    return "refused" if status is not None and status >= 400 else "failed"


async def attended_transfer(
    call: PjsipCall,
    place: Place,
    refer_replaces: ReferReplaces,
    uri: str,
    headers: dict[str, str],
    ring_s: float,
    within: float,
    whisper: Whisper | None = None,
    whispered: Whispered | None = None,
) -> TransferResult:
    """Consult `uri`, whisper to it, then hand `call` over to it; see the module docstring."""
    headers = check_x_headers(headers)
    try:
        consult = await place(uri, headers)
    except TelephonyError as exc:
        logger.warning(
            "consultation call not placed",
            extra={"stage": "telephony", "call_id": call.call_id, "code": exc.code},
        )
        return TransferResult(False, None, "failed")
    unanswered = await _ring(call, consult, ring_s)
    if unanswered is not None:
        return unanswered
    audio = await whisper_audio(whisper)
    if audio:
        complete = await play_whisper(consult, audio)
        if whispered is not None:
            whispered(complete)
        if call.ended or consult.ended:  # either side hung up while the desk listened
            await consult.hangup()
            return TransferResult(False, None, "call-ended" if call.ended else "failed")
    result = await call.refer_and_wait(lambda: refer_replaces(consult), within)
    if not consult.ended:  # on success the desk's Replaces has usually ended it already
        await consult.hangup()
    logger.info(
        "attended transfer",
        extra={
            "stage": "telephony",
            "call_id": call.call_id,
            "consult_call_id": consult.call_id,
            "ok": result.ok,
            "code": result.status,
            "reason": result.reason,
        },
    )
    return result


async def _ring(call: PjsipCall, consult: PjsipCall, ring_s: float) -> TransferResult | None:
    """Wait for the desk to answer; the failed transfer's result if it did not (or if the
    caller hung up meanwhile), None when the desk answered."""
    answered = await consult.wait_answered(ring_s)
    if answered and not call.ended:
        return None
    await consult.hangup()
    if call.ended:
        return TransferResult(False, None, "call-ended")
    if consult.status_code is None or consult.status_code < 300:
        return TransferResult(False, None, "timeout")  # still ringing: we cancelled
    return TransferResult(False, consult.status_code, _failed(consult.status_code))


async def whisper_audio(whisper: Whisper | None) -> Sequence[AudioChunk]:
    """The whisper's audio, waiting for it if it is still being synthesized ([]: none)."""
    if whisper is None:
        return []
    return whisper if isinstance(whisper, Sequence) else await whisper


async def play_whisper(consult: PjsipCall, whisper: Sequence[AudioChunk]) -> bool:
    """Play `whisper` to the desk; True if it went out in full, False if it was cut."""
    for chunk in whisper:
        await consult.play(chunk)
    limit = sum(chunk.duration for chunk in whisper) + WHISPER_SLACK_S
    try:
        await asyncio.wait_for(consult.drain(), limit)
    except TimeoutError:
        consult.stop_playback()
        logger.warning(
            "whisper cut short",
            extra={"stage": "telephony", "call_id": consult.call_id, "code": "whisper-timeout"},
        )
        return False
    return not consult.ended
