"""What a call session does beyond answering: agent-plane directives, transfer, payment."""

from __future__ import annotations

from appliance.conversation.prompts import Prompt
from appliance.conversation.speaking import SpeakingMixin
from appliance.governance.consent import audit_actions
from appliance.governance.pci import PaymentFlow
from appliance.ports import Directed
from appliance.workflows.transfer_flow import TransferFlow


class DirectivesMixin(SpeakingMixin):
    """Hands the call on: to the front desk (transfer) or into the PCI payment pause."""

    async def _follow(self) -> bool:
        """Act on the agent plane's directive after a reply; True when the call is over."""
        llm = self._d.llm
        await audit_actions(llm, self._d.recorder, self._call.call_id, self._d.clock.time())
        directive = llm.directive() if isinstance(llm, Directed) else None
        if directive is None:
            return False
        if directive.payment and self._d.pci.enabled:
            return await self._payment()
        if directive.transfer_reason:
            return await self._transfer(directive.transfer_reason)
        if directive.end_call:
            await self._call.hangup()
            return True
        return False

    async def _transfer(self, reason: str) -> bool:
        """Hand the caller to the front desk: handoff packet, hold prompt, blind or attended
        transfer (with the whisper); if no human answers, the caller stays and is offered
        a message (transfer_flow.py)."""
        d, p = self._d, self._d.prompts
        self._event("transfer", code=reason)
        texts = {Prompt.HOLD: p.hold, Prompt.NO_TRANSFER: p.no_transfer}
        flow = TransferFlow(self._call, d.front_desk_uri, d.recorder, d.clock, d.llm,
                            lambda key: self._say(key, texts[key]), self._say_text,
                            self._out.stop, d.transfer_mode, d.whisper,
                            d.tts.synthesize)  # fmt: skip
        return await flow.run(reason)

    async def _payment(self) -> bool:
        """PCI pause (appliance/governance/pci.py); True when the call left the agent."""
        d, call = self._d, self._call
        say = lambda key, text: self._say(key, text)  # noqa: E731
        event = lambda kind, code: self._event(kind, stage="governance", code=code)  # noqa: E731
        flow = PaymentFlow(self.payment, call, call.call_id, d.recorder, d.clock, say, event)
        return await flow.run()
