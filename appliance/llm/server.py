"""The CPU LLM engine (llama-cpp-python's OpenAI-compatible server) as a child process.

On a GPU host the same API comes from `vllm serve` under its own systemd unit; this
class is only used when `[llm.server] enabled = true` (development and CPU hosts).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path

import httpx

from appliance.config import LlmServer
from appliance.errors import ChatModelError
from appliance.services.children import spawn, terminate

logger = logging.getLogger(__name__)

MODEL_ALIAS = "local"


class LlmServerProcess:
    def __init__(
        self, cfg: LlmServer, model_file: Path, api_key: str, run_dir: Path, log_file: Path
    ) -> None:
        self._cfg = cfg
        self._model_file = model_file
        self._api_key = api_key
        self._run_dir = run_dir
        self._log_file = log_file
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self._cfg.host}:{self._cfg.port}/v1"

    def _write_config(self) -> Path:
        """Server settings (with the API key) go to a 0600 file, never onto argv."""
        self._run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._run_dir / "llm-server.json"
        settings = {
            "host": self._cfg.host,
            "port": self._cfg.port,
            "api_key": self._api_key,
            "interrupt_requests": False,  # concurrent calls queue instead of cancelling
            "models": [
                {
                    "model": str(self._model_file),
                    "model_alias": MODEL_ALIAS,
                    "n_ctx": self._cfg.context,
                    "n_threads": self._cfg.threads,
                    "n_threads_batch": self._cfg.threads,
                    "verbose": False,
                    # No RAM state cache: llama-cpp-python keeps each cached state's logits
                    # (n_batch x vocab floats, ~290 MB for the 0.5B model) but counts only
                    # the KV bytes (~6 MB) against its 2 GiB cap, so ~70 distinct prompts
                    # grew the server to 21 GB and the kernel killed it (2026-12-06). A
                    # request still reuses the prefix it shares with the one before it.
                    "cache": False,
                }
            ],
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(settings, fh)
        return path

    async def start(self, timeout_s: float = 90.0) -> None:
        if not self._model_file.is_file():
            raise ChatModelError("llm-model-missing", f"model file not found: {self._model_file}")
        config = self._write_config()
        env = {
            **os.environ,
            "CONFIG_FILE": str(config),
            "HF_HUB_OFFLINE": "1",
            "DO_NOT_TRACK": "1",
        }
        argv = [sys.executable, "-m", "llama_cpp.server"]
        self._proc = await spawn(argv, self._log_file, env)
        logger.info("llm server starting", extra={"stage": "llm", "pid": self._proc.pid})
        await self._wait_ready(timeout_s)

    async def _wait_ready(self, timeout_s: float) -> None:
        headers = {"Authorization": f"Bearer {self._api_key}"}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while loop.time() < deadline:
                if self._proc is None or self._proc.returncode is not None:
                    raise ChatModelError(
                        "llm-server-exited", f"LLM server exited; see {self._log_file}"
                    )
                try:
                    response = await client.get(f"{self.base_url}/models", headers=headers)
                    if response.status_code == 200:
                        logger.info("llm server ready", extra={"stage": "llm"})
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.25)
        await self.stop()
        raise ChatModelError("llm-server-timeout", f"LLM server not ready in {timeout_s:.0f} s")

    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def stop(self, grace_s: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            code = await terminate(proc, grace_s)
            logger.info("llm server stopped", extra={"stage": "llm", "code": code})
