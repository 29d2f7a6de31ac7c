"""The simulation report for a compliance officer: per scenario, what was tested (the
scenario's own scripted lines and expectations), how many runs, pass^k, what failed in
plain words, and the reply-gap figures. Synthetic callers and patients only; nothing
that the agent said is quoted beyond the scenario's expected phrases."""

from __future__ import annotations

from appliance.simulate.judge import Outcome, SuiteResult, p90
from appliance.simulate.scenario import Scenario


def _expected(s: Scenario) -> list[str]:
    e, out = s.expect, []
    if e.intent:
        out.append(f"the request is understood as `{e.intent}`")
    if e.store:
        whose = f" for synthetic patient `{e.store.patient}`" if e.store.patient else ""
        out.append(f"an appointment is {e.store.action} in the schedule{whose}")
    if e.transfer:
        why = f" (reason `{e.transfer_reason}`)" if e.transfer_reason else ""
        out.append(f"the caller is transferred to a person{why}")
    out += [f"the agent says \u201c{p}\u201d" for p in e.says]
    out += [f"the agent never says \u201c{p}\u201d" for p in e.never_says]
    if e.reply_gap_p90_s is not None:
        out.append(f"90% of replies start within {e.reply_gap_p90_s:.1f} s")
    if e.tolerate:
        out.append(
            f"every quality check of live calls passes (or does not apply), "
            f"except that a fail of {', '.join(e.tolerate)} is shown, not failing"
        )
    else:
        out.append("every quality check of live calls passes (or does not apply)")
    return out


def _persona(s: Scenario) -> str:
    p = s.persona
    parts = [f"pace {p.length_scale:g}x"]
    parts.append("no added noise" if p.noise_db is None else f"noise {p.noise_db:g} dBFS")
    parts.append("hesitates" if p.hesitations else "no hesitations")
    return ", ".join(parts)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _scenario(o: Outcome) -> list[str]:
    s, k = o.scenario, len(o.runs)
    verdict = "PASS" if o.passed else "FAIL"
    gaps = o.gaps
    lines = [
        f"### {s.id}: {verdict} (pass^{k}: {o.passes} of {k} runs passed)", "",
        f"Caller persona: {_persona(s)}. Scripted caller lines:", "",
        *[f"{n}. \u201c{line}\u201d" for n, line in enumerate(s.lines, 1)], "",
        "Expected:", "", *[f"- {x}" for x in _expected(s)], "",
        f"Reply gap (caller stops -> agent starts), all runs: p90 {_seconds(p90(gaps))}, "
        f"longest {_seconds(max(gaps) if gaps else None)}, {len(gaps)} replies.", "",
    ]  # fmt: skip
    shown = sorted({n for r in o.runs for n, v in r.evaluators.items()
                    if v == "fail"})  # fmt: skip
    if shown:
        lines += [f"Quality checks that failed in some run: {', '.join(shown)}.", ""]
    failed = [r for r in o.runs if not r.passed]
    if failed:
        lines += ["Failed runs:", ""]
        for r in failed:
            lines.append(f"- run {r.index}: " + "; ".join(r.failures))
        lines.append("")
    return lines


def markdown(results: list[SuiteResult], took_s: float, target: str) -> str:
    """The whole report; one section per use case."""
    k = results[0].runs_per_scenario if results else 0
    out = [
        "# Simulated calls report", "",
        f"Real SIP calls to the appliance at {target}, placed by a synthetic caller "
        f"(local text-to-speech voice; what the agent said was read by local speech "
        f"recognition). Each scenario ran {k} time(s); pass^{k} means every run passed. "
        f"Callers and patients are synthetic. Total time {took_s:.0f} s.", "",
        "| Use case | Scenarios | pass^k | Verdict | Evidence sha256 |",
        "|---|---|---|---|---|",
    ]  # fmt: skip
    for r in results:
        ok = sum(1 for o in r.outcomes if o.passed)
        verdict = "PASS" if r.passed else "FAIL"
        out.append(
            f"| {r.use_case} | {len(r.outcomes)} | {ok} of {len(r.outcomes)} | {verdict} "
            f"| `{r.sha256()[:16]}` |"
        )
    out.append("")
    for r in results:
        out += [f"## {r.use_case}", ""]
        for o in r.outcomes:
            out += _scenario(o)
    return "\n".join(out).rstrip() + "\n"
