"""The result of bench/turn_gap.py: per pipeline the reply's own first audio, the first
sound and the gap at the caller (p50/p90/p99), fillers per turn, the stages, per dialogue
kind, the outcomes, and the issue's bar. Numbers, kinds and codes only: no text."""

from __future__ import annotations

import argparse
from typing import Any

from bench.report import run_info
from bench.turn_gap_store import Placed, StoreReading
from bench.turn_gap_support import summary

BAR = {"reply_audio_out_p50_s": 1.2, "reply_audio_out_p90_s": 2.0, "fillers_per_turn_max": 1}


def _p50(values: list[float]) -> float | None:
    p50 = summary(values)["p50"]
    return float(p50) if p50 is not None else None


def _gaps(calls: list[Placed]) -> list[float]:
    return [g for c in calls for g in c.gaps if g is not None]


def fillers(turns: list[dict[str, Any]]) -> dict[str, Any]:
    """Fillers per caller turn: total, mean, max, the share of turns with more than one."""
    counts = [int(t["fillers"]) for t in turns]
    histogram: dict[str, int] = {}
    for n in counts:
        histogram[str(n)] = histogram.get(str(n), 0) + 1
    return {
        "turns": len(counts),
        "total": sum(counts),
        "per_turn_mean": sum(counts) / len(counts) if counts else None,
        "max_per_turn": max(counts, default=0),
        "share_turns_over_1": sum(n > 1 for n in counts) / len(counts) if counts else None,
        "turns_by_count": dict(sorted(histogram.items())),
    }


def _timing(turns: list[dict[str, Any]], stage: str) -> list[float]:
    return [t["timings"][stage] for t in turns if stage in t["timings"]]


def per_kind(calls: list[Placed], reading: StoreReading | None) -> dict[str, Any]:
    """Per dialogue kind: calls, outcomes reached, and p50s of its turns."""
    out: dict[str, Any] = {}
    for kind in dict.fromkeys(c.kind for c in calls):
        mine = [c for c in calls if c.kind == kind]
        entry: dict[str, Any] = {"calls": len(mine), "caller_gap_p50_s": _p50(_gaps(mine))}
        entry["caller_failed"] = sum(1 for c in mine if c.error)
        if reading is not None:
            turns = [t for t in reading.turns if t["kind"] == kind]
            stored = [c for c in reading.calls if c["kind"] == kind]
            entry |= {
                "turns": len(turns),
                "reply_audio_out_p50_s": _p50(_timing(turns, "reply_audio_out")),
                "first_audio_out_p50_s": _p50(_timing(turns, "first_audio_out")),
                "fillers_max_per_turn": max((t["fillers"] for t in turns), default=0),
                "reached": [c["reached"] for c in stored],
            }
        out[kind] = entry
    return out


def appliance_block(calls: list[Placed], reading: StoreReading) -> dict[str, Any]:
    stages = dict(reading.stages)
    early, eot_early = stages.pop("stt_early", []), stages.pop("eot_early", [])
    lines = sum(len(c.gaps) for c in calls)
    reply = _timing(reading.turns, "reply_audio_out")
    return {
        "reply_audio_out_s": summary(reply),
        "first_audio_out_s": summary(_timing(reading.turns, "first_audio_out")),
        "turn_gap_at_caller_s": summary(_gaps(calls)),
        "fillers": fillers(reading.turns),
        "per_kind": per_kind(calls, reading),
        "stages_s": {stage: summary(values) for stage, values in stages.items()},
        "stt_early_rate": sum(early) / len(early) if early else None,
        "eot_early_rate": sum(eot_early) / len(eot_early) if eot_early else None,
        # > 1: lines taken as two turns (a pause inside cut by the end of turn)
        "caller_turns_per_utterance": len(reading.turns) / max(1, lines),
        "replies_without_timings": sum(1 for t in reading.turns if not t["timings"]),
        "caller_gaps_s": _gaps(calls),
        "reply_audio_out_values_s": reply,
    }


def naive_block(calls: list[Placed], stages: dict[str, list[float]]) -> dict[str, Any]:
    own = stages.get("first_audio_out", [])  # no filler: the first sound is the reply's own
    return {
        "reply_audio_out_s": summary(own),
        "first_audio_out_s": summary(own),
        "turn_gap_at_caller_s": summary(_gaps(calls)),
        "per_kind": per_kind(calls, None),
        "stages_s": {stage: summary(values) for stage, values in stages.items()},
        "caller_gaps_s": _gaps(calls),
    }


def bar(block: dict[str, Any]) -> dict[str, Any]:
    """The issue's bar on 2 cores: reply's own first audio p50 <= 1.2 s, p90 <= 2.0 s;
    at most one filler per turn."""
    reply, most = block["reply_audio_out_s"], block["fillers"]["max_per_turn"]
    p50, p90 = reply["p50"], reply["p90"]
    return {
        "bar": BAR,
        "reply_audio_out_p50_met": p50 is not None and p50 <= BAR["reply_audio_out_p50_s"],
        "reply_audio_out_p90_met": p90 is not None and p90 <= BAR["reply_audio_out_p90_s"],
        "fillers_per_turn_met": most <= BAR["fillers_per_turn_max"],
    }


def assemble(
    args: argparse.Namespace,
    names: list[str],
    placed: dict[str, list[Placed]],
    reading: StoreReading,
    naive_stages: dict[str, list[float]],
) -> dict[str, Any]:
    pipelines = {"appliance": appliance_block(placed["appliance"], reading)}
    if "naive" in placed:
        pipelines["naive"] = naive_block(placed["naive"], naive_stages)
    result: dict[str, Any] = {
        **run_info(),
        "script": "paused" if args.paused_ms is not None else args.script,
        "calls_per_pipeline": args.calls,
        "filler_after_s": args.filler_after,
        "early_stt_ms": args.early_stt_ms,
        "early_end_of_turn": not args.no_early_end,
        "paused_ms": args.paused_ms,
        "stt_window_s": args.stt_window_s,
        "caller_utterances": names,
        "bar_2_cores": bar(pipelines["appliance"]),
        "pipelines": pipelines,
    }
    naive = pipelines.get("naive")
    if naive:
        for name, key in (("turn_gap_at_caller", "turn_gap_at_caller_s"),
                          ("reply_audio", "reply_audio_out_s")):  # fmt: skip
            own, theirs = pipelines["appliance"][key]["p50"], naive[key]["p50"]
            if own and theirs:
                result[f"p50_ratio_{name}_to_naive"] = own / theirs
    result["calls_outline"] = reading.calls
    result["turns"] = reading.turns
    result["note"] = (
        "reply_audio_out_s: the end of the caller's speech (as the appliance's VAD saw it) "
        "to the reply's own first audio handed to the call; first_audio_out_s: to the "
        "first sound (the filler when it played); turn_gap_at_caller_s: the end of the "
        "caller's line to the first agent audio `appliance call` heard (loopback SIP; the "
        "filler counts); fillers: times the filler began per caller turn (the store's "
        "filler events). naive: fixed 800 ms silence, whole transcription, whole free-LLM "
        "reply, whole synthesis; its first sound is its reply."
    )
    return result
