"""The digest (appliance/quality/digest.py) as plain text for the terminal."""

from __future__ import annotations

from typing import Any

from appliance.quality.schema import VERDICTS


def share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def render_text(digest: dict[str, Any]) -> str:
    window = digest["window"]
    lines = [f"Call quality digest {window['since']} .. {window['until']}", ""]
    lines += _kpis(digest["kpis"], digest["reply_delay_s"])
    lines += ["", "Per day (UTC, back from the end of the window)"]
    lines.append(
        f"  {'until':20}  {'calls':>5}  {'contained':>9}  {'flagged':>7}  {'xfer fail':>9}"
    )
    for day in digest["days"]:
        lines.append(
            f"  {day['until']:20}  {day['calls']:>5}  {share(day['containment_rate']):>9}"
            f"  {share(day['compliance_flag_rate']):>7}  {share(day['transfer_failure_rate']):>9}"
        )
    m, cost = digest["deflection"], digest["cost"]
    lines += [
        f"  deflection           {share(m['deflection_rate'])}"
        f"  ({m['deflected']} of {m['in_scope']} in-scope calls)",
        f"  avg handling time    {seconds(m['average_handling_s'])}",
        f"  cost / resolved call {cost['per_resolved_call'] or '-'} {cost['currency'] or ''}",
        "",
        "Per use case (in-scope calls, deflection, avg handling)",
    ]
    lines += [
        f"  {r['use_case']:20}  {r['tier']:6}  {r['calls']:>5}  {share(r['deflection_rate']):>6}"
        f"  {seconds(r['average_handling_s'])}"
        for r in digest["use_cases"]
    ] or ["  none configured"]
    lines += ["", "Verdicts (latest score of each call)"]
    lines.append(f"  {'evaluator':28}" + "".join(f"  {v:>6}" for v in VERDICTS))
    for name, counts in digest["verdicts"].items():
        lines.append(f"  {name:28}" + "".join(f"  {counts[v]:>6}" for v in VERDICTS))
    proxy = digest["proxy_signals"]
    lines += [
        "",
        f"Proxy signals ({proxy['calls']} calls, {proxy['unsure']} unsure):"
        f" low-confidence caller turns {proxy['low-confidence']},"
        f" re-prompts {proxy['reprompts']}, caller corrections {proxy['corrections']}"
        + (f", low-confidence words {proxy['low-words']}" if "low-words" in proxy else ""),
    ]
    lines += ["", "Top fail reasons"]
    lines += [
        f"  {r['calls']:>5}  {r['evaluator']:28}  {r['reason']}"
        + ("  (compliance)" if r["compliance"] else "")
        for r in digest["top_fail_reasons"]
    ] or ["  none"]
    lines += ["", "Top escalation reasons"]
    lines += [f"  {r['calls']:>5}  {r['reason']}" for r in digest["escalation_reasons"]] or [
        "  none"
    ]
    failures = digest["transfer_failures"]
    lines += ["", "Failed transfers by result"]
    lines += [f"  {n:>5}  {result}" for result, n in failures.items()] or ["  none"]
    return "\n".join(lines)


def _kpis(k: dict[str, Any], delay: dict[str, Any]) -> list[str]:
    return [
        f"  calls ended          {k['calls']}",
        f"  containment          {share(k['containment_rate'])}"
        f"  ({k['contained']} contained, {k['escalated']} escalated)",
        f"  compliance flags     {share(k['compliance_flag_rate'])}"
        f"  ({k['compliance_flagged']} of {k['scored_calls']} scored calls)",
        f"  transfer failures    {share(k['transfer_failure_rate'])}"
        f"  ({k['transfers_failed']} of {k['transfers']} transfers)",
        f"  reply delay          p50 {seconds(delay['p50'])}, p90 {seconds(delay['p90'])},"
        f" p99 {seconds(delay['p99'])}  (n={delay['n']})",
    ]
