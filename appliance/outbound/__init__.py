"""Outbound appointment reminders under TCPA (issue 19): consent ledger, do-not-call,
calling windows and the reminder planner (docs/outbound.md)."""
