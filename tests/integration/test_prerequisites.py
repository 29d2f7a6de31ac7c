"""Everything the appliance and the tests need outside the venv is on this machine.

`make test` installs it (Makefile RUN_DEBS / TEST_DEBS). Several tests skip when a tool is
absent (so they can run piecemeal elsewhere); this test makes a missing install a failure,
so that a fresh machine cannot pass with parts of the suite quietly skipped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import SOUND_TEXTS, SOUNDS

pytestmark = pytest.mark.integration

SBIN = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
# tool -> the Debian package the Makefile installs it from
TOOLS = {
    "kamailio": "kamailio",
    "cc": "build-essential",
    "objdump": "binutils",
    "sipp": "sip-tester",
    "sox": "sox",
    "nft": "nftables",
    "ip": "iproute2",
    "tcpdump": "tcpdump",
    "openssl": "openssl",
    "systemd-analyze": "systemd",
    "systemd-creds": "systemd",
}
FILES = {
    SOUNDS / "hello-world.wav": "asterisk-core-sounds-en-wav",
    SOUND_TEXTS: "asterisk-core-sounds-en",
    Path("/usr/share/sip-tester/dtmf_2833_1.pcap"): "sip-tester",
    Path("/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so"): "kamailio-tls-modules",
}


def test_debian_tools_are_installed() -> None:
    missing = [
        f"{tool} ({pkg})" for tool, pkg in TOOLS.items() if not shutil.which(tool, path=SBIN)
    ]
    assert missing == [], f"not installed by the Makefile: {missing}"


def test_test_assets_are_installed() -> None:
    missing = [f"{path} ({pkg})" for path, pkg in FILES.items() if not path.is_file()]
    assert missing == [], f"not installed by the Makefile: {missing}"
