"""Media plane: a pjsua2 SIP endpoint on its own thread, 20 ms PCM frames <-> asyncio."""

from appliance.sip.call import PjsipCall
from appliance.sip.endpoint import PjsipTelephony

__all__ = ["PjsipCall", "PjsipTelephony"]
