"""An opt-out said on an inbound call, through the agent plane, on the real store: the
caller's number (known by its keyed hash only) loses its consents and goes on the DNC
list at once, audited; the caller hears the vetted confirmation; the plan then excludes
the number, whichever form the PBX presented it in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.domain import CallId
from appliance.errors import OutboundError
from appliance.outbound import templates as say
from appliance.outbound.inbound_optout import InboundOptOuts
from appliance.outbound.ledger import Ledger
from appliance.outbound.planner import Limits, Planner
from appliance.ports import AgentTurn
from appliance.store.db import Connection, Database
from appliance.store.pseudonyms import caller_hash
from appliance.workflows.agent import ClinicAgent
from appliance.workflows.engine import WorkflowEngine
from appliance.workflows.kb import KnowledgeBase, Topic
from tests.integration.outbound_support import KEY, NY, book, consent, ledger, open_store
from tests.unit.test_clinic_agent import NoSchedule, Scripted, understander

pytestmark = pytest.mark.integration

WEDNESDAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=NY)
GIVEN = datetime(2026, 10, 1, 9, 0, tzinfo=NY)
P4 = "+12125550144"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(tmp_path / "o.db")
    yield store
    store.close()


def agent(db: Database, llm: Scripted) -> ClinicAgent:
    kb = KnowledgeBase([Topic("parking", ["park"], "Park behind the building.")])
    engine = WorkflowEngine(NoSchedule(), kb, ZoneInfo("UTC"))  # type: ignore[arg-type]
    hook = InboundOptOuts(db, KEY, clock=lambda: NOW.timestamp())
    return ClinicAgent(understander(llm), engine, opt_outs=hook)


async def say_to(a: ClinicAgent, text: str, remote: str) -> list[str]:
    key = caller_hash(KEY, remote) if remote else ""
    reply = a.respond(AgentTurn(CallId("call-7"), text, [], key))
    return [piece async for piece in reply.text]


def plan(db: Database) -> list[tuple[str, str | None]]:
    p = Planner(db, KEY, (NY, time(9), time(20)), Limits(2, 3))
    return [(d.action, d.reason) for d in p.plan(WEDNESDAY, NOW)]


def audit_of(db: Database, call_id: str) -> list[tuple[str, str, str]]:
    def read(conn: Connection) -> list[tuple[str, str, str]]:
        rows = conn.execute(
            "SELECT action, reason_code, actor FROM audit WHERE call_id = ? ORDER BY seq",
            (call_id,),
        )
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    return db.query(read)


def dnc_rows(db: Database) -> int:
    return int(db.query(lambda c: c.execute("SELECT count(*) FROM outbound_dnc").fetchone()[0]))


@pytest.mark.parametrize("remote", [f"sip:{P4}@pbx.local", "sip:2125550144@pbx.local"])
async def test_stop_calling_me_revokes_lists_and_is_confirmed(db: Database, remote: str) -> None:
    book_of: Ledger = ledger(db)
    book(db, "a4", "p4", datetime.combine(WEDNESDAY, time(11), NY))
    consent(book_of, "p4", P4, GIVEN)
    assert plan(db) == [("call-now", None)]
    llm = Scripted("other")
    out = await say_to(agent(db, llm), "Please take me off your list.", remote)
    assert out == [say.opted_out_inbound()] and llm.asked == []  # the workflow not asked
    assert book_of.consent("p4", P4) == "revoked" and book_of.on_dnc(P4)
    assert plan(db) == [("excluded", "dnc")]
    assert audit_of(db, "call-7")[0] == ("consent.revoked", "call", "caller")
    assert ("dnc.added", "internal", "caller") in audit_of(db, "call-7")


async def test_an_opt_out_before_any_consent_still_blocks_a_later_one(db: Database) -> None:
    out = await say_to(agent(db, Scripted("other")), "Stop calling me!", "sip:2125550144@pbx")
    assert out == [say.opted_out_inbound()] and dnc_rows(db) == 1
    book_of = ledger(db)
    book(db, "a4", "p4", datetime.combine(WEDNESDAY, time(11), NY))
    consent(book_of, "p4", P4, GIVEN)  # consent given later at the desk: still not dialled
    assert book_of.consent("p4", P4) == "active" and plan(db) == [("excluded", "dnc")]


async def test_a_withheld_number_is_told_and_nothing_is_listed(db: Database) -> None:
    for remote in ("sip:anonymous@pbx", ""):
        out = await say_to(agent(db, Scripted("other")), "Stop calling me.", remote)
        assert out == [say.opt_out_no_number()]
    assert dnc_rows(db) == 0
    assert audit_of(db, "call-7") == [("dnc.not-added", "opt-out-no-number", "caller")] * 2


async def test_words_that_are_no_opt_out_go_to_the_workflows(db: Database) -> None:
    book_of = ledger(db)
    consent(book_of, "p4", P4, GIVEN)
    a = agent(db, Scripted("other"))
    out = await say_to(a, "Where do I park? Don't stop calling me.", f"sip:{P4}@pbx")
    assert out == ["Park behind the building. Is there anything else I can help you with?"]
    assert book_of.consent("p4", P4) == "active" and dnc_rows(db) == 0


def test_the_ledger_takes_a_keyed_hash_only(db: Database) -> None:
    with pytest.raises(OutboundError) as err:
        ledger(db).opt_out_caller(P4, NOW.timestamp())  # a number is no hash
    assert err.value.code == "outbound-bad-caller-key"
    assert ledger(db).opt_out_caller(caller_hash(KEY, P4), NOW.timestamp()) == 0
    assert ledger(db).on_dnc("(212) 555-0144")


async def test_the_clinic_agents_the_runtime_builds_honour_an_opt_out(tmp_path: Path) -> None:
    from appliance.config import load_settings
    from appliance.store.bootstrap import audit_key, open_database
    from appliance.store.pseudonyms import caller_hash_key
    from appliance.workflows.factory import clinic_agents
    from tests.conftest import store_config
    from tests.integration.outbound_support import STORE_MIGRATIONS

    settings = load_settings(store_config(tmp_path))
    db = open_database(settings, STORE_MIGRATIONS, create=True)
    try:
        key = caller_hash_key(audit_key(settings))  # the runtime's caller-hash key
        new_agent = clinic_agents(settings, db, Scripted("other"))  # type: ignore[arg-type]
        turn = AgentTurn(CallId("in-9"), "Take me off your list.", [], caller_hash(key, P4))
        said = [piece async for piece in new_agent().respond(turn).text]
        assert said == [say.opted_out_inbound()]
        assert Ledger(db, key).on_dnc(P4) and not Ledger(db, key).on_dnc("+12125550145")
    finally:
        db.close()
