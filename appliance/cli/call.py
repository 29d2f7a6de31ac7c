"""Output of `appliance call`: speak phrases, then print what was heard and the timings."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from appliance.artifacts.model_files import model_dir
from appliance.audio import AudioChunk, read_wav, resample, write_wav
from appliance.cli.testcall import CallReport, place_call
from appliance.config import Settings
from appliance.speech.stt import WhisperStt
from appliance.speech.tts import PiperTts


def _phrases(settings: Settings, args: argparse.Namespace) -> list[tuple[str, AudioChunk]]:
    out: list[tuple[str, AudioChunk]] = []
    if args.say:
        tts = PiperTts.load(model_dir(settings.models_dir, settings.tts.voice), settings.tts.voice)
        out += [(text, tts.synthesize_all(text)) for text in args.say]
    for path in args.play:
        chunk = read_wav(Path(path).read_bytes())
        out.append((str(path), AudioChunk(resample(chunk.pcm, chunk.rate, 16_000), 16_000)))
    return out


def _transcribe(settings: Settings, report: CallReport) -> list[str]:
    stt = WhisperStt.load(model_dir(settings.models_dir, settings.stt.model), settings.stt)
    heard, texts = report.heard, []
    for turn in report.turns:
        pcm = bytes(heard.pcm[heard.offset(turn.start - 0.2) : heard.offset(turn.end + 0.3)])
        texts.append(stt.transcribe_pcm(pcm, heard.rate).text.strip() if pcm else "")
    return texts


async def run_call(settings: Settings, args: argparse.Namespace) -> int:
    phrases = await asyncio.to_thread(_phrases, settings, args)
    report = await place_call(
        settings, args.uri, phrases, timeout_s=args.timeout, follow_transfers=args.follow_transfer
    )
    if args.record:
        wav = write_wav(AudioChunk(bytes(report.heard.pcm), report.heard.rate))
        await asyncio.to_thread(Path(args.record).write_bytes, wav)
    texts = await asyncio.to_thread(_transcribe, settings, report)
    turns = [
        {"said": t.said, "gap_s": t.gap_s, "heard": text}
        for t, text in zip(report.turns, texts, strict=True)
    ]
    if args.json:
        print(json.dumps({"answered": True, "answer_s": report.answer_s, "turns": turns}))
        return 0
    print(f"answered in {report.answer_s * 1000:.0f} ms")
    for turn in turns:
        if turn["said"] is not None:
            print(f"caller: {turn['said']}")
        gap = turn["gap_s"]
        timing = f" (after {gap * 1000:.0f} ms)" if isinstance(gap, float) else ""
        print(f"agent{timing}: {turn['heard']}")
    return 0
