"""`appliance simulate SCENARIOS... --runs N`: YAML scenarios (appliance/simulate/) as
real SIP calls to the running appliance by a synthetic caller, judged by the live calls'
evaluators and each scenario's expectations; pass^k per scenario; each use case's result
is written with its sha256 (var/simulations/) and audited like the in-process
simulation (`usecase.simulation`), so a passing suite lets the use case leave draft.
`starter` names the suite shipped for the built-in use cases."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from appliance.config import Settings
from appliance.errors import ApplianceError, GovernanceError, SimulationError
from appliance.governance import simulation
from appliance.governance import use_cases as uc
from appliance.simulate.judge import Run, SuiteResult
from appliance.simulate.scenario import Scenario, load

STARTER = Path(__file__).resolve().parents[1] / "demo" / "clinic" / "scenarios"
CALLER = "appliance"  # the synthetic caller's From user part (its SIP account's)


def scenario_paths(names: list[str]) -> list[Path]:
    return [STARTER if n == "starter" else Path(n) for n in names]


def cmd_simulate_sip(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 0: every scenario passed k of k; 1: one did not; 2: could not run."""
    from appliance.services.app_db import open_store
    from appliance.services.runtime import caller_hasher
    from appliance.simulate.caller import Voice
    from appliance.simulate.run import Target, files_sha256, run_suite

    paths = scenario_paths(args.scenarios)
    target = args.target or f"127.0.0.1:{settings.sip.port}"
    try:
        scenarios = _only(load(paths), args.only)
        db, _ = open_store(settings)
    except ApplianceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        _known(db.query(uc.load), scenarios)
        voice = Voice.load(settings.models_dir, settings)
        where = Target(f"sip:clinic@{target}", caller_hasher(settings)(CALLER))
        results = asyncio.run(run_suite(
            db, voice, where, scenarios, args.runs, files_sha256(paths), _progress(args.json),
        ))  # fmt: skip
        at = time.time()
        for result in results:
            simulation.record(db, result, args.by, at)
    except ApplianceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    _write(settings, args, results, at, time.monotonic() - started, target)
    return 0 if all(r.passed for r in results) else 1


def _only(scenarios: tuple[Scenario, ...], ids: list[str] | None) -> tuple[Scenario, ...]:
    if not ids:
        return scenarios
    unknown = sorted(set(ids) - {s.id for s in scenarios})
    if unknown:
        raise SimulationError("scenario-unknown-id", f"no scenario {unknown}")
    return tuple(s for s in scenarios if s.id in ids)


def _known(cases: list[uc.UseCase], scenarios: tuple[Scenario, ...]) -> None:
    ids = {c.id for c in cases}
    for s in scenarios:
        if s.use_case not in ids:
            raise GovernanceError("usecase-unknown", f"{s.id}: no use case {s.use_case!r}")


def _progress(quiet: bool) -> Callable[[Run], None]:
    def show(run: Run) -> None:
        if not quiet:
            verdict = "pass" if run.passed else "FAIL"
            print(f"  {run.scenario} run {run.index}: {verdict}", flush=True)

    return show


def _write(
    settings: Settings, args: argparse.Namespace, results: list[SuiteResult],
    at: float, took_s: float, target: str,
) -> None:  # fmt: skip
    from appliance.simulate.report import markdown

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(at))
    folder = settings.path(settings.paths.var_dir) / "simulations"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for r in results:
        out = folder / f"{r.use_case}-sip-{stamp}.json"
        out.write_text(json.dumps(r.as_dict(), indent=2) + "\n", encoding="utf-8")
        files[r.use_case] = str(out)
    if args.report:
        args.report.write_text(markdown(results, took_s, target), encoding="utf-8")
    if args.json:
        body = [{**r.as_dict(), "evidence_file": files[r.use_case]} for r in results]
        print(json.dumps({"took_s": round(took_s, 1), "results": body}, indent=2))
        return
    for r in results:
        ok = sum(1 for o in r.outcomes if o.passed)
        verdict = "PASS" if r.passed else "FAIL"
        print(f"{r.use_case}: {verdict} (pass^{r.runs_per_scenario} {ok} of {len(r.outcomes)})")
        print(f"  evidence {files[r.use_case]} sha256 {r.sha256()}")
    print(f"took {took_s:.0f} s")
