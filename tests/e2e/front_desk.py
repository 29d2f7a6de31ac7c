"""A pjsua2 "front desk" phone for the workflow e2e tests (one pjsua2 Endpoint per process).

    python tests/e2e/front_desk.py --port P --rtp-port R [--ring-s 2.0] [--talk-s 2.0]

Like a person at a desk phone, it rings before it answers: 180 Ringing at once, 200 OK
after --ring-s. In "busy" mode it answers 486 Busy Here instead. Commands on stdin, one a
line: "mode answer" | "mode busy" (the reply is {"event": "mode", ...}); closing stdin
stops it. Events go to stdout as JSON lines with monotonic times (CLOCK_MONOTONIC is
system-wide on Linux, so they compare with the test's): "listening", "invite" (with the
X- headers), "answered", "ended".
"""

from __future__ import annotations

import argparse
import gc
import json
import queue
import sys
import threading
import time

import pjsua2 as pj

from appliance.sip.transfer import x_headers


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "at": time.monotonic(), **fields}), flush=True)


class DeskCall(pj.Call):  # type: ignore[misc]
    def __init__(self, acc: pj.Account, call_id: int, desk: Desk) -> None:
        super().__init__(acc, call_id)
        self.desk = desk

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        if self.getInfo().state == pj.PJSIP_INV_STATE_DISCONNECTED:
            emit("ended", key=id(self))
            self.desk.ended.append(self)


class Desk(pj.Account):  # type: ignore[misc]
    def __init__(self, ring_s: float, talk_s: float) -> None:
        super().__init__()
        self.mode = "answer"
        self.ring_s, self.talk_s = ring_s, talk_s
        self.ringing: list[tuple[float, DeskCall]] = []  # (answer at, call)
        self.talking: list[tuple[float, DeskCall]] = []  # (hang up at, call)
        self.ended: list[DeskCall] = []
        self.calls: list[DeskCall] = []  # strong references

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        call = DeskCall(self, prm.callId, self)
        self.calls.append(call)
        emit("invite", key=id(call), headers=x_headers(str(prm.rdata.wholeMsg)), mode=self.mode)
        op = pj.CallOpParam(True)
        if self.mode == "busy":
            op.statusCode = 486
            call.hangup(op)
            return
        op.statusCode = 180
        call.answer(op)
        self.ringing.append((time.monotonic() + self.ring_s, call))

    def tick(self) -> None:
        now = time.monotonic()
        for due, call in [x for x in self.ringing if x[0] <= now]:
            self.ringing.remove((due, call))
            op = pj.CallOpParam(True)
            op.statusCode = 200
            call.answer(op)
            emit("answered", key=id(call))
            self.talking.append((now + self.talk_s, call))
        for due, call in [x for x in self.talking if x[0] <= now]:
            self.talking.remove((due, call))
            if call not in self.ended:
                call.hangup(pj.CallOpParam(True))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rtp-port", type=int, required=True)
    parser.add_argument("--ring-s", type=float, default=2.0)
    parser.add_argument("--talk-s", type=float, default=2.0)
    args = parser.parse_args()
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.userAgent = "front-desk"
    cfg.logConfig.level = cfg.logConfig.consoleLevel = 0
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.boundAddress, tcfg.port = "127.0.0.1", args.port
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:desk@127.0.0.1:{args.port}"
    acfg.regConfig.registerOnAdd = False
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acfg.mediaConfig.transportConfig.port = args.rtp_port
    acfg.mediaConfig.transportConfig.portRange = 20
    desk = Desk(args.ring_s, args.talk_s)
    desk.create(acfg, True)
    commands: queue.Queue[str | None] = queue.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            commands.put(line.strip())
        commands.put(None)

    threading.Thread(target=read_stdin, daemon=True).start()
    emit("listening", port=args.port)
    while True:
        ep.libHandleEvents(20)
        desk.tick()
        try:
            command = commands.get_nowait()
        except queue.Empty:
            continue
        if command is None:
            break
        if command.startswith("mode "):
            desk.mode = command.split()[1]
            emit("mode", mode=desk.mode)
    ep.hangupAllCalls()
    for _ in range(50):
        ep.libHandleEvents(20)
    desk.ringing.clear()
    desk.talking.clear()
    desk.ended.clear()
    desk.calls.clear()
    desk.shutdown()
    del desk
    gc.collect()
    ep.libDestroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
