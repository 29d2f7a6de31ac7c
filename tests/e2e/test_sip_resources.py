"""Resource hygiene of the agent workers: after 200 short calls (SIPp, hung up just after
the answer, while the greeting plays) each worker's open file descriptors, threads and
RSS are back near where they were before. The figures are printed (pytest -s)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.test_sipp import failed, sipp, successful, wait_ended
from tests.e2e.test_sipp_flows import wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CALLS = 200
CONCURRENT = 4  # calls at a time (over both workers): 200 calls in ~40 s
WARM_UP = 8  # calls before the baseline: first calls fill pools and caches
FD_SLACK = 8
THREAD_SLACK = 4
RSS_SLACK_MB = 60.0
SETTLE_S = 30.0  # s the workers get to release everything after the last call ended
STEADY_READS = 4  # equal readings in a row (0.25 s apart): the workers have settled


@dataclass(frozen=True)
class Usage:
    fds: int
    threads: int
    rss_mb: float


def usage(pid: int) -> Usage:
    proc = Path(f"/proc/{pid}")
    status = (proc / "status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    fds = len(list((proc / "fd").iterdir()))
    threads = len(list((proc / "task").iterdir()))
    return Usage(fds, threads, rss_kb / 1024)


def worker_pids(parent: int) -> list[int]:
    """The `appliance agent --worker N` children of the appliance process."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"agent" in argv and b"--worker" in argv:
            pids.append(int(entry.name))
    return sorted(pids)


def calls(appliance, count: int, concurrent: int) -> None:
    out = sipp(
        f"127.0.0.1:{appliance.sip_port}",
        "-sn",
        "uac",
        "-m",
        str(count),
        "-l",
        str(concurrent),
        "-r",
        "10",
        "-d",
        "300",
        timeout=240,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert successful(out) == count and failed(out) == 0


def settle(appliance, pids: list[int], before: set[str], count: int) -> dict[int, Usage]:
    """Each worker's usage once the `count` calls since `before` are over: no call active,
    every one of them ended in the store, and the workers' descriptors and threads unchanged
    for STEADY_READS reads in a row (pjsua2 releases call slots a little after the BYE)."""
    wait_idle(appliance)
    wait_ended(appliance, before, count)
    deadline = time.monotonic() + SETTLE_S
    readings: list[dict[int, Usage]] = []
    while time.monotonic() < deadline:
        readings.append({pid: usage(pid) for pid in pids})
        recent = [{pid: (u.fds, u.threads) for pid, u in r.items()} for r in readings]
        if len(recent) >= STEADY_READS and all(r == recent[-1] for r in recent[-STEADY_READS:]):
            return readings[-1]
        time.sleep(0.25)
    raise AssertionError(f"the workers did not settle in {SETTLE_S} s: {readings[-STEADY_READS:]}")


def call_ids(appliance) -> set[str]:
    return {c["call_id"] for c in appliance.calls()}


@pytest.mark.slow
def test_fds_threads_and_rss_return_to_baseline_after_200_calls(appliance) -> None:
    pids = worker_pids(appliance.proc.pid)
    assert len(pids) == 2, pids
    before = call_ids(appliance)
    calls(appliance, WARM_UP, CONCURRENT)
    baseline = settle(appliance, pids, before, WARM_UP)
    before = call_ids(appliance)
    started = time.monotonic()
    calls(appliance, CALLS, CONCURRENT)
    took = time.monotonic() - started
    after = settle(appliance, pids, before, CALLS)
    print(f"\n{CALLS} calls ({CONCURRENT} at a time) in {took:.1f} s")
    for pid in pids:
        b, a = baseline[pid], after[pid]
        print(
            f"worker {pid}: fds {b.fds} -> {a.fds}, threads {b.threads} -> {a.threads}, "
            f"RSS {b.rss_mb:.1f} -> {a.rss_mb:.1f} MB"
        )
    for pid in pids:
        b, a = baseline[pid], after[pid]
        assert a.fds <= b.fds + FD_SLACK, (pid, b, a)
        assert a.threads <= b.threads + THREAD_SLACK, (pid, b, a)
        assert a.rss_mb <= b.rss_mb + RSS_SLACK_MB, (pid, b, a)
