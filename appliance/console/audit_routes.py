"""The audit log for the compliance officer: the records (metadata only, no PHI), newest
first, filtered by user or action, and their export as JSON lines. Opening the view is
itself an audit record naming the user (`audit.view`, appended before the records are
read, so the page shows it). The export needs a fresh authenticator code (step-up) and
is an audit record naming the user too (`audit.export`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Response

from appliance.console.accounts import audit
from appliance.console.calls_routes import actor
from appliance.console.guard import (
    GuardedController,
    console_of,
    requires,
    requires_fresh_totp,
    session_of,
)
from appliance.console.pages import HEADERS, page
from appliance.console.roles import Permission
from appliance.store.audit import read_records
from appliance.store.audit_chain import AuditRecord
from appliance.store.db import Connection

AnyRequest = Request[Any, Any, Any]
VIEW = [requires(Permission.VIEW_AUDIT)]
SHOWN = 200  # records on one page
_COLUMNS = (
    "seq, at, actor, actor_role, action, object_type, object_id, outcome, reason_code,"
    " call_id, component, prev_hash, hash"
)


def _records(conn: Connection, user: str, action: str, before: int) -> list[AuditRecord]:
    clauses: list[str] = ["seq < ?"]
    args: list[object] = [before]
    if user:
        clauses.append("actor = ?")
        args.append(user)
    if action:
        clauses.append("action LIKE ? ESCAPE '\\'")
        args.append(action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM audit WHERE {' AND '.join(clauses)}"  # noqa: S608 (constants)
        " ORDER BY seq DESC LIMIT ?",
        (*args, SHOWN),
    ).fetchall()
    return [AuditRecord(*row) for row in rows]


def _view(
    conn: Connection, request: AnyRequest, user: str, action: str, before: int
) -> list[AuditRecord]:
    """The page's records, after appending the view's own record (`audit.view`; the
    filters are not recorded: a user name typed there is not a code)."""
    console = console_of(request)
    filtered = bool(user or action or before < 2**62)
    audit(
        console.db,
        conn,
        actor(request),
        "audit.view",
        object_type="audit-log",
        reason_code="filtered" if filtered else None,
        at=console.now(),
    )
    return _records(conn, user, action, before)


def _export(conn: Connection, request: AnyRequest) -> list[AuditRecord]:
    """Every record, after appending the export's own record (so the file shows it)."""
    console = console_of(request)
    last = conn.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0]
    audit(
        console.db,
        conn,
        actor(request),
        "audit.export",
        object_type="audit-log",
        object_id=f"1-{int(last) + 1}",
        at=console.now(),
    )
    return read_records(conn)


class AuditController(GuardedController):
    @get("/audit", guards=VIEW, sync_to_thread=True)
    def audit_log(
        self,
        request: AnyRequest,
        user: FromQuery[str] = "",
        action: FromQuery[str] = "",
        before: FromQuery[int] = 2**62,
    ) -> Response[str]:
        user, action = user.strip()[:64], action.strip()[:64]
        records = console_of(request).db.execute(_view, request, user, action, before)
        older = records[-1].seq if len(records) == SHOWN else None
        return page(
            "audit.html",
            session=session_of(request),
            records=records,
            user=user,
            action=action,
            older=older,
        )

    @get("/audit/export", guards=[*VIEW, requires_fresh_totp], sync_to_thread=True)
    def export(self, request: AnyRequest) -> Response[bytes]:
        records = console_of(request).db.execute(_export, request)
        body = "".join(
            json.dumps(asdict(r), sort_keys=True, ensure_ascii=False) + "\n" for r in records
        )
        headers = {
            **HEADERS,
            "content-disposition": 'attachment; filename="audit.jsonl"',
        }
        return Response(body.encode("utf-8"), media_type="application/x-ndjson", headers=headers)
