"""The scheduler's screen-pop: handoff packets pushed with server-sent events.

Cross-process path: the agent workers write each packet to the encrypted store (table
`handoffs`, migration 4) *before* they send the REFER; this admin process tails that
table (a read transaction every `poll_s`) and streams new rows as SSE events. The store
is already where the packet must be kept, so no extra listening socket or credential
is needed between agent and admin, a packet is never lost when the admin restarts, and
the event id (the row's seq) lets a browser resume with Last-Event-ID.

The page shows PHI, so every route needs the screen-pop token (systemd credential
`screenpop.key`, else the key file): `Authorization: Bearer <hex>` or the session cookie
set by signing in with the token. Each packet sent to a viewer is audited as a PHI
read; sign-ins are audited too. The admin app binds loopback by default ([admin] host).

The shared token is for machine clients (the demo front desk's pointer, the end-to-end
tests' listeners): people use the console's screen-pop (/console/screenpop), each under
their own account. So /screenpop answers only loopback addresses unless `[admin]
screenpop_remote` is true (`remote`), even when the admin app listens on the network.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from litestar.response.sse import ServerSentEventMessage

from appliance.config import Settings
from appliance.store.db import Database
from appliance.store.keys import load_key
from appliance.workflows.handoff_store import HandoffStore

CREDENTIAL = "screenpop.key"
COOKIE = "appliance_screenpop"
POLL_S = 0.2  # s between reads of the handoff table while a viewer is connected
RECENT_S = 900.0  # s: packets this recent are shown when a viewer connects
KEEPALIVE_S = 15.0  # s without packets before an SSE comment keeps proxies from closing


def asset(name: str) -> str:
    """A file of appliance/admin/templates (package data)."""
    return resources.files("appliance.admin").joinpath("templates", name).read_text("utf-8")


@dataclass(slots=True)
class ScreenPop:
    store: HandoffStore
    token: bytes  # 32 bytes; never log
    poll_s: float = POLL_S
    recent_s: float = RECENT_S
    remote: bool = False  # serve addresses other than loopback ([admin] screenpop_remote)

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> ScreenPop:
        """Token from the credential `screenpop.key`, else the key file (dev: made 0400)."""
        configured = settings.admin.screenpop_key_file
        path = settings.path(configured) if configured else settings.var_dir / "keys" / CREDENTIAL
        token = load_key(CREDENTIAL, path, create=True).key
        return cls(HandoffStore(db), token, remote=settings.admin.screenpop_remote)

    def serves(self, host: str | None) -> bool:
        """Whether a client at `host` may use the shared token (loopback, else `remote`)."""
        if self.remote:
            return True
        try:
            address = ipaddress.ip_address(host or "")
        except ValueError:
            return False
        mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a v6 socket
        return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))

    # --- credentials -------------------------------------------------------------------

    def token_ok(self, presented: str) -> bool:
        try:
            candidate = bytes.fromhex(presented.strip())
        except ValueError:
            return False
        return hmac.compare_digest(candidate, self.token)

    @property
    def session_value(self) -> str:
        """The cookie value: derived from the token, so the token is not kept in browsers."""
        return hmac.new(self.token, b"screenpop-session-v1", hashlib.sha256).hexdigest()

    def authorised(self, headers: Any, cookies: dict[str, str]) -> bool:
        scheme, _, value = str(headers.get("authorization", "")).partition(" ")
        if scheme.lower() == "bearer" and self.token_ok(value):
            return True
        return hmac.compare_digest(cookies.get(COOKIE, ""), self.session_value)

    # --- the stream --------------------------------------------------------------------

    async def events(
        self, last_id: str | None, actor: str
    ) -> AsyncIterator[ServerSentEventMessage]:
        """New packets as SSE messages, from `last_id` (a seq) or the last `recent_s` s."""
        after = int(last_id) if last_id and last_id.isdigit() else None
        if after is None:
            after = await asyncio.to_thread(self.store.last_seq, time.time() - self.recent_s)
        yield ServerSentEventMessage(comment="screen-pop connected", retry=2000)
        quiet = 0.0
        while True:
            found = await asyncio.to_thread(self.store.read_for_view, after, actor)
            for row in found:
                after = row.seq
                yield ServerSentEventMessage(data=row.packet, event="handoff", id=row.seq)
            if found:
                quiet = 0.0
                continue
            await asyncio.sleep(self.poll_s)
            quiet += self.poll_s
            if quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ServerSentEventMessage(comment="keep-alive")
