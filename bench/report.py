"""What every benchmark writes: how and where it ran, and its JSON result file."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def run_info() -> dict[str, Any]:
    """The command, the time (UTC) and the host (CPU count, load average) of this run."""
    return {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()},
    }


def write_result(out: Path, name: str, result: dict[str, Any]) -> Path:
    """Write `result` to `out`/<name>-<UTC time>.json; returns the path."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"{name}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
