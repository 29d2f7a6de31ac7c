"""Health beacons: each unit's health and local metrics reach the admin, and a silent unit
is down (missing, dead or hung), on a virtual clock."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from appliance.observability.beacon_board import BeaconBoard
from appliance.observability.beacons import (
    STALE_S,
    BeaconWriter,
    Sample,
    parse_beacon,
    registry_samples,
)
from appliance.observability.health import Health


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def agent_writer(folder: Path, index: int = 0) -> tuple[BeaconWriter, Health]:
    health = Health()
    name = f"agent-{index}"
    health.set(name, True, "listening on 127.0.0.1:5070")
    health.set("stt", True, "tiny.en on cpu")
    return BeaconWriter(folder, name, health, prefix=True), health


def statuses(health: Health) -> dict[str, tuple[bool, str]]:
    return {n: (s.ok, s.detail) for n, s in health.components().items()}


def test_a_component_that_never_reported_is_down(tmp_path: Path) -> None:
    health = Health()
    board = BeaconBoard(tmp_path, ["sip-edge", "agent-0"], health, Clock())
    board.refresh()
    found = statuses(health)
    assert found["sip-edge"] == (False, f"no report in {tmp_path}")
    assert found["agent-0"][0] is False and not health.healthy()


def test_a_fresh_beacon_brings_its_statuses_with_the_component_prefix(tmp_path: Path) -> None:
    clock, health = Clock(), Health()
    writer, _ = agent_writer(tmp_path)
    writer.write(now=clock.now - 3)
    BeaconBoard(tmp_path, ["agent-0"], health, clock).refresh()
    assert statuses(health) == {
        "agent-0": (True, "listening on 127.0.0.1:5070"),
        "agent-0-stt": (True, "tiny.en on cpu"),
    }
    assert (tmp_path / "agent-0.json").stat().st_mode & 0o777 == 0o644


def test_a_stale_beacon_is_down_and_its_statuses_go(tmp_path: Path) -> None:
    clock, health = Clock(), Health()
    writer, _ = agent_writer(tmp_path)
    board = BeaconBoard(tmp_path, ["agent-0"], health, clock)
    writer.write(now=clock.now)
    board.refresh()
    assert health.healthy()
    clock.now += STALE_S + 5  # the worker died (kill -9) or its loop hangs
    board.refresh()
    found = statuses(health)
    assert set(found) == {"agent-0"}  # "agent-0-stt ok" does not linger
    ok, detail = found["agent-0"]
    assert not ok and detail.startswith("no report for 20 s (pid ")


def test_a_beacon_from_the_future_or_for_another_component_does_not_count(
    tmp_path: Path,
) -> None:
    clock, health = Clock(), Health()
    writer, _ = agent_writer(tmp_path)
    writer.write(now=clock.now + 3600)  # a clock stepped back after it was written
    (tmp_path / "sip-edge.json").write_text((tmp_path / "agent-0.json").read_text())
    BeaconBoard(tmp_path, ["agent-0", "sip-edge"], health, clock).refresh()
    assert not health.components()["agent-0"].ok
    assert not health.components()["sip-edge"].ok


def test_a_clean_stop_says_so(tmp_path: Path) -> None:
    health = Health()
    writer, _ = agent_writer(tmp_path)
    writer.stopped()  # written at the real time: fresh for a board on the real clock
    BeaconBoard(tmp_path, ["agent-0"], health).refresh()
    assert statuses(health)["agent-0"] == (False, "stopped")


def test_malformed_beacons_are_ignored(tmp_path: Path) -> None:
    for text in ("", "{", "[]", '{"component": "Agent 0", "at": 1, "pid": 1}',
                 '{"component": "agent-0", "at": "now", "pid": 1}'):  # fmt: skip
        assert parse_beacon(text) is None
    (tmp_path / "agent-0.json").write_bytes(b"x" * 70_000)
    health = Health()
    BeaconBoard(tmp_path, ["agent-0"], health, Clock()).refresh()
    assert not health.components()["agent-0"].ok


def test_samples_reach_metrics_with_code_labels_only(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    state = Gauge("appliance_sip_registration", "state", ["account", "state"], registry=registry)
    state.labels(account="main", state="registered").set(1)
    failures = Counter("appliance_sip_registration_failures", "f", ["account"], registry=registry)
    failures.labels(account="main").inc(3)
    samples = registry_samples([registry])
    samples.append(Sample("appliance_sip_edge_calls", "gauge", "calls", {"who": "Jane Doe"}, 2))
    health, clock = Health(), Clock()
    health.set("sip-edge", True, "answering OPTIONS")
    BeaconWriter(tmp_path, "sip-edge", health, lambda: samples).write(now=clock.now)
    board = BeaconBoard(tmp_path, ["sip-edge"], Health(), clock)
    board.refresh()
    exposition = CollectorRegistry()
    exposition.register(board)
    text = generate_latest(exposition).decode()
    assert (
        'appliance_sip_registration{account="main",component="sip-edge",state="registered"} 1.0'
        in text
    )
    assert 'appliance_sip_registration_failures_total{account="main",component="sip-edge"} 3.0' in (
        text
    )
    assert 'appliance_sip_edge_calls{component="sip-edge",who="other"} 2.0' in text
    assert "Jane" not in text
    clock.now += STALE_S + 1
    board.refresh()
    assert "appliance_sip_edge_calls" not in generate_latest(exposition).decode()


def test_a_beacon_is_replaced_whole(tmp_path: Path) -> None:
    writer, health = agent_writer(tmp_path)
    writer.write()
    health.set("tts", False, "voice missing")
    writer.write()
    raw = json.loads((tmp_path / "agent-0.json").read_text())
    assert raw["components"]["agent-0-tts"] == {"ok": False, "detail": "voice missing"}
    assert [p.name for p in tmp_path.iterdir()] == ["agent-0.json"]  # no temporary left
