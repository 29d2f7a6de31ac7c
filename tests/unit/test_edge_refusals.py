"""The edge's refusal counters as rendered into kamailio.cfg and read back from its RPC:
only fixed (status, reason) codes are counted, labelled and kept."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from appliance.config import load_settings
from appliance.edge.config import render
from appliance.edge.refusals import REASONS, STATUSES, parse_dump, refusal_samples

pytestmark = pytest.mark.unit


def rendered(**sip: object) -> str:
    settings = load_settings()
    settings = msgspec.structs.replace(settings, sip=msgspec.structs.replace(settings.sip, **sip))
    return render(settings, Path("/run/x/list"), Path("/run/x/rpc.sock"))


@pytest.mark.parametrize("full_reply", [486, 503])
def test_every_refusal_the_config_counts_is_a_fixed_status_and_reason(full_reply: int) -> None:
    cfg = rendered(
        full_reply=full_reply, allowed_sources=["10.0.0.0/8"], acl_reply=403, srtp="mandatory"
    )
    counted = set(re.findall(r'\$var\(refusal\) = "([^"]+)";', cfg))
    assert counted == {
        "483:hops", "400:malformed", "503:draining", "513:too-big", "none:flood",
        "403:acl", "488:sdes", "486:passed-on", "503:passed-on",
    }  # fmt: skip
    assert all(k.split(":")[0] in STATUSES and k.split(":")[1] in REASONS for k in counted)
    via_full = set(re.findall(r'\$var\(reason\) = "([^"]*)";', cfg))
    assert via_full == {"rate", "no-worker", "no-answer", "all-busy"}
    assert f'$var(refusal) = "{full_reply}:" + $var(reason);' in cfg
    assert 'modparam("htable", "htable", "refused=>size=4;initval=0;")' in cfg
    # only initial INVITEs from the network count (not a worker's, not in-dialog ones)
    assert 'if (is_method("INVITE") && !has_totag() && !isflagset(1)) {' in cfg


def test_an_ignoring_acl_counts_with_no_status() -> None:
    cfg = rendered(allowed_sources=["10.0.0.0/8"], acl_reply=0)
    assert '$var(refusal) = "none:acl";' in cfg


def test_the_dump_keeps_only_fixed_codes() -> None:
    reply = {
        "result": [
            {"entry": 1, "slot": [{"name": "486:no-worker", "value": 3, "type": "int"}]},
            {"entry": 2, "slot": [{"name": "503:+15550142", "value": 1, "type": "int"}]},
            {"entry": 3, "slot": [{"name": "10.1.2.3:acl", "value": 1, "type": "int"}]},
            {"entry": 4, "slot": [{"name": "403:acl", "value": "x", "type": "str"}]},
        ]
    }
    assert parse_dump(reply) == {("486", "no-worker"): 3}
    assert parse_dump({"result": []}) == {}
    assert parse_dump({"error": {"code": 500}}) == {}
    assert parse_dump(None) is None


def test_the_samples_carry_the_epoch() -> None:
    samples = refusal_samples({("486", "no-worker"): 2}, 1234.5)
    assert [(s.name, s.labels, s.value) for s in samples] == [
        ("appliance_sip_edge_refused_total", {"code": "486", "reason": "no-worker"}, 2.0),
        ("appliance_sip_edge_start_time_seconds", {}, 1234.5),
    ]
