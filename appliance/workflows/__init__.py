"""Clinic workflows: the agent plane's deterministic policy.

The LLM only understands (intent + slots, appliance.llm.understanding); this package
decides and acts, and every reply comes from a vetted template filled with facts that
the schedule or the knowledge base returned.
"""
