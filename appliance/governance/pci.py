"""PCI pause: card data never reaches STT, the LLM, the store, logs or recordings.

The policy and the pause's state are here; the flow that runs it in a call is
appliance/conversation/flows/payment.py.

When a caller must pay (a configured phrase, or the workflow's directive), the session
says a fixed notice and enters payment mode. While it lasts, caller audio is dropped
(not buffered: the VAD and STT never see it), nothing is added to the LLM context, and
keypad digits are only counted, never kept. Then the call is either transferred to the
clinic's PCI-compliant payment IVR ("transfer") or the digits are counted until the
expected number or the end key ("collect": the card data itself goes to the payment
provider on the PBX side, never to the appliance). Audit events mark the start and the
end, with the digit count only.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from appliance.audio import AudioChunk, rms_dbfs
from appliance.config import Pci
from appliance.ports import CallHandle, Clock

# The fixed texts of the pause (PciPolicy's defaults): prepared even when the pause is
# off, so that the set of prompts never depends on the configuration.
PCI_NOTICE = (
    "For your security, I will not listen to or record anything while you pay. "
    "Please enter your card number on your keypad, then press the pound key."
)
PCI_DONE = "Thank you, your card details were entered. Is there anything else I can do?"
PCI_FAILED = (
    "I'm sorry, I can't take your payment right now. "
    "Please call the front desk to pay. Is there anything else I can do?"
)
DEFAULT_TRIGGERS = (
    "pay my bill",
    "make a payment",
    "pay by card",
    "pay with a card",
    "pay with my card",
    "credit card",
    "debit card",
)
PCI_REASON = "pci-payment"  # X-Appliance-Reason on the transfer to the payment IVR
QUIET_DBFS = -45.0  # a caller frame below this level is quiet
RESUME_QUIET_S = 0.6  # s of quiet caller audio before listening resumes after payment mode
RESUME_MAX_S = 5.0  # s after payment mode when listening resumes anyway (noisy line)


@dataclass(frozen=True, slots=True)
class PciPolicy:
    """The session's view of the [pci] settings (the struct itself), with the pause's
    fixed texts."""

    settings: Pci = field(default_factory=Pci)
    transfer_within_s: float = 20.0  # s to wait for the IVR to answer
    notice: str = PCI_NOTICE
    done: str = PCI_DONE
    failed: str = PCI_FAILED

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    @property
    def mode(self) -> str:
        return self.settings.mode

    @property
    def ivr_uri(self) -> str:
        return self.settings.ivr_uri

    @property
    def expected_digits(self) -> int:
        return self.settings.expected_digits

    @property
    def end_key(self) -> str:
        return self.settings.end_key

    @property
    def timeout_s(self) -> float:
        return self.settings.timeout_s

    @property
    def triggers(self) -> tuple[str, ...]:
        """Caller phrases that start payment mode ([pci] triggers, else the built-in ones)."""
        return tuple(t.lower() for t in self.settings.triggers) or DEFAULT_TRIGGERS

    def triggered(self, text: str) -> bool:
        """True when payment mode is on and `text` asks to pay (whole words, any case)."""
        if not self.enabled:
            return False
        words = " ".join(re.findall(r"[a-z']+", text.lower()))
        return any(re.search(rf"\b{re.escape(p)}\b", words) for p in self.triggers)


class PaymentPause:
    """Payment mode of one call. Counts keypad digits; never keeps or logs them."""

    def __init__(self, policy: PciPolicy, clock: Clock) -> None:
        self.policy = policy
        self._clock = clock
        self.active = False
        self.count = 0  # digits entered in the current (or last) payment mode
        self.ignored = 0  # digits pressed outside payment mode (dropped too)
        self._done = asyncio.Event()
        self._quiet = RESUME_QUIET_S  # s of quiet caller audio since payment mode ended
        self._after = RESUME_MAX_S  # s of caller audio since payment mode ended

    def start(self) -> None:
        self.active, self.count = True, 0
        self._done.clear()

    def end(self) -> int:
        """Leave payment mode; the number of digits entered."""
        self.active = False
        self._done.set()
        self._quiet = self._after = 0.0
        return self.count

    def drops(self, chunk: AudioChunk) -> bool:
        """True when this caller frame must be dropped unheard: in payment mode, and after
        it until the caller has been quiet for a moment (the tail of a card number spoken
        aloud must not reach the VAD either)."""
        if self.active:
            return True
        if self._quiet >= RESUME_QUIET_S - 1e-6 or self._after >= RESUME_MAX_S - 1e-6:
            return False
        self._after += chunk.duration
        quiet = rms_dbfs(chunk.pcm) < QUIET_DBFS
        self._quiet = self._quiet + chunk.duration if quiet else 0.0
        return True

    def key(self, digit: str) -> None:
        """One keypad digit: counted in payment mode, dropped otherwise."""
        if not self.active:
            self.ignored += 1
            return
        if digit == self.policy.end_key:
            self._done.set()
            return
        self.count += 1
        if self.count >= self.policy.expected_digits:
            self._done.set()

    async def consume(self, call: CallHandle) -> None:
        """Feed the call's keypad digits to `key` until the call ends."""
        async for pressed in call.dtmf():
            self.key(pressed.digit)

    async def collect(self) -> str:
        """Wait for the digits: "complete", "end-key" or "timeout"."""
        timer = asyncio.ensure_future(self._clock.sleep(self.policy.timeout_s))
        done = asyncio.ensure_future(self._done.wait())
        try:
            await asyncio.wait({timer, done}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (timer, done):
                pending.cancel()
            await asyncio.gather(timer, done, return_exceptions=True)
        if not self._done.is_set():
            return "timeout"
        return "complete" if self.count >= self.policy.expected_digits else "end-key"
