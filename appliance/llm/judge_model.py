"""The post-call judge's model: the appliance's OpenAI-compatible client (appliance/llm/)
behind appliance.quality.judge's `JudgeModel` port, and which model the settings give it
(None when calls use no LLM: the judge is then off)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from appliance.config import Settings
from appliance.domain import ChatMessage
from appliance.llm.client import OpenAIChatModel


class LlmJudgeModel:
    """JudgeModel over the appliance's OpenAI-compatible client (appliance/llm/).

    Each question runs on a short event loop of its own on the caller's thread (the
    scoring job's), with a client made and closed for it."""

    def __init__(
        self, base_url: str, api_key: str, model: str, mode: str, timeout_s: float = 60.0
    ) -> None:
        self._base_url, self._key, self._model = base_url, api_key, model
        self._mode, self._timeout_s = mode, timeout_s

    @property
    def model_name(self) -> str:
        return self._model

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any]) -> str:
        return asyncio.run(self._ask(messages, schema))

    async def _ask(self, messages: Sequence[ChatMessage], schema: dict[str, Any]) -> str:
        chat = OpenAIChatModel(
            self._base_url, self._key, "local", timeout_s=self._timeout_s,
            max_tokens=64, temperature=0.0,
        )  # fmt: skip
        try:
            return await chat.complete_json(messages, schema, self._mode, max_tokens=64)
        finally:
            await chat.close()


def judge_model_from_settings(settings: Settings, api_key: str) -> LlmJudgeModel | None:
    """The judge's model as configured; None when calls use no LLM (the judge is off)."""
    if not settings.llm_used:
        return None
    llm = settings.llm
    name = llm.server.model if llm.server.enabled else llm.model
    mode = settings.workflows.structured_output
    return LlmJudgeModel(llm.base_url, api_key, name, mode)
