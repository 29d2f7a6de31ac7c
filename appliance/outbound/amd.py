"""Answering-machine detection: a simple energy and length heuristic, PHI-free.

A person answers with a short "Hello?" and waits; a machine plays a long greeting
without a pause. So the callee's audio after answer is read in 20 ms frames: a frame is
voiced above `level_dbfs`; pauses shorter than `gap_s` do not break a run of speech.
  machine  a run of speech reaches `machine_s` (a long uninterrupted greeting)
  human    a run of speech ended (a pause of `gap_s`) shorter than that, or nothing was
           said for `silent_s` (some people wait for the caller to speak)
The greeting is over once a machine's run is followed by `end_s` of quiet (the beep, if
any, is short enough to count as part of the greeting's tail or as quiet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from appliance.audio import AudioChunk, rms_dbfs

Verdict = Literal["human", "machine"]


@dataclass(frozen=True, slots=True)
class AmdSettings:
    level_dbfs: float = -40.0
    gap_s: float = 0.6
    machine_s: float = 3.0
    silent_s: float = 2.5
    end_s: float = 1.0


class GreetingClassifier:
    def __init__(self, settings: AmdSettings | None = None) -> None:
        self._s = settings or AmdSettings()
        self.heard_s = 0.0  # s of callee audio fed
        self._run_start: float | None = None  # s, the current run of speech
        self._last_voiced: float | None = None  # s, end of the latest voiced frame
        self.verdict: Verdict | None = None

    def feed(self, chunk: AudioChunk) -> Verdict | None:
        """One frame of the callee's audio; the verdict once there is one."""
        start, self.heard_s = self.heard_s, self.heard_s + chunk.duration
        s = self._s
        if rms_dbfs(chunk.pcm) > s.level_dbfs:
            if self._run_start is None or start - (self._last_voiced or 0.0) >= s.gap_s:
                self._run_start = start
            self._last_voiced = self.heard_s
            if self.verdict is None and self.heard_s - self._run_start >= s.machine_s - 1e-9:
                self.verdict = "machine"
        elif self.verdict is None:
            last = self._last_voiced
            quiet = self.heard_s - last >= s.gap_s if last is not None else False
            silent = last is None and self.heard_s >= s.silent_s - 1e-9
            if quiet or silent:
                self.verdict = "human"
        return self.verdict

    @property
    def greeting_over(self) -> bool:
        """A machine's greeting has ended: `end_s` of quiet after its speech."""
        return (
            self.verdict == "machine"
            and self._last_voiced is not None
            and self.heard_s - self._last_voiced >= self._s.end_s - 1e-9
        )
