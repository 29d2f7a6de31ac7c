"""Outgoing calls of the agent workers through the Kamailio edge.

Workers listen on 127.0.0.1 only, so a call they place (the consultation call of an
attended transfer, to the front desk on the PBX) leaves through the edge: their pjsua
account has the edge as outbound proxy (a pre-loaded loose Route), and the edge relays
INVITEs that come from a worker's own SIP port on 127.0.0.1 to their Request-URI,
record-routing them like inbound calls (UDP on loopback, TLS towards the PBX when the
URI says `sips:` or `;transport=tls`). Nothing from any other source takes this path:
loopback sources cannot be forged from the network (Linux drops them as martians).
"""

from __future__ import annotations

from appliance.edge.policy import WORKER_FLAG


def from_worker(ports: list[int]) -> str:
    """Kamailio statements for route[FROM_WORKER] (returns for anything not from a worker,
    which route[WORKER] marks with policy.WORKER_FLAG)."""
    if not ports:
        return "    return;"
    return (
        f"    if (!isflagset({WORKER_FLAG})) {{\n"
        "        return;\n"
        "    }\n"
        "    t_check_trans();\n"
        '    remove_hf("Route");  # the pre-loaded route to this edge\n'
        "    route(SDES_OUT);  # its SRTP keys leave over TLS only\n"
        "    record_route();\n"
        '    $sht(calls=>$ci) = "sip:127.0.0.1:" + $sp;  # peers that drop our Route header\n'
        "    t_relay();\n"
        "    exit;"
    )
