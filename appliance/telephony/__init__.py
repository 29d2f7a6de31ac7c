"""Media plane: a pjsua2 SIP endpoint on its own thread, 20 ms PCM frames <-> asyncio."""

from appliance.telephony.call import PjsipCall
from appliance.telephony.endpoint import PjsipTelephony

__all__ = ["PjsipCall", "PjsipTelephony"]
