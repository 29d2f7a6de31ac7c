"""The naive voice pipeline, for comparison in bench/turn_gap.py: same models, no overlap.

    python bench/naive_agent.py --config bench.toml --port 5099 --out naive.jsonl

A SIP agent (pjsua2, on 127.0.0.1) that does what a first voice bot does: wait for a
fixed 800 ms of silence (Silero VAD), transcribe the whole utterance (Whisper), ask the
LLM for the whole reply (the same llama.cpp server, prompt and settings as the
appliance), synthesize all of it (Piper), then play it. No streaming, no filler, no
barge-in. Each turn's stage times (s after the end of the caller's speech) go to
`--out` as one JSON line (no text). It prints "ready" once it listens, and stops when
stdin closes.

The appliance's default (the clinic agent with `[workflows] llm_intents = "never"`) does
not start the LLM server: then this agent starts it itself, on the configured port, and
warms it up with its prompt before it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import msgspec

from appliance.artifacts.model_files import model_dir
from appliance.config import Vad, load_settings
from appliance.conversation.prompts import clinic_prompts
from appliance.domain import ChatMessage
from appliance.llm.client import OpenAIChatModel
from appliance.llm.server import MODEL_ALIAS, LlmServerProcess
from appliance.ports import CallHandle
from appliance.services.runtime import llm_server
from appliance.sip import PjsipTelephony
from appliance.speech.stt import WhisperStt
from appliance.speech.tts import PiperTts
from appliance.speech.vad import SileroTurnDetector
from appliance.store.bootstrap import llm_api_key

NAIVE_SILENCE_MS = 800


class Naive:
    def __init__(self, config: Path, out: Path) -> None:
        s = load_settings(config)
        self.settings = s
        self.out = out
        self.stt = WhisperStt.load(model_dir(s.models_dir, s.stt.model), s.stt, s.clinic.name)
        self.stt.warm_up()
        self.tts = PiperTts.load(model_dir(s.models_dir, s.tts.voice), s.tts.voice)
        c = s.clinic
        self.prompts = clinic_prompts(c.name, c.front_desk_hours, c.facts)
        self.greeting = self.tts.synthesize_all(self.prompts.greeting)
        self.vad = Vad(
            threshold=s.vad.threshold,
            min_speech_ms=s.vad.min_speech_ms,
            min_silence_ms=NAIVE_SILENCE_MS,
            max_utterance_s=s.vad.max_utterance_s,
        )
        self.llm = OpenAIChatModel(
            s.llm.base_url,
            llm_api_key(s),
            MODEL_ALIAS if s.llm.server.enabled else s.llm.model,
            timeout_s=s.llm.timeout_s,
            max_tokens=s.llm.max_tokens,
            temperature=s.llm.temperature,
        )

    async def handle(self, call: CallHandle) -> None:
        detector = SileroTurnDetector(self.vad)
        history: list[ChatMessage] = []
        await call.play(self.greeting)
        await call.drain()
        async for chunk in call.frames():
            utterance = detector.feed(chunk)
            if utterance is None:
                continue
            anchor = utterance.speech_end
            times = {"end_of_turn": utterance.detected_at - anchor}
            transcript = await self.stt.transcribe(utterance)
            times["stt_done"] = time.monotonic() - anchor
            user = ChatMessage("user", transcript.text.strip() or "Hello.")
            messages = [ChatMessage("system", self.prompts.system), *history, user]
            reply = "".join([delta async for delta in self.llm.stream(messages)]).strip()
            times["llm_done"] = time.monotonic() - anchor
            audio = await asyncio.to_thread(self.tts.synthesize_all, reply or "Sorry.")
            times["tts_done"] = time.monotonic() - anchor
            await call.play(audio)
            first = await call.drain()
            times["first_audio_out"] = (first if first is not None else time.monotonic()) - anchor
            history = [*history, user, ChatMessage("assistant", reply)][-8:]
            with self.out.open("a") as fh:
                fh.write(json.dumps(times) + "\n")
            detector.reset()  # what the caller said while we were busy is not a turn

    async def start_llm(self) -> LlmServerProcess | None:
        """The LLM server, when the appliance does not run one; warmed up either way."""
        s, server = self.settings, None
        if s.llm.server.enabled and not s.llm_used:
            server = llm_server(s, llm_api_key(s))
            await server.start()
        messages = [ChatMessage("system", self.prompts.system), ChatMessage("user", "Hello.")]
        async for _ in self.llm.stream(messages):
            pass
        return server

    async def close(self) -> None:
        await self.llm.close()
        self.stt.close()
        self.tts.close()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rtp-port", type=int, default=41000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    naive = await asyncio.to_thread(Naive, args.config, args.out)
    server = await naive.start_llm()
    sip = msgspec.structs.replace(
        naive.settings.sip,
        host="127.0.0.1",
        port=args.port,
        transports=["udp"],
        rtp_port=args.rtp_port,
        rtp_port_range=40,
    )
    telephony = PjsipTelephony(sip, user_agent="naive-agent")
    await telephony.start(naive.handle)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    await telephony.stop()
    await naive.close()
    if server is not None:
        await server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
