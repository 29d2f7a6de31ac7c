"""What the benchmarks share to run a real appliance: free loopback ports, health wait."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(proc: subprocess.Popen[bytes], admin: int, timeout: float) -> float:
    """Seconds until /healthz on the admin port answers 200; exit if the process dies."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit("the appliance exited during start-up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin}/healthz", timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the appliance was not healthy within {timeout} s")
