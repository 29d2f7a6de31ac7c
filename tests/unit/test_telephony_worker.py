"""EndpointThread: commands run on its thread between polls; errors come back coded."""

from __future__ import annotations

import threading

import pytest

from appliance.errors import TelephonyError
from appliance.sip.endpoint_thread import EndpointThread

pytestmark = pytest.mark.unit


class Fake:
    def __init__(self, fail_setup: bool = False) -> None:
        self.fail_setup = fail_setup
        self.polls = 0
        self.torn_down = 0
        self.thread: int | None = None

    def setup(self) -> None:
        self.thread = threading.get_ident()
        if self.fail_setup:
            raise TelephonyError("sip-bind-failed", "port in use")

    def poll(self, ms: int) -> None:
        assert threading.get_ident() == self.thread
        self.polls += 1
        if self.polls == 3:
            raise RuntimeError("one bad poll is survived")
        threading.Event().wait(ms / 1000)

    def teardown(self) -> None:
        self.torn_down += 1


async def test_commands_run_on_the_endpoint_thread() -> None:
    fake = Fake()
    worker = EndpointThread("test-endpoint", fake.setup, fake.poll, fake.teardown)
    await worker.start()
    assert await worker.run(threading.get_ident) == fake.thread != threading.get_ident()
    with pytest.raises(ZeroDivisionError):
        await worker.run(lambda: 1 // 0)
    await worker.run(lambda: None)
    await worker.stop()
    assert fake.polls >= 1 and fake.torn_down == 1
    with pytest.raises(RuntimeError):
        await worker.run(lambda: None)
    assert not any(t.name == "test-endpoint" for t in threading.enumerate())


async def test_setup_error_fails_start_and_still_tears_down() -> None:
    fake = Fake(fail_setup=True)
    worker = EndpointThread("test-endpoint", fake.setup, fake.poll, fake.teardown)
    with pytest.raises(TelephonyError) as info:
        await worker.start()
    assert info.value.code == "sip-bind-failed" and fake.torn_down == 1
    with pytest.raises(RuntimeError):
        await worker.run(lambda: None)
