"""The initial INVITEs the SIP edge itself refuses, counted by SIP status and reason.

Kamailio adds one to `$sht(refused=><status>:<reason>)` wherever it refuses an initial
INVITE from the network (appliance/edge/config.py, policy.py): every worker down or
none answering, drain, the new-call rate, the source ACL, the flood limit, SDES over
UDP/TCP, too big for a worker, too many hops, malformed. The edge process reads the
table over the JSON-RPC socket (`htable.dump refused`) and puts the totals in its health
beacon as `appliance_sip_edge_refused_total{code,reason}` with Kamailio's start time
(`appliance_sip_edge_start_time_seconds`): the totals start again at 0 when Kamailio
restarts, and the admin stores the differences (appliance/governance/edge_refusals.py).

Only keys made of the fixed codes below are read: no caller data can reach a label.
A call every worker refused (486, 503) is counted here too, under `all-busy`: every
INVITE passes the edge, and a worker cannot count all of its own refusals (with all of
its pjsua call slots taken, pjsua answers 486 before the appliance's code sees the call).
A worker's 486 or 503 that the edge passed on to the next worker is counted under
`passed-on`: not a refusal (the call went on), but how often a worker was full.
"""

from __future__ import annotations

from pathlib import Path

from appliance.edge.rpc import rpc_call
from appliance.observability.beacons import Sample

REFUSED_TABLE = "refused"
REFUSED_METRIC = "appliance_sip_edge_refused_total"
START_METRIC = "appliance_sip_edge_start_time_seconds"
STATUSES = ("400", "403", "483", "486", "488", "503", "513", "none")  # none: ignored
# the refusals that say the service could not take the call (the answer-rate SLO's);
# the others are the caller's or policy's (a scanner the ACL keeps out is not a miss)
SERVICE_REASONS = ("no-worker", "all-busy", "no-answer", "draining", "rate")
POLICY_REASONS = ("acl", "flood", "sdes", "too-big", "hops", "malformed")
PASSED_ON = "passed-on"  # a worker's 486 or 503 the edge passed on to the next worker
REASONS = SERVICE_REASONS + POLICY_REASONS + (PASSED_ON,)

Totals = dict[tuple[str, str], int]  # (status, reason) -> INVITEs refused since start


def parse_dump(reply: dict[str, object] | None) -> Totals | None:
    """The totals in an `htable.dump` reply; None when there is no usable answer."""
    if reply is None:
        return None
    result = reply.get("result")
    if not isinstance(result, list):
        return {} if "error" in reply else None  # older Kamailio: empty is an error
    totals: Totals = {}
    for slot in result:
        cells = slot.get("slot", []) if isinstance(slot, dict) else []
        for cell in cells if isinstance(cells, list) else []:
            key = _key(cell)
            value = cell.get("value") if isinstance(cell, dict) else None
            if key is not None and isinstance(value, int) and not isinstance(value, bool):
                totals[key] = max(0, value)
    return totals


def _key(cell: object) -> tuple[str, str] | None:
    name = cell.get("name") if isinstance(cell, dict) else None
    if not isinstance(name, str):
        return None
    status, _, reason = name.partition(":")
    return (status, reason) if status in STATUSES and reason in REASONS else None


def read_refusals(rpc_socket: Path) -> Totals | None:
    """The edge's refusal totals since Kamailio started; None when it does not answer."""
    return parse_dump(rpc_call(rpc_socket, "htable.dump", [REFUSED_TABLE]))


def refusal_samples(totals: Totals, started_at: float) -> list[Sample]:
    """The totals as beacon samples, with Kamailio's start time (the counters' epoch)."""
    help_text = "Initial INVITEs the SIP edge itself refused since Kamailio started"
    samples = [
        Sample(REFUSED_METRIC, "counter", help_text, {"code": code, "reason": reason}, float(n))
        for (code, reason), n in sorted(totals.items())
    ]
    start_help = "When the SIP edge's Kamailio started (UNIX s): its refusal counts' epoch"
    samples.append(Sample(START_METRIC, "gauge", start_help, {}, started_at))
    return samples
