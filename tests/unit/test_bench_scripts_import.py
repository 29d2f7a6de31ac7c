"""Every benchmark script in bench/ imports against the product as it is now: a name the
product moved (bench/naive_agent.py imported `llm_api_key` from its old module for a day,
and bench/turn_gap.py could not start its naive pipeline) fails here, not on the next
benchmark run."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__"))
def test_the_bench_script_imports(name: str) -> None:
    importlib.import_module(f"bench.{name}")
