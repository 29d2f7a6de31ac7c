"""Doctor findings and the report: readable text plus JSON; failures vs warnings."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Finding:
    group: str  # host | storage | gpu | models | keys | time | network
    name: str
    status: Status
    detail: str = ""  # short, PHI-free

    @property
    def line(self) -> str:
        return f"  [{self.status.upper():4}] {self.group:8} {self.name}" + (
            f": {self.detail}" if self.detail else ""
        )


def ok(group: str, name: str, detail: str = "") -> Finding:
    return Finding(group, name, "ok", detail)


def warn(group: str, name: str, detail: str) -> Finding:
    return Finding(group, name, "warn", detail)


def fail(group: str, name: str, detail: str) -> Finding:
    return Finding(group, name, "fail", detail)


@dataclass(slots=True)
class Report:
    profile: str  # cpu | gpu
    host: str = field(default_factory=platform.node)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    findings: list[Finding] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for f in self.findings if f.status == status)

    @property
    def passed(self) -> bool:
        """No failures (warnings do not fail the preflight)."""
        return self.count("fail") == 0

    def to_dict(self) -> dict[str, object]:
        return {
            "host": self.host,
            "started": self.started,
            "profile": self.profile,
            "passed": self.passed,
            "failures": self.count("fail"),
            "warnings": self.count("warn"),
            "findings": [asdict(f) for f in self.findings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        lines = [f"Appliance preflight for {self.host} at {self.started} ({self.profile} profile)"]
        lines += [f.line for f in self.findings]
        verdict = "PASS" if self.passed else "FAIL"
        lines.append(
            f"RESULT: {verdict} ({self.count('fail')} failures, {self.count('warn')} warnings)"
        )
        return "\n".join(lines)
