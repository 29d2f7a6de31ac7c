"""ChatModel over an OpenAI-compatible HTTP server on loopback.

vllm (`vllm serve`) on a GPU host and llama-cpp-python's server on a CPU host
expose the same API, so the agent only ever sees this small client.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import openai

from appliance.domain import ChatMessage
from appliance.errors import ChatModelError

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

logger = logging.getLogger(__name__)


def _payload(messages: Sequence[ChatMessage]) -> list[ChatCompletionMessageParam]:
    return [
        {"role": m.role, "content": m.content}  # type: ignore[misc]
        for m in messages
    ]


class OpenAIChatModel:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        *,
        timeout_s: float,
        max_tokens: int,
        temperature: float,
    ) -> None:
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )
        self._model = model
        self._max_tokens = max_tokens
        self._temperature = temperature

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        try:
            response = await self._client.chat.completions.create(
                model=self._model,
                messages=_payload(messages),
                max_tokens=self._max_tokens,
                temperature=self._temperature,
                stream=True,
            )
            async for chunk in response:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except openai.APITimeoutError as exc:
            raise ChatModelError(
                "llm-timeout", "the language model did not answer in time"
            ) from exc
        except openai.APIConnectionError as exc:
            raise ChatModelError(
                "llm-unreachable", "cannot reach the language model server"
            ) from exc
        except openai.APIStatusError as exc:
            raise ChatModelError(
                "llm-http-error", f"language model server answered HTTP {exc.status_code}"
            ) from exc
        except openai.OpenAIError as exc:
            raise ChatModelError("llm-failed", type(exc).__name__) from exc

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        mode: str,
        max_tokens: int = 200,
    ) -> str:
        """One reply constrained to `schema`, collected from a stream.

        Streamed so that a caller who stops waiting (the understanding timeout cancels
        this coroutine) closes the connection and the server stops generating: a
        non-streamed request runs to its end and the next turn queues behind it.
        `mode` "json_schema" is the OpenAI/vllm form; "json_object" is llama.cpp's
        (`{"type": "json_object", "schema": ...}`; its json_schema form answers HTTP 500).
        """
        if mode == "json_schema":
            fmt: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": "understanding", "schema": schema, "strict": True},
            }
        else:
            fmt = {"type": "json_object", "schema": schema}
        parts: list[str] = []
        try:
            response = await self._client.chat.completions.create(
                model=self._model,
                messages=_payload(messages),
                max_tokens=max_tokens,
                temperature=0.0,
                stream=True,
                extra_body={"response_format": fmt},
            )
            async with response:
                async for chunk in response:
                    if chunk.choices and chunk.choices[0].delta.content:
                        parts.append(chunk.choices[0].delta.content)
        except openai.APITimeoutError as exc:
            raise ChatModelError(
                "llm-timeout", "the language model did not answer in time"
            ) from exc
        except openai.OpenAIError as exc:
            raise ChatModelError("llm-failed", type(exc).__name__) from exc
        return "".join(parts)

    async def ready(self) -> bool:
        try:
            await self._client.models.list()
        except openai.OpenAIError:
            return False
        return True

    async def close(self) -> None:
        await self._client.close()
