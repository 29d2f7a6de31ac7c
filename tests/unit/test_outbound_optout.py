"""The in-call opt-out phrase matcher: a table, negation-aware (issue 19, part 1)."""

from __future__ import annotations

import pytest

from appliance.outbound.optout_phrases import is_opt_out

pytestmark = pytest.mark.unit

TABLE = [
    # (what the callee said, whether it is an opt-out)
    ("Stop calling me.", True),
    ("Please stop calling me", True),
    ("stop calling this number", True),
    ("Take me off your list.", True),
    ("Can you take me off your calling list?", True),
    ("Please remove my number from your list", True),
    ("Put me on your do not call list.", True),
    ("Add this number to the do not call list please", True),
    ("Don't call me again.", True),
    ("Do not call this number.", True),
    ("Don't ever call me again", True),
    ("Never call me again!", True),
    ("No more calls please.", True),
    ("I'd like to stop getting these calls", True),
    ("I don't want any more calls.", True),
    ("Unsubscribe", True),
    ("I want to opt out.", True),
    ("No, stop calling me.", True),
    ("Not now. Take me off your list.", True),
    ("I'm not sure, but take me off your list", True),
    ("Why don't you just stop calling me?", True),
    ("Can't you take me off your list?", True),
    ("STOP CALLING ME", True),
    ("Stop calling me\u2014I mean it, stop calling me", True),
    ("Don't stop calling me.", False),
    ("Please don't take me off your list", False),
    ("I didn't say stop calling me.", False),
    ("I never asked you to take me off your list.", False),
    ("I don't want you to stop calling me", False),
    ("I would never ask you to stop calling me", False),
    ("There is no need to stop calling me", False),
    ("Do not take me off the list", False),
    ("I don't want to opt out", False),
    ("Yes, I'll be there.", False),
    ("Stop, let me find my calendar.", False),
    ("Please call me back later", False),
    ("Keep calling me with reminders, they help", False),
    ("Take me off hold", False),
    ("Remove me from the waitlist", False),
    ("Is this the do not call list?", False),
    ("", False),
]


@pytest.mark.parametrize(("said", "expected"), TABLE)
def test_opt_out_phrases(said: str, expected: bool) -> None:
    assert is_opt_out(said) is expected


def test_the_table_covers_both_sides() -> None:
    assert len(TABLE) >= 30
    assert sum(e for _, e in TABLE) >= 15 and sum(not e for _, e in TABLE) >= 15
