"""The digest (appliance/quality/digest.py) of an ISO week as an HTML page with its plots
embedded (PNG data URIs) and as a PDF (matplotlib's PdfPages: no other dependency).

Both are drawn from the digest's dictionary alone: counts, shares, durations and codes,
so that neither can hold PHI or a call id. `appliance quality digest --week 2026-W49
--out DIR` writes DIR/digest-2026-W49.html and .pdf.
"""

from __future__ import annotations

import base64
import html
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from appliance.errors import ApplianceError
from appliance.quality.digest_text import seconds, share
from appliance.quality.judge import ADVISORY
from appliance.quality.schema import VERDICTS

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "unsure": "#f9a825", "n/a": "#9e9e9e"}


def week_window(week: str) -> tuple[float, float]:
    """'2026-W49' -> (Monday 00:00 UTC, the next Monday) in UNIX s; quality-bad-week."""
    match = _WEEK.match(week.strip())
    try:
        if match is None:
            raise ValueError(week)
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise ApplianceError("quality-bad-week", "--week takes an ISO week: YYYY-Www") from None
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    return start.timestamp(), (start + timedelta(days=7)).timestamp()


def figures(digest: dict[str, Any]) -> list[tuple[str, Figure]]:
    """The digest's plots: calls and containment per day, flag and transfer failure rates
    per day, verdicts per evaluator, reply delay percentiles."""
    return [
        ("Calls and containment per day", _calls_per_day(digest["days"])),
        ("Compliance flags and transfer failures per day", _rates_per_day(digest["days"])),
        ("Verdicts per evaluator (latest score of each call)", _verdicts(digest["verdicts"])),
        ("Reply delay (end of caller speech to agent audio)", _delays(digest["reply_delay_s"])),
    ]


def _labels(days: list[dict[str, Any]]) -> list[str]:
    return [d["since"][5:10] for d in days]  # MM-DD of each day's start


def _calls_per_day(days: list[dict[str, Any]]) -> Figure:
    fig = Figure(figsize=(7, 3))
    ax = fig.subplots()
    x = range(len(days))
    ax.bar(x, [d["calls"] for d in days], color="#90caf9", label="calls")
    ax.set_xticks(list(x), _labels(days))
    ax.set_ylabel("calls ended")
    rate = ax.twinx()
    rate.plot(x, [_pct(d["containment_rate"]) for d in days], "o-", color="#1565c0")
    rate.set_ylim(0, 100)
    rate.set_ylabel("containment %")
    fig.tight_layout()
    return fig


def _rates_per_day(days: list[dict[str, Any]]) -> Figure:
    fig = Figure(figsize=(7, 3))
    ax = fig.subplots()
    x = list(range(len(days)))
    ax.plot(x, [_pct(d["compliance_flag_rate"]) for d in days], "o-", label="compliance flags")
    ax.plot(x, [_pct(d["transfer_failure_rate"]) for d in days], "s-", label="transfer failures")
    ax.axhline(2.0, color="#c62828", linestyle=":", linewidth=1, label="flag alert (2%)")
    ax.axhline(5.0, color="#6a1b9a", linestyle=":", linewidth=1, label="transfer alert (5%)")
    ax.set_xticks(x, _labels(days))
    ax.set_ylabel("%")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def _verdicts(table: dict[str, dict[str, int]]) -> Figure:
    names = list(table)
    fig = Figure(figsize=(7, 0.35 * len(names) + 1.0))
    ax = fig.subplots()
    left = [0] * len(names)
    for verdict in VERDICTS:
        counts = [table[n][verdict] for n in names]
        ax.barh(names, counts, left=left, color=COLOURS[verdict], label=verdict)
        left = [a + b for a, b in zip(left, counts, strict=True)]
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("calls")
    ax.legend(fontsize=7, ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def _delays(delay: dict[str, Any]) -> Figure:
    fig = Figure(figsize=(7, 2.2))
    ax = fig.subplots()
    keys = ["p50", "p90", "p99"]
    ax.bar(keys, [delay[k] or 0.0 for k in keys], color="#80cbc4")
    ax.axhline(3.5, color="#f9a825", linestyle=":", label="P90 warning (3.5 s)")
    ax.axhline(5.0, color="#c62828", linestyle=":", label="P99 alert (5 s)")
    ax.set_ylabel(f"s (n={delay['n']})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _pct(value: float | None) -> float:
    return float("nan") if value is None else value * 100


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def render_html(digest: dict[str, Any], title: str) -> str:
    """A standalone page: the KPIs, the plots as data URIs, the verdicts and reasons."""
    e = html.escape
    k, d = digest["kpis"], digest["reply_delay_s"]
    rows = [
        ("Calls ended", str(k["calls"])),
        ("Containment", f"{share(k['containment_rate'])} ({k['contained']} contained)"),
        ("Escalation rate", share(1 - k["containment_rate"]) if k["calls"] else "-"),
        ("Compliance flag rate", f"{share(k['compliance_flag_rate'])}"
         f" ({k['compliance_flagged']} of {k['scored_calls']} scored)"),
        ("Transfer failure rate", f"{share(k['transfer_failure_rate'])}"
         f" ({k['transfers_failed']} of {k['transfers']})"),
        ("Reply delay", f"p50 {seconds(d['p50'])}, p90 {seconds(d['p90'])},"
         f" p99 {seconds(d['p99'])} (n={d['n']})"),
        *more_rows(digest),
    ]  # fmt: skip
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "td,th{padding:2px 8px;text-align:left}</style></head><body>",
        f"<h1>{e(title)}</h1><p>{e(digest['window']['since'])} to"
        f" {e(digest['window']['until'])} (UTC)</p><table>",
        *(f"<tr><th>{e(a)}</th><td>{e(b)}</td></tr>" for a, b in rows),
        "</table>",
    ]
    for caption, fig in figures(digest):
        parts.append(f"<h2>{e(caption)}</h2><img alt='{e(caption)}' src='{_png(fig)}'>")
    parts += _slice_table(digest)
    parts += _verdict_table(digest["verdicts"])
    parts.append("<h2>Top fail reasons</h2><table>")
    parts += [
        f"<tr><td>{r['calls']}</td><td>{e(r['evaluator'])}</td><td>{e(r['reason'])}</td></tr>"
        for r in digest["top_fail_reasons"]
    ]
    parts.append("</table><h2>Top escalation reasons</h2><table>")
    parts += [
        f"<tr><td>{r['calls']}</td><td>{e(r['reason'])}</td></tr>"
        for r in digest["escalation_reasons"]
    ]
    parts.append("</table></body></html>")
    return "\n".join(parts)


def more_rows(digest: dict[str, Any]) -> list[tuple[str, str]]:
    """Deflection, handling time and cost as (label, value) rows."""
    m, c = digest["deflection"], digest["cost"]
    per_call = "-" if c["per_resolved_call"] is None else f"{c['per_resolved_call']:.2f}"
    return [
        ("Deflection", f"{share(m['deflection_rate'])}"
         f" ({m['deflected']} of {m['in_scope']} in-scope calls)"),
        ("Average handling time", seconds(m["average_handling_s"])),
        ("Cost per resolved call", per_call + (f" {c['currency']}" if c["currency"] else "")),
    ]  # fmt: skip


def _slice_table(digest: dict[str, Any]) -> list[str]:
    """In-scope calls, deflection and handling time per use case, then per tier."""
    out = [
        "<h2>Per use case and risk tier</h2><table><tr><th>use case</th><th>tier</th>"
        "<th>calls</th><th>deflected</th><th>deflection</th><th>avg handling</th></tr>"
    ]
    rows = [(r["use_case"], r["tier"], r) for r in digest["use_cases"]]
    rows += [("all " + r["tier"], r["tier"], r) for r in digest["tiers"]]
    for name, tier, r in rows:
        out.append(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(tier)}</td><td>{r['calls']}</td>"
            f"<td>{r['deflected']}</td><td>{share(r['deflection_rate'])}</td>"
            f"<td>{seconds(r['average_handling_s'])}</td></tr>"
        )
    out.append("</table>")
    return out


def _verdict_table(table: dict[str, dict[str, int]]) -> list[str]:
    head = "".join(f"<th>{v}</th>" for v in VERDICTS)
    out = ["<h2>Verdicts</h2><table><tr><th>evaluator</th>" + head + "</tr>"]
    for name, counts in table.items():
        mark = " (advisory)" if name in ADVISORY else ""
        cells = "".join(f"<td>{counts[v]}</td>" for v in VERDICTS)
        out.append(f"<tr><td>{html.escape(name + mark)}</td>{cells}</tr>")
    out.append("</table>")
    return out


def write_pdf(digest: dict[str, Any], title: str, path: Path) -> None:
    """A title page with the KPIs, then one page per plot (no creation date: the same
    digest gives the same file)."""
    with PdfPages(path, metadata={"Title": title, "CreationDate": None}) as pdf:
        first = Figure(figsize=(8.27, 11.69))
        k, d = digest["kpis"], digest["reply_delay_s"]
        lines = [
            title,
            f"{digest['window']['since']} to {digest['window']['until']} (UTC)",
            "",
            f"Calls ended: {k['calls']}",
            f"Containment: {share(k['containment_rate'])}",
            f"Compliance flag rate: {share(k['compliance_flag_rate'])}",
            f"Transfer failure rate: {share(k['transfer_failure_rate'])}",
            f"Reply delay p50 / p90 / p99: {seconds(d['p50'])} / {seconds(d['p90'])}"
            f" / {seconds(d['p99'])} (n={d['n']})",
            *(f"{label}: {value}" for label, value in more_rows(digest)),
            "",
            *(
                f"{r['use_case']} ({r['tier']}): {r['calls']} calls,"
                f" deflection {share(r['deflection_rate'])}"
                for r in digest["use_cases"]
            ),
        ]
        for i, line in enumerate(lines):
            first.text(0.08, 0.92 - i * 0.035, line, fontsize=16 if i == 0 else 11)
        pdf.savefig(first)
        for caption, fig in figures(digest):
            fig.suptitle(caption, fontsize=9)
            fig.tight_layout()
            pdf.savefig(fig)


def write_week(digest: dict[str, Any], week: str, out: Path) -> tuple[Path, Path]:
    """DIR/digest-<week>.html and .pdf (the folder is made when missing)."""
    out.mkdir(parents=True, exist_ok=True)
    title = f"Call quality digest {week}"
    page, pdf = out / f"digest-{week}.html", out / f"digest-{week}.pdf"
    page.write_text(render_html(digest, title), "utf-8")
    write_pdf(digest, title, pdf)
    return page, pdf
