"""Transfer outcomes and caller messages as Prometheus counters (closed label values).

The counters live in their own registry: under `appliance run` every process writes
them to PROMETHEUS_MULTIPROC_DIR and the admin's /metrics merges them, so the transfer
success rate is `appliance_transfers_total{outcome="success"} / sum(appliance_transfers_total)`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from appliance.ports import TransferOutcome

OUTCOMES = ("success", "busy", "no_answer", "timeout", "failed")
MESSAGE_KINDS = ("message", "callback")
BUSY = frozenset({486, 600})
NO_ANSWER = frozenset({408, 480, 487})

REGISTRY = CollectorRegistry()
TRANSFERS = Counter(
    "appliance_transfers", "Transfers to a human, by outcome", ["outcome"], registry=REGISTRY
)
MESSAGES = Counter(
    "appliance_caller_messages",
    "Messages and callback requests taken after a failed transfer",
    ["kind"],
    registry=REGISTRY,
)
for _outcome in OUTCOMES:  # export every outcome from the start, with zero counts
    TRANSFERS.labels(outcome=_outcome)
for _kind in MESSAGE_KINDS:
    MESSAGES.labels(kind=_kind)


def classify(result: TransferOutcome) -> str:
    """success | busy | no_answer | timeout | failed, from a transfer's result."""
    if result.ok:
        return "success"
    status = getattr(result, "status", None)
    if status in BUSY:
        return "busy"
    if status in NO_ANSWER:
        return "no_answer"
    if result.reason == "timeout":
        return "timeout"
    return "failed"


def count_transfer(outcome: str) -> None:
    TRANSFERS.labels(outcome=outcome if outcome in OUTCOMES else "failed").inc()


def count_message(kind: str) -> None:
    MESSAGES.labels(kind=kind if kind in MESSAGE_KINDS else "message").inc()


def transfers(outcome: str) -> float:
    """The count so far in this process (tests, and the success rate on a single process)."""
    value = REGISTRY.get_sample_value("appliance_transfers_total", {"outcome": outcome})
    return float(value or 0.0)
