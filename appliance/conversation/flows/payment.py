"""One run of the PCI payment pause in a call (the policy and the pause's state are in
appliance/governance/pci.py).

A fixed notice, then payment mode: the caller's audio is dropped by `CallerInput` and
keypad digits are only counted. The call is transferred to the clinic's payment IVR
("transfer" mode) or the digits are counted until done ("collect" mode); audit events
mark the start and the end, with the digit count only.
"""

from __future__ import annotations

from appliance.conversation.control import CallControl
from appliance.conversation.prompts import Prompt
from appliance.domain import EventKind
from appliance.governance.pci import PCI_REASON, PaymentPause, PciPolicy


def pci_prompts(policy: PciPolicy) -> dict[Prompt, str]:
    """The pause's fixed texts, to synthesize at start-up (PromptCache keys)."""
    return {
        Prompt.PCI_NOTICE: policy.notice,
        Prompt.PCI_DONE: policy.done,
        Prompt.PCI_FAILED: policy.failed,
    }


class PaymentFlow:
    def __init__(self, control: CallControl, pause: PaymentPause) -> None:
        self._control, self._pause = control, pause

    async def run(self) -> bool:
        """Notice, then transfer or collect; True when the call left the agent."""
        control, pause = self._control, self._pause
        policy = pause.policy
        pause.start()
        control.emit(EventKind.PCI_PAUSE_START, "governance", policy.mode)
        outcome = "failed"
        try:
            await control.say(Prompt.PCI_NOTICE)
            if policy.mode == "transfer":
                outcome = await self._transfer(policy)
            else:
                outcome = await pause.collect()
        finally:
            count = pause.end()
            control.emit(EventKind.PCI_PAUSE_END, "governance", f"{outcome}:{count}-digits")
        if outcome == "transferred":
            return True
        await control.say(Prompt.PCI_DONE if count else Prompt.PCI_FAILED)
        return False

    async def _transfer(self, policy: PciPolicy) -> str:
        if not policy.ivr_uri:
            return "no-ivr"
        control = self._control
        headers = {"X-Appliance-Call": control.call_id, "X-Appliance-Reason": PCI_REASON}
        result = await control.transfer(policy.ivr_uri, headers, policy.transfer_within_s)
        return "transferred" if result.ok else f"transfer-{result.reason}"
