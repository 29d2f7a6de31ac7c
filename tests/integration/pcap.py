"""A minimal reader for tcpdump's classic pcap files on Linux loopback (Ethernet framing,
IPv4): enough to look at the payloads of TCP and UDP packets in a test capture."""

from __future__ import annotations

import struct
from dataclasses import dataclass

LINKTYPE_ETHERNET = 1
ETHERTYPE_IPV4 = 0x0800
TCP, UDP = 6, 17


@dataclass(frozen=True, slots=True)
class Packet:
    proto: int
    sport: int
    dport: int
    payload: bytes

    @property
    def tcp(self) -> bool:
        return self.proto == TCP

    @property
    def udp(self) -> bool:
        return self.proto == UDP


def read_pcap(data: bytes) -> list[Packet]:
    """The TCP and UDP packets over IPv4 in a pcap file (others are skipped)."""
    magic = data[:4]
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}.get(magic)
    if endian is None:
        raise ValueError("not a classic pcap file (microsecond timestamps)")
    (linktype,) = struct.unpack(endian + "I", data[20:24])
    if linktype != LINKTYPE_ETHERNET:
        raise ValueError(f"unexpected link type {linktype}")
    packets, offset = [], 24
    while offset + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + caplen]
        offset += 16 + caplen
        packet = _parse(frame)
        if packet is not None:
            packets.append(packet)
    return packets


def _parse(frame: bytes) -> Packet | None:
    if len(frame) < 34 or struct.unpack("!H", frame[12:14])[0] != ETHERTYPE_IPV4:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    proto = ip[9]
    body = ip[ihl:total]
    if proto == UDP and len(body) >= 8:
        sport, dport = struct.unpack("!HH", body[:4])
        return Packet(UDP, sport, dport, body[8:])
    if proto == TCP and len(body) >= 20:
        sport, dport = struct.unpack("!HH", body[:4])
        return Packet(TCP, sport, dport, body[(body[12] >> 4) * 4 :])
    return None
