"""The labelled multi-turn dialogues through the clinic agent on the demo clinic: every
dialogue in the tune and the held-out files reaches its expected outcome (booked in the
store, transferred with its reason, answered from the KB, ...). The rules alone decide
here (`llm_intents = "never"`), so a failure is the code's; bench/understanding.py and
bench/turn_gap.py measure the default path with the LLM on ties."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dialogue_runner import DialogueRun, load

pytestmark = pytest.mark.integration

CASES = [
    pytest.param(now, dialogue, id=f"{part}:{dialogue['id']}")
    for part, name in (("tune", "dialogues_tune.toml"), ("held-out", "dialogues_heldout.toml"))
    for now, dialogues in [load(name)]
    for dialogue in dialogues
]


@pytest.mark.parametrize(("now", "dialogue"), CASES)
async def test_dialogue_reaches_its_outcome(tmp_path: Path, now: Any, dialogue: Any) -> None:
    out = await DialogueRun(tmp_path / "d.db", now, None, "never").run(dialogue["turns"])
    wrong = out.matches(dialogue["expect"])
    transcript = "\n".join(
        f"  caller: {c}\n  agent:  {a}" for c, a in zip(dialogue["turns"], out.replies)
    )
    got = {k: getattr(out, k) for k in dialogue["expect"]}
    assert not wrong, f"{wrong} differ: got {got}\n{transcript}"
