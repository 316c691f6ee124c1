"""UDP payloads out of a packet capture (classic pcap or pcapng), for recorded ASTERIX and
Remote ID traffic.

Only what recordings of sensor feeds need: Ethernet (with 802.1Q tags), Linux cooked (SLL and
SLL2), raw IP and BSD loopback links; IPv4 and IPv6; UDP. Packets of any other kind, and
IPv4 fragments (not reassembled), are skipped and counted; a truncated file ends the reading
with a reason, never an exception.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from skywarden.ingest.wire import utc_from_unix

__all__ = ["PcapReader", "UdpDatagram"]

MAX_PACKET = 262_144  # snap lengths above this are refused rather than allocated


@dataclass(frozen=True)
class UdpDatagram:
    t: datetime
    src: str  # "address:port"
    dst: str
    payload: bytes


@dataclass
class PcapReader:
    """Iterate the UDP datagrams of a capture file; ``skipped`` counts the rest by reason and
    ``error`` says why reading stopped early (``""`` when the file was read to its end)."""

    path: Path
    skipped: Counter[str] = field(default_factory=Counter)
    error: str = ""

    def __iter__(self) -> Iterator[UdpDatagram]:
        with Path(self.path).open("rb") as fh:
            head = fh.read(4)
            if head in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
                yield from self._classic(fh, head)
            elif head == b"\x0a\x0d\x0d\x0a":
                yield from self._pcapng(fh)
            else:
                self.error = "not a pcap or pcapng file"

    # ------------------------------------------------------------------ containers

    def _classic(self, fh: BinaryIO, magic: bytes) -> Iterator[UdpDatagram]:
        end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        rest = fh.read(20)
        if len(rest) < 20:
            self.error = "truncated pcap header"
            return
        linktype = struct.unpack(end + "HHiIII", rest)[5] & 0x0FFFFFFF
        div = 1e9 if nano else 1e6
        while True:
            rec = fh.read(16)
            if not rec:
                return
            if len(rec) < 16:
                self.error = "truncated packet header"
                return
            sec, frac, incl, _orig = struct.unpack(end + "IIII", rec)
            if incl > MAX_PACKET:
                self.error = f"packet length {incl} exceeds {MAX_PACKET}"
                return
            data = fh.read(incl)
            if len(data) < incl:
                self.error = "truncated packet"
                return
            yield from self._link(linktype, sec + frac / div, data)

    def _pcapng(self, fh: BinaryIO) -> Iterator[UdpDatagram]:
        end = "<"
        links: list[tuple[int, float]] = []  # (linktype, ticks per second) per interface
        first = True
        while True:
            head = b"\x0a\x0d\x0d\x0a" + fh.read(4) if first else fh.read(8)
            if first:
                first = False
            elif not head:
                return
            if len(head) < 8:
                self.error = "truncated block header"
                return
            btype = struct.unpack(end + "I", head[:4])[0]
            if btype == 0x0A0D0D0A:
                bom = fh.read(4)
                if len(bom) < 4:
                    self.error = "truncated section header"
                    return
                end = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                blen = struct.unpack(end + "I", head[4:8])[0]
                body_len = blen - 12 - 4
                links = []
            else:
                blen = struct.unpack(end + "I", head[4:8])[0]
                body_len = blen - 12
            if blen < 12 or blen % 4 or body_len > MAX_PACKET + 64 or body_len < 0:
                self.error = f"bad block length {blen}"
                return
            body = fh.read(body_len)
            tail = fh.read(4)
            if len(body) < body_len or len(tail) < 4:
                self.error = "truncated block"
                return
            if btype == 1 and len(body) >= 8:  # interface description
                links.append((struct.unpack(end + "H", body[:2])[0], _ts_rate(body[8:], end)))
            elif btype == 6 and len(body) >= 20:  # enhanced packet
                iface, hi, lo, cap, _orig = struct.unpack(end + "IIIII", body[:20])
                if iface >= len(links) or 20 + cap > len(body):
                    self.skipped["pcapng packet without its interface"] += 1
                    continue
                link, rate = links[iface]
                yield from self._link(link, ((hi << 32) | lo) / rate, body[20 : 20 + cap])
            elif btype == 3 and len(body) >= 4 and links:  # simple packet
                yield from self._link(links[0][0], 0.0, body[4:])

    # ------------------------------------------------------------------ layers

    def _link(self, linktype: int, ts: float, data: bytes) -> Iterator[UdpDatagram]:
        proto, off = None, 0
        if linktype == 1:  # Ethernet
            off, proto = 14, int.from_bytes(data[12:14], "big") if len(data) >= 14 else None
            while proto in (0x8100, 0x88A8) and len(data) >= off + 4:
                proto = int.from_bytes(data[off + 2 : off + 4], "big")
                off += 4
        elif linktype == 113:  # Linux cooked
            off, proto = 16, int.from_bytes(data[14:16], "big") if len(data) >= 16 else None
        elif linktype == 276:  # Linux cooked v2
            off, proto = 20, int.from_bytes(data[0:2], "big") if len(data) >= 20 else None
        elif linktype in (101, 12, 14):  # raw IP
            proto = {4: 0x0800, 6: 0x86DD}.get(data[0] >> 4) if data else None
        elif linktype == 0:  # BSD loopback
            off = 4
            fam = int.from_bytes(data[:4], "little") if len(data) >= 4 else -1
            proto = 0x0800 if fam == 2 else 0x86DD if fam in (24, 28, 30) else None
        else:
            self.skipped[f"link type {linktype}"] += 1
            return
        if proto == 0x0800:
            yield from self._ipv4(ts, data[off:])
        elif proto == 0x86DD:
            yield from self._ipv6(ts, data[off:])
        else:
            self.skipped["not IP"] += 1

    def _ipv4(self, ts: float, ip: bytes) -> Iterator[UdpDatagram]:
        if len(ip) < 20 or ip[0] >> 4 != 4:
            self.skipped["bad IPv4 header"] += 1
            return
        ihl = (ip[0] & 0x0F) * 4
        total = int.from_bytes(ip[2:4], "big")
        if int.from_bytes(ip[6:8], "big") & 0x3FFF:
            self.skipped["IPv4 fragment"] += 1
            return
        if ip[9] != 17:
            self.skipped["not UDP"] += 1
            return
        src = ".".join(map(str, ip[12:16]))
        dst = ".".join(map(str, ip[16:20]))
        yield from self._udp(ts, src, dst, ip[ihl : max(total, ihl)])

    def _ipv6(self, ts: float, ip: bytes) -> Iterator[UdpDatagram]:
        if len(ip) < 40:
            self.skipped["bad IPv6 header"] += 1
            return
        if ip[6] != 17:
            self.skipped["not UDP (or IPv6 extension headers)"] += 1
            return
        src = ip[8:24].hex(":", 2)
        dst = ip[24:40].hex(":", 2)
        yield from self._udp(ts, f"[{src}]", f"[{dst}]", ip[40 : 40 + int.from_bytes(ip[4:6], "big")])

    def _udp(self, ts: float, src: str, dst: str, seg: bytes) -> Iterator[UdpDatagram]:
        if len(seg) < 8:
            self.skipped["bad UDP header"] += 1
            return
        length = int.from_bytes(seg[4:6], "big")
        if length < 8 or length > len(seg):
            self.skipped["UDP length beyond the captured packet"] += 1
            return
        try:
            t = utc_from_unix(ts)
        except ValueError:
            self.skipped["bad capture time"] += 1
            return
        sp, dp = int.from_bytes(seg[0:2], "big"), int.from_bytes(seg[2:4], "big")
        yield UdpDatagram(t, f"{src}:{sp}", f"{dst}:{dp}", bytes(seg[8:length]))


def _ts_rate(options: bytes, end: str) -> float:
    """Ticks per second of an interface (the if_tsresol option; microseconds by default)."""
    i = 0
    while i + 4 <= len(options):
        code, size = struct.unpack(end + "HH", options[i : i + 4])
        if code == 0:
            break
        if code == 9 and size >= 1 and i + 5 <= len(options):
            v = options[i + 4]
            return float(2 ** (v & 0x7F)) if v & 0x80 else float(10 ** v)
        i += 4 + size + (-size % 4)
    return 1e6
