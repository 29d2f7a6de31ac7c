"""The handoff packet: the live conversation state handed to the human who takes over.

Built from the dialogue state when the engine escalates, validated against
`HANDOFF_SCHEMA` (JSON Schema 2020-12, checked with `jsonschema`), stored in the
encrypted store (it holds PHI: the caller's words, name, date of birth), shown on the
admin screen-pop and referenced in the transfer's X-headers. The headers carry only the
handoff id and a PHI-free summary (codes), never what the caller said.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jsonschema  # type: ignore[import-untyped]

from appliance.errors import ApplianceError
from appliance.workflows.state import DialogueState
from appliance.workflows.understander import Understanding

SCHEMA_ID = "appliance.handoff/1"
SUMMARY_MAX = 120  # characters of X-Appliance-Summary (the Refer-To URI stays short on UDP)
_CODE = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,47}$"}
_TEXT = {"type": "string", "maxLength": 500}
_WHEN = {
    "type": "object",
    "properties": {"start": {"type": "string", "format": "date-time"}, "provider": _TEXT},
    "required": ["start", "provider"],
    "additionalProperties": False,
}
HANDOFF_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "Handoff packet (PHI: store encrypted, show only to authorised staff)",
    "type": "object",
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "handoff_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "call_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        "created_at": {"type": "string", "format": "date-time"},
        "reason": _CODE,
        "intent": {"anyOf": [_CODE, {"type": "null"}]},
        "stage": _CODE,
        "summary": {"type": "string", "maxLength": SUMMARY_MAX},
        "caller": {
            "type": "object",
            "properties": {
                "identified": {"type": "boolean"},
                "patient_id": {"type": ["string", "null"]},
                "name": {"type": ["string", "null"]},
                "date_of_birth": {"type": ["string", "null"], "format": "date"},
                "identity_attempts": {"type": "integer", "minimum": 0},
            },
            "required": ["identified", "patient_id", "name", "date_of_birth"],
            "additionalProperties": False,
        },
        "slots": {"type": "object", "additionalProperties": _TEXT},
        "appointment": {"anyOf": [_WHEN, {"type": "null"}]},
        "offered": {"type": "array", "items": _WHEN, "maxItems": 10},
        "chosen": {"anyOf": [_WHEN, {"type": "null"}]},
        "actions": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "properties": {"action": _CODE, "outcome": _CODE},
                "required": ["action", "outcome"],
                "additionalProperties": False,
            },
        },
        "confidences": {
            "type": "object",
            "properties": {
                "understanding": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "lowest": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "source": {"enum": ["llm", "rules", None]},
            },
            "required": ["understanding", "lowest", "source"],
            "additionalProperties": False,
        },
        "flags": {"type": "array", "items": _CODE, "uniqueItems": True},
        "caller_turns": {"type": "integer", "minimum": 0},
    },
    "required": [
        "schema", "handoff_id", "call_id", "created_at", "reason", "intent", "stage",
        "summary", "caller", "slots", "actions", "confidences", "flags",
    ],
    "additionalProperties": False,
}  # fmt: skip
_VALIDATOR = jsonschema.Draft202012Validator(
    HANDOFF_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


@dataclass(slots=True)
class Heard:
    """What the understanding said over the call (kept by WorkflowChat for the packet)."""

    intent: str | None = None  # latest intent other than "other"
    slots: dict[str, str] = field(default_factory=dict)  # PHI: the caller's own words
    confidence: float | None = None
    lowest: float | None = None
    source: str | None = None
    turns: int = 0

    def add(self, u: Understanding) -> None:
        self.turns += 1
        if u.intent.value not in ("other", "inform"):
            self.intent = u.intent.value
        for name, value in u.said.spoken().items():
            self.slots[name] = value[:500]
        self.confidence, self.source = u.confidence, u.source
        self.lowest = u.confidence if self.lowest is None else min(self.lowest, u.confidence)


def validate(packet: Mapping[str, Any]) -> None:
    """Raise ApplianceError "handoff-invalid" naming the failing field (never its value)."""
    error = next(iter(_VALIDATOR.iter_errors(packet)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise ApplianceError("handoff-invalid", f"packet field {where} fails '{error.validator}'")


def build_packet(
    state: DialogueState,
    heard: Heard,
    call_id: str,
    reason: str,
    providers: Mapping[str, str],
    now: float,
) -> dict[str, Any]:
    """The validated packet for the current dialogue state."""
    intent = state.task.value if state.task is not None else heard.intent
    patient = state.patient

    def when(start: datetime, provider_id: str) -> dict[str, str]:
        return {"start": start.isoformat(), "provider": providers.get(provider_id, provider_id)}

    packet: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "handoff_id": uuid.uuid4().hex,
        "call_id": call_id,
        "created_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
        "reason": reason,
        "intent": intent,
        "stage": state.stage.value,
        "summary": summary(reason, intent, state.stage.value),
        "caller": {
            "identified": patient is not None,
            "patient_id": patient.id if patient else None,
            "name": f"{patient.first_name} {patient.last_name}" if patient else None,
            "date_of_birth": patient.birth_date.isoformat() if patient else None,
            "identity_attempts": state.identity_attempts,
        },
        "slots": dict(heard.slots),
        "appointment": (
            when(state.appointment.start, state.appointment.provider_id)
            if state.appointment
            else None
        ),
        "offered": [when(s.start, s.provider_id) for s in state.offered],
        "chosen": when(state.chosen.start, state.chosen.provider_id) if state.chosen else None,
        "actions": [{"action": a.action, "outcome": a.outcome} for a in state.actions][-100:],
        "confidences": {
            "understanding": heard.confidence,
            "lowest": heard.lowest,
            "source": heard.source,
        },
        "flags": sorted(state.flags),
        "caller_turns": heard.turns,
    }
    validate(packet)
    return packet


def summary(reason: str, intent: str | None, stage: str) -> str:
    """PHI-free: codes only (reason, intent, stage)."""
    return f"reason={reason}; intent={intent or 'none'}; stage={stage}"[:SUMMARY_MAX]


def transfer_headers(packet: Mapping[str, Any]) -> dict[str, str]:
    """The X-headers for the REFER: ids and the PHI-free summary (no caller words)."""
    return {
        "X-Appliance-Call": str(packet["call_id"]),
        "X-Appliance-Reason": str(packet["reason"]),
        "X-Appliance-Handoff": str(packet["handoff_id"]),
        "X-Appliance-Summary": str(packet["summary"]),
    }
