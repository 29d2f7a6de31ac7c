"""The monthly platform report and the quarterly compliance report through the CLI, on a
seeded SQLCipher store with known answers (JSON and markdown); the PHI seeded beside them
(a caller's words, a patient's name, birth date and number, the patient id) appears in
neither."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.services.app_db import open_store
from appliance.store.audit import AuditEvent, append_audit
from appliance.store.db import Connection
from tests.integration.rollout_seed import Clock, enrol
from tests.integration.test_governance_cli import cli

pytestmark = pytest.mark.integration
NOV = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
CANARIES = ("Zebulon", "Quillfeather", "1961-04-02", "+15550142", "pt-canary-77", "my knee hurts")
CALL = (
    "INSERT INTO calls (call_id, started_at, ended_at, codec, remote_hash, outcome) V"
    "ALUES (?, ?, ?, 'pcmu', 'h', ?)"
)
ANSWERED = "INSERT INTO call_events (call_id, kind, at) VALUES (?, 'answered', ?)"
TURN = (
    "INSERT INTO turns (call_id, seq, speaker, text, started_at, ended_at, timings) V"
    "ALUES (?, 1, 'agent', ?, ?, ?, ?)"
)
FAILED = (
    "INSERT INTO call_events (call_id, kind, stage, code, at) VALUES ('c1', 'stage-fa"
    "iled', 'llm', 'llm-timeout', ?)"
)
CONSENT = (
    "INSERT INTO outbound_consents (patient_id, number, number_hash, kind, source, gi"
    "ven_at, revoked_at, revoked_source) VALUES (?, ?, ?, 'written', 'form', ?, ?, ?)"
)
GAPS = [0.8, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 3.4, 4.0, 6.0]  # P50 2.0, P90 4.0, P99 6.0


def seed(conn: Connection, db_signer: object, every: int) -> None:
    for i, gap in enumerate(GAPS):  # 10 calls, two at a time: peak 2
        at = NOV + 86400 + (i // 2) * 3600
        outcome = "interrupted" if i == 9 else "completed"
        conn.execute(
            CALL,
            (f"c{i}", at, at + 60, outcome),
        )
        if i < 8:  # 8 of 10 answered
            conn.execute(
                ANSWERED,
                (f"c{i}", at),
            )
        conn.execute(
            TURN,
            (f"c{i}", CANARIES[5], at + 5, at + 6, json.dumps({"first_audio_out": gap})),
        )
    conn.execute(
        FAILED,
        (NOV + 86400,),
    )
    conn.execute(
        "INSERT INTO call_events (call_id, kind, code, at)"
        " VALUES ('c2', 'pci-pause-start', 'pause', ?)",
        (NOV + 86400,),
    )
    conn.execute(
        "INSERT INTO patients VALUES (?, ?, ?, ?, ?)",
        (CANARIES[4], CANARIES[0], CANARIES[1], CANARIES[2], CANARIES[3]),
    )
    for j, (given, revoked) in enumerate(((NOV, None), (NOV - 90 * 86400, NOV + 5))):
        conn.execute(
            CONSENT,
            (CANARIES[4], CANARIES[3], f"h{j}", given, revoked, "front-desk" if revoked else None),
        )
    conn.execute("INSERT INTO outbound_dnc VALUES ('h9', 'internal', 'keypress', ?)", (NOV + 9,))


def test_the_platform_and_compliance_reports(tmp_path: Path) -> None:
    var = tmp_path / "var"
    config = tmp_path / "appliance.toml"
    config.write_text(
        f'[paths]\nvar_dir = "{var}"\n[sip]\nworkers = 3\n'
        f'[store]\ndb_file = "{var}/appliance.db"\nkey_file = "{var}/keys/db.key"\n'
        f'audit_key_file = "{var}/keys/audit-signing.key"\n'
    )
    db, _ = open_store(load_settings(config))
    try:
        enrol(db, "cora", "compliance-officer", Clock(time.time() - 120))
        enrol(db, "pete", "platform-engineer", Clock(time.time() - 60))
        db.execute(seed, None, 0)
        signin = AuditEvent(actor="cora", actor_role="compliance-officer", action="console.signin",
                            reason_code="totp", component="console", at=NOV + 100)  # fmt: skip
        db.execute(lambda c: append_audit(c, signin, db.audit_signer, db.audit_checkpoint_every))
    finally:
        db.close()

    done = cli(config, "platform", "--month", "2026-11", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["latency"] == {"turns": 10, "p50_s": 2.0, "p90_s": 4.0, "p99_s": 6.0}
    assert body["capacity"] == {"peak_concurrent_calls": 2, "slots": 12}
    assert body["sla"]["answer_rate"] == 0.8 and body["sla"]["turns_within_s"] == {
        "3.5": 8,
        "5.0": 9,
    }
    assert body["sla"]["p90_objective_met"] is False
    assert body["incidents"]["interrupted_calls"] == 1
    assert body["incidents"]["stage_failures"] == {"llm:llm-timeout": 1}
    assert (
        json.loads(cli(config, "platform", "--month", "2026-10", "--json").stdout)["latency"][
            "turns"
        ]
        == 0
    )

    done = cli(config, "compliance", "--quarter", "2026-Q4", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["consents"] == {"given": 1, "revoked": 1}
    assert body["opt_outs"] == {"internal": 1} and body["pci_pauses"] == 1
    access = {a["user"]: (a["role"], a["last_sign_in"]) for a in body["access_review"]}
    assert access["cora"][0] == "compliance-officer" and access["cora"][1] is not None  # audited
    assert access["pete"] == ("platform-engineer", None)

    texts = [
        cli(config, *a).stdout
        for a in (("platform", "--month", "2026-11"), ("compliance", "--quarter", "2026-Q4"))
    ]
    assert "# Platform report 2026-11" in texts[0] and "p90_s: 4.000" in texts[0]
    assert "# Compliance report 2026-Q4" in texts[1] and "user: cora" in texts[1]
    for text in [*texts, done.stdout]:
        for canary in CANARIES:
            assert canary not in text
    bad = cli(config, "compliance", "--quarter", "2026-Q5")
    assert bad.returncode == 2 and "review-quarter-invalid" in bad.stderr
