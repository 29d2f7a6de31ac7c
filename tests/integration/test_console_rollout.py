"""The use case screens on the real store (litestar's test client, a virtual clock): the
list shows each use case's tier, state, owner and gate criteria; an owner requests a
promotion and a platform engineer approves it with their own current code and a comment
(the owner cannot approve their own; a wrong code is refused and audited); the checklist
is ticked with evidence links (audited) before pilot; pause and the agent's kill switch
ask for a fresh code first. The rules are appliance/governance/'s: these tests check
that the console reaches them, not the rules themselves (test_governance_promotion.py)."""

from __future__ import annotations

import pyotp
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from appliance.config import Governance
from appliance.console.service import Console
from appliance.governance import checklist, demotion, signoff
from appliance.governance import use_cases as uc
from appliance.store.db import Database
from tests.integration import test_console_screens as screens
from tests.integration.console_seed import Seeded
from tests.integration.rollout_seed import DAY, REPLIED, green, seed_week, simulated
from tests.integration.test_console import hidden
from tests.integration.test_console_screens import WallClock, audit_log, csrf_of, sign_in_as

pytestmark = pytest.mark.integration
db, clock, seeded, console, app = (
    screens.db,
    screens.clock,
    screens.seeded,
    screens.console,
    screens.app,
)
CASE = "/console/use-cases/clinic-information"


def post(client: TestClient[Litestar], path: str, **form: str) -> tuple[int, str]:
    response = client.post(path, data={"csrf": csrf_of(client), **form}, follow_redirects=False)
    return response.status_code, response.text


def state(db: Database, use_case: str = "clinic-information") -> str:
    return uc.states(db)[use_case]


def approve(client: TestClient[Litestar], clock: WallClock, secret: str) -> tuple[int, str]:
    clock.now += 30  # a fresh 30-second step: a code is accepted once
    code = pyotp.TOTP(secret).at(clock.now)
    return post(client, CASE + "/approve", code=code, comment="looked at the gate")


def test_the_list_shows_tier_state_owner_and_each_gate_criterion(
    app: Litestar, console: Console, clock: WallClock, db: Database, seeded: Seeded
) -> None:
    uc.ensure_built_in(db, demo=False, at=clock.now)
    with TestClient(app) as client:
        sign_in_as(client, console, clock, "cora", "compliance-officer")
        page = client.get("/console/use-cases")
        assert page.status_code == 200
        for case in uc.BUILT_IN:
            assert f'id="case-{case.id}"' in page.text
        row = page.text.split('id="case-billing"')[1].split("</tr>")[0]
        assert "<td>high</td>" in row and ">killed<" in row and "voice-ai-owner" in row
        assert '<td class="gate">fail</td>' in row
        assert "calls: <strong>fail</strong>, 0.000 (needs &gt;= 30.0), n=0, too few" in row
        assert "compliance-officer-sign-off: <strong>fail</strong>" in row
        assert 'id="kill-agent"' not in page.text  # a compliance officer may not kill
        one = client.get("/console/use-cases/scheduling")
        assert one.status_code == 200 and 'id="criteria"' in one.text
        assert 'id="item-rollback-plan"' in one.text and 'aria-label="Tick risk-tier"' in one.text
        assert 'id="ask"' not in one.text  # only a role that changes use cases asks
        assert client.get("/console/use-cases/nothing").status_code == 404


def test_a_compliance_officer_signs_off_a_high_risk_use_case(
    app: Litestar, console: Console, clock: WallClock, db: Database, seeded: Seeded
) -> None:
    uc.ensure_built_in(db, demo=False, at=clock.now)
    billing = "/console/use-cases/billing"
    with TestClient(app) as officer, TestClient(app) as engineer:
        cora = sign_in_as(officer, console, clock, "cora", "compliance-officer")
        petra = sign_in_as(engineer, console, clock, "petra", "platform-engineer")
        clock.now += 30
        code = pyotp.TOTP(petra).at(clock.now)
        status, text = post(engineer, billing + "/review", code=code, comment="fine by me")
        assert status == 400 and "compliance-officer" in text and ">fine by me<" in text
        before = officer.get(billing).text
        assert "compliance-officer-sign-off</td><td>0.000" in before
        code = pyotp.TOTP(cora).at(clock.now)
        assert post(officer, billing + "/review", code=code, comment="pilot week read")[0] == 303
        after = officer.get(billing).text
        assert "compliance-officer-sign-off</td><td>1.000</td><td>1</td>" in after
        assert "pilot week read" in after and "killed to review" in after
    [signed] = signoff.signoffs(db, "billing")
    assert (signed["approved_by"], signed["approver_role"]) == ("cora", "compliance-officer")
    denied = [a for a in audit_log(db) if a[1] == "usecase.signoff" and a[3] == "denied"]
    assert denied == [("petra", "usecase.signoff", "billing", "denied", "usecase-approver-role")]


def test_a_promotion_is_requested_by_one_user_and_approved_by_another(
    app: Litestar, console: Console, clock: WallClock, db: Database, seeded: Seeded
) -> None:
    uc.ensure_built_in(db, demo=False, at=clock.now)
    with TestClient(app) as owner, TestClient(app) as engineer:
        olive = sign_in_as(owner, console, clock, "olive", "owner")
        petra = sign_in_as(engineer, console, clock, "petra", "platform-engineer")
        simulated(db, "clinic-information", clock.now)
        assert post(owner, CASE + "/request")[0] == 303
        assert state(db) == "draft"
        mine = owner.get(CASE).text
        assert 'id="own-request"' in mine and 'id="approve"' not in mine
        status, text = approve(owner, clock, olive)  # the requester may not approve
        assert status == 400 and "second person" in text and state(db) == "draft"
        theirs = engineer.get(CASE).text
        assert "olive asked for draft to simulated" in theirs and 'id="approve"' in theirs
        wrong = post(engineer, CASE + "/approve", code="000000", comment="ok")
        assert wrong[0] == 400 and "not accepted" in wrong[1] and state(db) == "draft"
        assert "looked at" not in wrong[1] and ">ok</textarea>" in wrong[1]  # kept
        assert approve(engineer, clock, petra)[0] == 303
        assert state(db) == "simulated"
        [signed] = signoff.signoffs(db, "clinic-information")
        assert (signed["requested_by"], signed["approved_by"]) == ("olive", "petra")
        assert signed["comment"] == "looked at the gate"
        assert "looked at the gate" in engineer.get(CASE).text  # the sign-offs table
        # into pilot the checklist must be complete first
        assert post(owner, CASE + "/request")[0] == 303
        status, text = approve(engineer, clock, petra)
        assert status == 409 and "not done" in text and state(db) == "simulated"
        assert post(engineer, CASE + "/checklist", item="risk-tier", evidence="")[0] == 400
        for item in checklist.ITEM_IDS:
            link = f"https://wiki.example/{item}"
            assert post(engineer, CASE + "/checklist", item=item, evidence=link)[0] == 303
        ticked = engineer.get(CASE).text
        assert '<a href="https://wiki.example/rollback-plan" rel="noreferrer">' in ticked
        assert approve(engineer, clock, petra)[0] == 303
        assert state(db) == "pilot"
    log = audit_log(db)
    requests = [a for a in log if a[1] == "usecase.requested"]
    assert requests == [
        ("olive", "usecase.requested", "clinic-information", "ok", "draft:simulated"),
        ("olive", "usecase.requested", "clinic-information", "ok", "simulated:pilot"),
    ]
    refused = [a[4] for a in log if a[1] == "usecase.signoff" and a[3] == "denied"]
    assert refused == [
        "usecase-needs-approver",
        "usecase-totp-wrong",
        "usecase-checklist-incomplete",
    ]
    ticks = [a for a in log if a[1] == "usecase.checklist"]
    assert len(ticks) == len(checklist.ITEM_IDS) and {a[0] for a in ticks} == {"petra"}
    assert all("wiki" not in (a[4] or "") for a in log)  # the link stays out of the chain


def test_pause_and_the_kill_switch_ask_for_a_fresh_code(
    app: Litestar, console: Console, clock: WallClock, db: Database, seeded: Seeded
) -> None:
    uc.ensure_built_in(db, demo=True, at=clock.now)  # the demo: clinic-information in pilot
    assert state(db) == "pilot"
    with TestClient(app) as client:
        secret = sign_in_as(client, console, clock, "olive", "owner")
        asked = client.post(CASE + "/stop", data={"csrf": csrf_of(client), "to": "paused"})
        assert asked.url.path == "/console/step-up" and state(db) == "pilot"
        data = {
            "csrf": hidden(asked.text, "csrf"),
            "next": hidden(asked.text, "next"),
            "code": pyotp.TOTP(secret).at(clock.now),
        }
        done = client.post("/console/step-up", data=data, follow_redirects=False)
        assert done.headers["location"] == CASE
        assert post(client, CASE + "/stop", to="production")[0] == 409  # not a change down
        assert post(client, CASE + "/stop", to="paused")[0] == 303
        assert state(db) == "paused"
        assert post(client, "/console/agent/kill")[0] == 303
        assert state(db, uc.AGENT) == "killed"
        listed = client.get("/console/use-cases").text
        assert "The agent is <strong>killed</strong>" in listed and 'id="kill-agent"' not in listed
    log = audit_log(db)
    assert ("olive", "usecase.state", "clinic-information", "ok", "paused") in log
    assert ("olive", "usecase.killed", "*", "ok", "killed") in log


def test_an_automatic_demotion_is_a_banner_for_the_sign_off_roles(
    app: Litestar, console: Console, clock: WallClock, db: Database, seeded: Seeded
) -> None:
    uc.ensure_built_in(db, demo=True, at=clock.now - 30 * DAY)  # clinic-information: pilot
    seed_week(db, "ok", REPLIED, 20, now=clock.now - 60)
    seed_week(db, "flag", REPLIED, 2, now=clock.now, verdicts=green("consent-honoured"))
    with TestClient(app) as owner, TestClient(app) as lead:
        sign_in_as(owner, console, clock, "olga", "owner")
        assert 'id="demoted"' not in owner.get("/console/use-cases").text
        [done] = demotion.enforce(db, Governance(min_calls=20), clock.now)
        banner = owner.get("/console/use-cases").text.split('id="demoted"')[1].split("</div>")[0]
        assert "clinic-information</a>" in banner and ": compliance-flag-rate</li>" in banner
        sign_in_as(lead, console, clock, "lena", "contact-centre-lead")
        assert 'id="demoted"' not in lead.get("/console/use-cases").text  # not a sign-off role
        history = owner.get(CASE).text
        assert "gate failed: compliance-flag-rate" in history and done.sha256 in history
        uc.change(db, uc.Change("clinic-information", "killed", "olga"), clock.now + 60)
        assert 'id="demoted"' not in owner.get("/console/use-cases").text  # no longer paused
