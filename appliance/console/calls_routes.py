"""The calls screens: the list (filters: dates, outcome, escalation reason, score verdict,
use case), a call's page (stage timings, events, escalation reasons, scores: metadata, no
PHI), and its transcript with the handoff packets (PHI: only for roles that may read
transcripts, each view audited as `phi.read` naming the user before it is shown). On the
call's page, a quality reviewer or contact-centre lead may flag the call as a complaint
(CSRF; a reason code from a fixed list; append-only and audited naming the user:
appliance/governance/complaints.py). On the transcript, turns of the quality audio
sample have a player (`/calls/<id>/audio/<seq>`: WAV, each play audited as `phi.read`)
and a correction form (CSRF) whose text is stored as the reviewer's correction for the
weekly WER (appliance/console/turn_audio.py)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response

from appliance.console.accounts import Actor
from appliance.console.calls import IN_PROGRESS, VERDICTS, CallFilter, packet_fields
from appliance.console.guard import (
    GuardedController,
    check_csrf,
    console_of,
    requires,
    session_of,
)
from appliance.console.pages import HEADERS, page
from appliance.console.roles import Permission, may
from appliance.console.routes import Form
from appliance.console.turn_audio import correct, play, sampled
from appliance.console.waterfall import call_bars
from appliance.errors import ApplianceError, ConsoleError
from appliance.governance.complaints import REASONS as COMPLAINT_REASONS
from appliance.governance.complaints import flags_of, store_flag

AnyRequest = Request[Any, Any, Any]
REVIEW = [requires(Permission.REVIEW_CALLS)]
TRANSCRIPT = [requires(Permission.READ_TRANSCRIPTS)]
FLAG = [requires(Permission.FLAG_COMPLAINT)]
_CODE = re.compile(r"[a-z][a-z-]{0,39}")  # an error code shown back on the transcript


def actor(request: AnyRequest) -> Actor:
    session = session_of(request)
    return Actor(session.name, session.role.value)


def _not_found(request: AnyRequest) -> Response[str]:
    return page(
        "message.html",
        404,
        session=session_of(request),
        heading="No such call",
        text="The store has no call with that id (it may have been purged).",
    )


class CallsController(GuardedController):
    @get("/calls", guards=REVIEW, sync_to_thread=True)
    def calls(
        self,
        request: AnyRequest,
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        outcome: FromQuery[str] = "",
        reason: FromQuery[str] = "",
        verdict: FromQuery[str] = "",
        use_case: FromQuery[str] = "",
    ) -> Response[str]:
        reader = console_of(request).calls
        wanted = CallFilter(since, until, outcome, reason, verdict, use_case)
        # the filter form's htmx request swaps only the table; without script, the page
        fragment = request.headers.get("hx-request") == "true"
        return page(
            "calls_table.html" if fragment else "calls.html",
            session=session_of(request),
            calls=reader.calls(wanted),
            choices=reader.choices(),
            wanted=wanted.clean(),
            verdicts=VERDICTS,
            in_progress=IN_PROGRESS,
        )

    @get("/calls/{call_id:str}", guards=REVIEW, sync_to_thread=True)
    def call(
        self, request: AnyRequest, call_id: FromPath[str], error: FromQuery[str] = ""
    ) -> Response[str]:
        detail = console_of(request).calls.detail(call_id)
        if detail is None:
            return _not_found(request)
        session = session_of(request)
        return page(
            "call.html",
            session=session,
            call=detail,
            bars=call_bars(console_of(request).db, call_id),
            may_read=may(session.role, Permission.READ_TRANSCRIPTS),
            may_flag=may(session.role, Permission.FLAG_COMPLAINT),
            flags=console_of(request).db.query(flags_of, call_id),
            reasons=COMPLAINT_REASONS,
            error=error if _CODE.fullmatch(error) else "",
        )

    @post("/calls/{call_id:str}/complaint", guards=FLAG, sync_to_thread=True)
    def complaint(self, request: AnyRequest, call_id: FromPath[str], data: Form) -> Redirect:
        """Flag the call as a complaint (append-only, audited naming the user); back to
        the call's page (with the code of a refusal)."""
        check_csrf(session_of(request), data)
        back = f"/console/calls/{quote(call_id, safe='')}"
        who = actor(request)
        try:
            store_flag(
                console_of(request).db,
                call_id,
                data.get("reason", ""),
                (who.name, who.role, who.component),
            )
        except ApplianceError as exc:
            return Redirect(f"{back}?error={quote(exc.code)}", status_code=303, headers=HEADERS)
        return Redirect(f"{back}#complaint", status_code=303, headers=HEADERS)

    @get("/calls/{call_id:str}/transcript", guards=TRANSCRIPT, sync_to_thread=True)
    def transcript(
        self,
        request: AnyRequest,
        call_id: FromPath[str],
        corrected: FromQuery[str] = "",
        error: FromQuery[str] = "",
    ) -> Response[str]:
        console = console_of(request)
        detail = console.calls.detail(call_id)
        if detail is None:
            return _not_found(request)
        turns, packets = console.calls.transcript(call_id, actor(request))  # audited first
        return page(
            "transcript.html",
            session=session_of(request),
            call=detail,
            turns=turns,
            packets=[(p, packet_fields(p)) for p in packets],
            sampled=sampled(console.db, call_id),
            corrected=corrected if corrected.isdigit() else "",
            error=error if _CODE.fullmatch(error) else "",
        )

    @get("/calls/{call_id:str}/audio/{seq:int}", guards=TRANSCRIPT, sync_to_thread=True)
    def audio(
        self, request: AnyRequest, call_id: FromPath[str], seq: FromPath[int]
    ) -> Response[Any]:
        console = console_of(request)
        wav = play(console.db, call_id, seq, actor(request), console.now)  # audited first
        if wav is None:
            return _not_found(request)
        return Response(wav, media_type="audio/wav", headers=HEADERS)

    @post("/calls/{call_id:str}/correct", guards=TRANSCRIPT, sync_to_thread=True)
    def correction(self, request: AnyRequest, call_id: FromPath[str], data: Form) -> Redirect:
        """Store the correction, then back to the transcript (its turn, or the code)."""
        check_csrf(session_of(request), data)
        back = f"/console/calls/{quote(call_id, safe='')}/transcript"
        try:
            seq = correct(
                console_of(request).db,
                call_id,
                data.get("seq", ""),
                data.get("text", ""),
                actor(request),
            )
        except ConsoleError as exc:
            return Redirect(f"{back}?error={quote(exc.code)}", status_code=303, headers=HEADERS)
        return Redirect(f"{back}?corrected={seq}#turn-{seq}", status_code=303, headers=HEADERS)
