"""A PBX stand-in for test_sip_tls.py: a pjsua2 caller over SIP/TLS 1.2, with SRTP.

    python tls_caller.py --uri "sip:clinic@127.0.0.1:5061;transport=tls" --ca cert.pem \
        --wav reference.wav --rtp-port 45000 --srtp mandatory --seconds 3

It runs in its own process (pjsua2 allows one Endpoint per process). Its endpoint runs
at 8 kHz with PCMU only, so the reference WAV (8 kHz) goes out as PCMU payload bytes
that the test can look for in a capture. It verifies the edge's certificate against
--ca. Reports JSON lines on stdout: {"event": "media", "srtp": ...}, {"event": "ended",
"status": N, "connected": bool, "remote": bool}. With --seconds 0 it waits for the far
end's BYE, which the edge brings over a TLS connection to --listen-port. pjsua2's TLS
(the wheel's OpenSSL 1.0.2) is fine for this test peer; the appliance never uses it.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time

import pjsua2 as pj

SRTP_USE = {
    "off": pj.PJMEDIA_SRTP_DISABLED,
    "optional": pj.PJMEDIA_SRTP_OPTIONAL,
    "mandatory": pj.PJMEDIA_SRTP_MANDATORY,
}


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


class Caller(pj.Call):  # type: ignore[misc]
    def __init__(self, acc: pj.Account, wav: str) -> None:
        super().__init__(acc)
        self.wav = wav
        self.player: pj.AudioMediaPlayer | None = None
        self.active_at: float | None = None
        self.connected = False
        self.status: int | None = None

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        ci = self.getInfo()
        if ci.state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.connected = True
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.status = int(ci.lastStatusCode)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        ci = self.getInfo()
        media = ci.media
        for mi in media:
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                if self.player is None:
                    self.player = pj.AudioMediaPlayer()
                    self.player.createPlayer(self.wav, pj.PJMEDIA_FILE_NO_LOOP)
                    self.player.startTransmit(self.getAudioMedia(int(mi.index)))
                    self.active_at = time.monotonic()
                dump = str(self.dump(True, ""))
                emit(
                    "media",
                    srtp="SRTP status: Active" in dump,
                    codec=str(self.getStreamInfo(int(mi.index)).codecName),
                )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--wav", required=True)
    parser.add_argument("--rtp-port", type=int, required=True)
    parser.add_argument("--srtp", choices=sorted(SRTP_USE), default="mandatory")
    parser.add_argument("--seconds", type=float, default=3.0, help="then hang up (0: never)")
    parser.add_argument("--listen-port", type=int, default=0, help="our TLS port (Contact)")
    parser.add_argument("--key", default="", help="PEM key of --ca, for our TLS listener")
    args = parser.parse_args()

    ep = pj.Endpoint()
    ep.libCreate()  # prints pjlib's banner: the test reads only the JSON lines
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.logConfig.level = 0
    cfg.logConfig.consoleLevel = 0
    med = cfg.medConfig
    med.clockRate = med.sndClockRate = 8000  # no resampling: the WAV's samples go out as is
    med.noVad = True
    med.ecTailLen = 0
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.boundAddress = "127.0.0.1"
    tcfg.port = args.listen_port
    tls = tcfg.tlsConfig
    tls.method = pj.PJSIP_TLSV1_2_METHOD
    tls.CaListFile = args.ca
    tls.verifyServer = True
    if args.key:  # in-dialog requests from the edge (its BYE) open a TLS connection to us
        tls.certFile, tls.privKeyFile = args.ca, args.key
    transport = ep.transportCreate(pj.PJSIP_TRANSPORT_TLS, tcfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    infos = ep.codecEnum2()
    for info in infos:
        ep.codecSetPriority(info.codecId, 255 if info.codecId.startswith("PCMU/") else 0)

    acfg = pj.AccountConfig()
    acfg.idUri = "sip:pbx@127.0.0.1"
    acfg.sipConfig.transportId = transport
    mtc = acfg.mediaConfig.transportConfig
    mtc.boundAddress = "127.0.0.1"
    mtc.port = args.rtp_port
    mtc.portRange = 10
    acfg.mediaConfig.srtpUse = SRTP_USE[args.srtp]
    acfg.mediaConfig.srtpSecureSignaling = 1 if args.srtp != "off" else 0  # keys over TLS only
    acc = pj.Account()
    acc.create(acfg)

    call = Caller(acc, args.wav)
    call.makeCall(args.uri, pj.CallOpParam(True))
    deadline = time.monotonic() + args.seconds + 15
    hung_up = False
    while call.status is None and time.monotonic() < deadline:
        ep.libHandleEvents(20)
        active = call.active_at
        if args.seconds and active is not None and time.monotonic() - active > args.seconds:
            call.active_at, hung_up = None, True
            call.hangup(pj.CallOpParam(True))
    emit("ended", status=call.status, connected=call.connected, remote=not hung_up)

    call.player = None
    del call
    acc.shutdown()
    del acc
    gc.collect()
    ep.libDestroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
