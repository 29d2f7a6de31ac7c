"""Scheduling: the built-in schedule, and resolving spoken dates and times."""
