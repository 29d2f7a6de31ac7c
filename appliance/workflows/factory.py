"""Building the per-call workflow agent from the settings."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from appliance.config import Settings
from appliance.demo import config as demo_config
from appliance.llm.client import OpenAIChatModel
from appliance.llm.understanding import LlmIntents
from appliance.outbound.inbound_optout import InboundOptOuts
from appliance.scheduling.builtin import BuiltinSchedule
from appliance.store.bootstrap import audit_key
from appliance.store.db import Database
from appliance.store.pseudonyms import caller_hash_key
from appliance.workflows.agent import ClinicAgent
from appliance.workflows.engine import Policy, WorkflowEngine
from appliance.workflows.handoff_store import HandoffStore
from appliance.workflows.kb import KnowledgeBase, Topic, load_kb
from appliance.workflows.kb_versions import LiveKnowledgeBase
from appliance.workflows.lockout import IdentityLockouts
from appliance.workflows.understander import Understander
from appliance.workflows.use_case_gate import UseCaseGate


def knowledge_base(settings: Settings) -> KnowledgeBase:
    """The configured KB file; else the demo clinic's ([demo] clinic); else one built
    from [clinic] hours and facts."""
    path = demo_config.kb_path(settings)
    if path is not None:
        return load_kb(path)
    c = settings.clinic
    topics = [
        Topic(
            "hours",
            ["hours", "open", "close", "opening", "closing"],
            f"The front desk is open {c.front_desk_hours}.",
        )
    ]
    if c.facts:
        topics.append(Topic("facts", ["park", "parking", "where", "address"], c.facts))
    return KnowledgeBase(topics)


def clinic_engines(settings: Settings, db: Database) -> Callable[[], WorkflowEngine]:
    """A factory of WorkflowEngine, one per call: the clinic's schedule, approved KB,
    policy, identity lockouts and live use cases (for inbound calls and for a move asked
    on a reminder call, appliance.outbound.reminder_move)."""
    tz = ZoneInfo(settings.clinic.timezone)
    schedule = BuiltinSchedule(db, tz)
    kb = LiveKnowledgeBase(db, knowledge_base(settings))  # the approved answers only
    policy = Policy(emergency_number=settings.workflows.emergency_number)
    lockouts = IdentityLockouts(db)
    use_cases = UseCaseGate(db)  # one per process: read at most every 2 s for all calls

    def new_engine() -> WorkflowEngine:
        return WorkflowEngine(
            schedule, kb.current(), tz, policy, lockouts=lockouts, use_cases=use_cases
        )

    return new_engine


def clinic_agents(
    settings: Settings, db: Database, llm: OpenAIChatModel
) -> Callable[[], ClinicAgent]:
    """A factory of ClinicAgent, one per call (each call has its own dialogue state)."""
    wf = settings.workflows
    intents = LlmIntents(llm, mode=wf.structured_output, timeout_s=wf.understand_timeout_s)
    understander = Understander(intents, wf.llm_intents)
    handoffs, engines = HandoffStore(db), clinic_engines(settings, db)
    # an opt-out said on any call takes the caller's number off the reminder list
    opt_outs = InboundOptOuts(db, caller_hash_key(audit_key(settings)))

    def new_agent() -> ClinicAgent:
        return ClinicAgent(understander, engines(), handoffs, opt_outs=opt_outs)

    return new_agent
