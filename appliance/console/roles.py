"""The console's roles and what each may do: the one table (docs/console-roles.md shows it,
and a test keeps the two equal).

Roles follow the governance roles the appliance is built around (DESIGN.md): the voice AI
owner, the platform engineer, the compliance officer, the quality reviewer, the
contact-centre lead, and the front desk who takes the handoffs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from appliance.errors import ConsoleError


class Role(StrEnum):
    OWNER = "owner"
    PLATFORM_ENGINEER = "platform-engineer"
    COMPLIANCE_OFFICER = "compliance-officer"
    QUALITY_REVIEWER = "quality-reviewer"
    CONTACT_CENTRE_LEAD = "contact-centre-lead"
    FRONT_DESK = "front-desk"


class Permission(StrEnum):
    REVIEW_CALLS = "review-calls"  # the calls list, timings, events, scores (no PHI)
    READ_TRANSCRIPTS = "read-transcripts"  # a PHI read, audited per call
    EDIT_KB = "edit-kb"  # propose and approve knowledge-base answers (four-eyes)
    EDIT_SCHEDULE = "edit-schedule"  # providers, appointment types, hours, holidays
    SEE_USE_CASES = "see-use-cases"  # use cases, gates, checklists, sign-offs (no PHI)
    CHANGE_USE_CASES = "change-use-cases"  # request a promotion; pause, kill (step-up)
    SIGN_OFF = "sign-off"  # tick checklist items, approve a promotion (TOTP)
    MANAGE_USERS = "manage-users"  # invite, unlock, disable, change roles
    SCREEN_POP = "screen-pop"  # the live handoff packets (PHI)
    SEE_HEALTH = "see-health"  # components, capacity, stage latencies
    VIEW_AUDIT = "view-audit"  # the audit log and its export
    SEE_REMINDERS = "see-reminders"  # reminder results and plan per day (ids and codes)
    EDIT_CONSENT = "edit-consent"  # a patient's consents and DNC marks by id (step-up)
    FLAG_COMPLAINT = "flag-complaint"  # flag a call as a complaint (the phase gate counts it)


P = Permission
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(
        {
            P.REVIEW_CALLS,
            P.READ_TRANSCRIPTS,
            P.EDIT_KB,
            P.EDIT_SCHEDULE,
            P.SEE_USE_CASES,
            P.CHANGE_USE_CASES,
            P.SIGN_OFF,
            P.MANAGE_USERS,
            P.SEE_HEALTH,
            P.SEE_REMINDERS,
            P.EDIT_CONSENT,
        }
    ),
    Role.PLATFORM_ENGINEER: frozenset({P.REVIEW_CALLS, P.SEE_USE_CASES, P.SIGN_OFF, P.SEE_HEALTH}),
    Role.COMPLIANCE_OFFICER: frozenset(
        {P.REVIEW_CALLS, P.READ_TRANSCRIPTS, P.SEE_USE_CASES, P.SIGN_OFF, P.VIEW_AUDIT}
    ),
    Role.QUALITY_REVIEWER: frozenset({P.REVIEW_CALLS, P.READ_TRANSCRIPTS, P.FLAG_COMPLAINT}),
    Role.CONTACT_CENTRE_LEAD: frozenset(
        {
            P.REVIEW_CALLS,
            P.READ_TRANSCRIPTS,
            P.EDIT_KB,
            P.EDIT_SCHEDULE,
            P.SCREEN_POP,
            P.SEE_REMINDERS,
            P.EDIT_CONSENT,
            P.FLAG_COMPLAINT,
        }
    ),
    Role.FRONT_DESK: frozenset({P.SCREEN_POP}),
}

IDLE_S = 15 * 60.0  # s without a request before a session ends (HIPAA 164.312(a)(2)(iii))
PRIVILEGED_IDLE_S = 10 * 60.0  # s for the roles that administer the appliance (DISA STIG)
PRIVILEGED: frozenset[Role] = frozenset({Role.OWNER, Role.PLATFORM_ENGINEER})
ABSOLUTE_S = 12 * 3600.0  # s a session lasts at most, however active


@dataclass(frozen=True, slots=True)
class Screen:
    path: str
    title: str
    permission: Permission
    ready: bool = False  # served in this release (the others come with their issue)


SCREENS: tuple[Screen, ...] = (
    Screen("/console/calls", "Calls", P.REVIEW_CALLS, ready=True),
    Screen("/console/kb", "Knowledge base", P.EDIT_KB, ready=True),
    Screen("/console/schedule", "Schedule", P.EDIT_SCHEDULE, ready=True),
    Screen("/console/use-cases", "Use cases and sign-offs", P.SEE_USE_CASES, ready=True),
    Screen("/console/users", "Users and roles", P.MANAGE_USERS, ready=True),
    Screen("/console/screenpop", "Screen-pop", P.SCREEN_POP, ready=True),
    Screen("/console/health", "Health and capacity", P.SEE_HEALTH, ready=True),
    Screen("/console/audit", "Audit log", P.VIEW_AUDIT, ready=True),
    Screen("/console/reminders", "Reminders", P.SEE_REMINDERS, ready=True),
    Screen("/console/consent", "Consent", P.EDIT_CONSENT, ready=True),
)


def parse_role(text: str) -> Role:
    """Raises ConsoleError console-bad-role for anything but a role's exact name."""
    try:
        return Role(text)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ConsoleError("console-bad-role", f"unknown role; one of: {known}") from None


def may(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]


def idle_limit_s(role: Role) -> float:
    return PRIVILEGED_IDLE_S if role in PRIVILEGED else IDLE_S


def screens_for(role: Role) -> list[Screen]:
    return [s for s in SCREENS if may(role, s.permission)]
