"""The edge's request policy, as Kamailio statements for appliance/edge/config.py.

Every request from the network, in-dialog ones too, passes a per-source flood limit and
the source ACL; the agent workers (on 127.0.0.1) are exempt. An in-dialog request from
the network may only go to an agent worker, so the edge relays nothing to a third party
whatever its Route headers say. With `[sip] srtp` on, SDES keys (`a=crypto` in the SDP)
cross only TLS: a request over UDP/TCP that carries them, or an INVITE without an offer
there (the worker's offer would carry them), is refused with 488, and so is a worker's
request with keys towards a hop that is not TLS.

The flood limit works like Kamailio's pike, with one threshold per kind of source: a
source that sends more than its limit of requests in a 2 s window is ignored until it has
been quiet for BLOCK_S (a continuing flood stays ignored). Sources in `allowed_sources`
(the PBX) have `flood_limit_trusted`, others `flood_limit`.
"""

from __future__ import annotations

import ipaddress

from appliance.config import Sip

WORKER_FLAG = 1  # set on requests from an agent worker
WINDOW_S = 2  # s of a flood-limit window
BLOCK_S = 4  # s a flooding source stays ignored after its last request
# bytes of a request from the network that a worker can take once the edge added its Via
# and Record-Route headers (pjsip reads at most 4000 bytes of a message, UDP or TCP)
MAX_TO_WORKER = 3600

TABLES = (
    f'modparam("htable", "htable", "rate=>size=10;autoexpire={2 * WINDOW_S};initval=0;")\n'
    f'modparam("htable", "htable", "blocked=>size=8;autoexpire={BLOCK_S};")\n'
)


def from_worker(ports: list[int]) -> str:
    """The Kamailio condition true for a request from an agent worker: from its own port
    on 127.0.0.1 (a loopback source cannot come from the network)."""
    if not ports:
        return "0"
    return f'$si == "127.0.0.1" && $sp >= {min(ports)} && $sp <= {max(ports)}'


def to_worker(ports: list[int]) -> str:
    """The Kamailio condition true when the request's next hop is an agent worker."""
    if not ports:
        return "0"
    return (
        f'$nh(d) == "127.0.0.1" && $(nh(p){{s.int}}) >= {min(ports)}'
        f" && $(nh(p){{s.int}}) <= {max(ports)}"
    )


def trusted(sip: Sip) -> str:
    """The Kamailio condition true for a source in `allowed_sources`, or the host itself
    (the service's own OPTIONS health check; Linux drops packets from the network that
    claim one of its own addresses)."""
    nets = [str(ipaddress.ip_network(s, strict=False)) for s in sip.allowed_sources]
    return " || ".join(["src_ip == myself", *(f'is_in_subnet("$si", "{n}")' for n in nets)])


def limits(sip: Sip) -> str:
    """route[LIMITS]: the per-source flood limit, then the source ACL, for every request
    that does not come from a worker."""
    body = f"    if (isflagset({WORKER_FLAG})) {{\n        return;\n    }}\n"
    return (body + _flood(sip) + _acl(sip)).rstrip("\n")


def _flood(sip: Sip) -> str:
    if sip.flood_limit == 0 and sip.flood_limit_trusted == 0:
        return ""
    return (
        # the ACK, BYE or CANCEL of a call this edge passed to a worker still goes there:
        # dropping it would hold the worker's call slot until its own timeout (32 s)
        "    if ($sht(blocked=>$si) != $null && !($sht(calls=>$ci) != $null"
        ' && is_method("ACK|BYE|CANCEL"))) {\n'
        "        $sht(blocked=>$si) = 1;  # a continuing flood stays ignored\n"
        '        $var(refusal) = "none:flood";\n'
        "        route(REFUSED);\n"
        "        exit;\n"
        "    }\n"
        f"    $var(limit) = {sip.flood_limit};\n"
        f"{_trusted_limit(sip)}"
        "    if ($var(limit) > 0) {\n"
        f'        $var(window) = $si + "/" + ($Ts / {WINDOW_S});\n'
        "        if ($shtinc(rate=>$var(window)) > $var(limit) && !($sht(calls=>$ci) != $null"
        ' && is_method("ACK|BYE|CANCEL"))) {\n'
        "            $sht(blocked=>$si) = 1;\n"
        '            xlog("L_NOTICE", "edge: flood from $si: more than $var(limit) requests'
        f' in {WINDOW_S} s, ignored while it keeps on\\n");\n'
        '            $var(refusal) = "none:flood";\n'
        "            route(REFUSED);\n"
        "            exit;\n"
        "        }\n"
        "    }\n"
    )


def _trusted_limit(sip: Sip) -> str:
    if not sip.allowed_sources:
        return ""
    return f"    if ({trusted(sip)}) {{\n        $var(limit) = {sip.flood_limit_trusted};\n    }}\n"


def _acl(sip: Sip) -> str:
    if not sip.allowed_sources:
        return ""
    refuse = (
        '        if (!is_method("ACK")) {\n            sl_send_reply("403", "Forbidden");\n'
        "        }\n"
        if sip.acl_reply == 403
        else ""
    )
    status = "403" if sip.acl_reply == 403 else "none"
    return (
        f"    if (!({trusted(sip)})) {{\n"
        '        xlog("L_NOTICE", "edge: $rm refused by the source ACL from $si\\n");\n'
        f'        $var(refusal) = "{status}:acl";\n'
        "        route(REFUSED);\n"
        f"{refuse}"
        "        exit;\n"
        "    }\n"
    )


def onward(ports: list[int]) -> str:
    """route[ONWARD], before an in-dialog request is relayed: a worker's goes out (its SDES
    keys over TLS only); one from the network goes to a worker or nowhere."""
    return (
        f"    if (isflagset({WORKER_FLAG})) {{\n"
        "        route(SDES_OUT);\n"
        "        return;\n"
        "    }\n"
        f"    if (!({to_worker(ports)})) {{\n"
        '        xlog("L_NOTICE", "edge: $rm from $si to a hop that is no worker refused'
        ' (no relay)\\n");\n'
        '        if (!is_method("ACK")) {\n'
        '            sl_send_reply("403", "Forbidden");\n'
        "        }\n"
        "        exit;\n"
        "    }\n"
        "    route(TOO_BIG);"
    )


def sdes_in(sip: Sip) -> str:
    """route[SDES]: a request from the network over UDP/TCP never carries SDES keys, nor
    is it an INVITE without an offer (the worker's offer would carry them)."""
    if sip.srtp == "off":
        return "    return;"
    return (
        f'    if (isflagset({WORKER_FLAG}) || $pr == "tls"'
        ' || !is_method("INVITE|UPDATE|ACK|PRACK")) {\n'
        "        return;\n"
        "    }\n"
        '    if (search_body("^a=crypto:")'
        ' || (is_method("INVITE") && !has_body("application/sdp"))) {\n'
        '        xlog("L_NOTICE", "edge: $rm from $si over $pr refused: SRTP keys (SDES) only'
        ' over TLS\\n");\n'
        '        $var(refusal) = "488:sdes";\n'
        "        route(REFUSED);\n"
        '        if (!is_method("ACK")) {\n'
        '            sl_send_reply("488", "Not Acceptable Here");\n'
        "        }\n"
        "        exit;\n"
        "    }"
    )


def sdes_out(sip: Sip) -> str:
    """route[SDES_OUT]: a worker's request with SDES keys leaves over TLS only."""
    if sip.srtp == "off":
        return "    return;"
    return (
        '    if ($nh(P) != "tls" && search_body("^a=crypto:")) {\n'
        '        xlog("L_NOTICE", "edge: a worker\'s $rm with SRTP keys refused: the next hop is'
        ' not TLS\\n");\n'
        '        if (!is_method("ACK")) {\n'
        '            sl_send_reply("488", "Not Acceptable Here");\n'
        "        }\n"
        "        exit;\n"
        "    }"
    )
