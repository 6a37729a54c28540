"""``teiten sensor run --respond``: a stateless SYN-ACK responder, to see the first payload.

A passive darknet sees only the first packet of a TCP scan; a scanner that gets a SYN-ACK
sends what it came for (an exploit, a login, a request). For each TCP SYN to a sensor
address the responder sends one SYN-ACK from user space, on a packet socket of the
sensor's interface, its initial sequence number a keyed hash of the 4-tuple and a 64 s
time slot (as SYN cookies are: no table of flows). When the scanner's ACK carrying data
arrives, and its acknowledgement number is such a sequence number plus one, the responder
resets the connection: the capture (which records both directions when responding) holds
the SYN, the SYN-ACK, the payload and the RST. No application is emulated; pure ACKs,
FINs and RSTs are never answered.

At most one packet answers one received packet, and only within the rate limits: a token
bucket per source address and one for the whole sensor (:class:`Limits`); what they refuse
is counted, not queued. With ``arp`` the responder also answers ARP requests for sensor
addresses on a directly attached segment (when the upstream router cannot route the prefix
to the host). The sensor's addresses are routed to the host, not assigned to it, so the
kernel neither answers nor resets (docs/sensors.md, "Responding").

Ethernet interfaces only (802.1Q tags are not parsed); IPv4 and IPv6 (TCP directly after
the fixed IPv6 header).
"""

from __future__ import annotations

import ctypes
import hashlib
import ipaddress
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from teiten.errors import SettingError
from teiten.sensors.libpcap import socket_filter

__all__ = ["Answers", "Counters", "Limits", "Responder", "checksum", "responder_filter"]

ETH_P_ALL, ETH_P_IP, ETH_P_IPV6, ETH_P_ARP = 0x0003, 0x0800, 0x86DD, 0x0806
SO_ATTACH_FILTER = 26
SLOT_SECONDS = 64  # an ACK is accepted for a SYN-ACK of this slot or the one before
MSS = b"\x02\x04\x05\xb4"  # MSS 1460: some scanners send nothing to a peer that announces none
WINDOW = 64240
TTL = 64
SYN, RST, ACK, FIN = 0x02, 0x04, 0x10, 0x01
SOURCES_KEPT = 65536  # per-source buckets held at most (the oldest go first)


@dataclass(frozen=True)
class Limits:
    """Replies per second the responder sends: ``rate`` in all (with bursts of ``burst``),
    ``per_source`` to one source address (bursts of ``per_source_burst``)."""

    rate: float = 1000.0
    burst: float = 2000.0
    per_source: float = 20.0
    per_source_burst: float = 40.0


@dataclass
class Counters:
    """What the responder did since it started."""

    synacks: int = 0
    resets: int = 0
    arp: int = 0
    limited: int = 0  # packets that would have been answered but for the rate limits
    ignored: int = 0  # packets seen and not answered (pure ACKs, FINs, RSTs, stale ACKs, others)

    @property
    def replies(self) -> int:
        """IP packets sent (SYN-ACKs and RSTs): the manifest's ``replies``."""
        return self.synacks + self.resets


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens, self.stamp = tokens, stamp

    def take(self, rate: float, burst: float, now: float) -> bool:
        self.tokens = min(burst, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return int(~s & 0xFFFF)


def responder_filter(networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network], arp: bool) -> str:
    """The kernel filter of the responder's socket: TCP to the sensor's networks (and ARP
    requests, with ``arp``)."""
    expr = "tcp and (" + " or ".join(f"dst net {n}" for n in networks) + ")"
    return f"({expr}) or (arp and arp[6:2] = 1)" if arp else expr


class Responder:
    """Answers TCP SYNs to ``networks`` on ``interface`` (see the module docstring): a packet
    socket with a kernel filter, served by :meth:`run`; the answers are :class:`Answers`'."""

    def __init__(self, interface: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network], *,
                 limits: Limits = Limits(), arp: bool = False) -> None:
        if not networks:
            raise SettingError("--respond needs the sensor's addresses")
        kind = Path(f"/sys/class/net/{interface}/type")
        if kind.exists() and kind.read_text().strip() != "1":
            raise SettingError(f"--respond needs an Ethernet interface; {interface} is of ARPHRD type"
                               f" {kind.read_text().strip()}")
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError:
            raise SettingError("--respond needs CAP_NET_RAW (root, or setcap cap_net_raw)") from None
        try:
            code = socket_filter(responder_filter(networks, arp))
            program = ctypes.create_string_buffer(code, len(code))  # alive while the kernel copies it
            fprog = struct.pack("HL", len(code) // 8, ctypes.addressof(program))
            sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
            sock.bind((interface, 0))
        except OSError as e:
            sock.close()
            raise SettingError(f"--respond on {interface}: {e.strerror or e}") from None
        sock.setblocking(False)
        self._sock = sock
        self.answers = Answers(networks, sock.getsockname()[4], limits=limits, arp=arp)
        self._drain()  # what arrived before the filter was attached

    @property
    def counters(self) -> Counters:
        return self.answers.counters

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()

    def _drain(self) -> None:
        try:
            while True:
                self._sock.recv(65535)
        except BlockingIOError:
            pass

    def service(self) -> int:
        """Answer what the socket holds; the packets sent."""
        sent = 0
        while True:
            try:
                frame, addr = self._sock.recvfrom(65535)
            except BlockingIOError:
                return sent
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            reply = self.answers.answer(frame)
            if reply is not None:
                try:
                    self._sock.send(reply)
                    sent += 1
                except OSError:  # the interface's queue is full: counted as limited, not retried
                    self.counters.limited += 1

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set (the capture's responder thread)."""
        while not stop.is_set():
            r, _, _ = select.select([self._sock], [], [], 0.1)
            if r:
                self.service()


class Answers:
    """What to send back for a received frame, without a socket: the sequence numbers, the
    rate limits and the counters of a responder whose interface has the address ``mac``."""

    def __init__(self, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network], mac: bytes, *,
                 limits: Limits = Limits(), arp: bool = False, clock: Callable[[], float] = time.monotonic,
                 secret: bytes | None = None) -> None:
        self._v4 = [(int(n.network_address), int(n.broadcast_address)) for n in networks if n.version == 4]
        self._v6 = [(int(n.network_address), int(n.broadcast_address)) for n in networks if n.version == 6]
        self.mac, self.limits, self.arp, self._clock = mac, limits, arp, clock
        self._secret = secret or os.urandom(16)
        self.counters = Counters()
        self._global = _Bucket(limits.burst, clock())
        self._sources: dict[bytes, _Bucket] = {}

    # -- the sequence numbers -------------------------------------------------------------

    def isn(self, src: bytes, dst: bytes, sport: int, dport: int, slot: int) -> int:
        """The SYN-ACK's sequence number for a SYN (keyed hash of the 4-tuple and a slot)."""
        h = hashlib.blake2b(src + dst + struct.pack("!HHq", sport, dport, slot), digest_size=4, key=self._secret)
        return int.from_bytes(h.digest(), "big")

    def _slot(self) -> int:
        return int(time.time()) // SLOT_SECONDS

    def _ours(self, ack: int, src: bytes, dst: bytes, sport: int, dport: int) -> bool:
        slot = self._slot()
        return any((self.isn(src, dst, sport, dport, s) + 1) & 0xFFFFFFFF == ack for s in (slot, slot - 1))

    def _allowed(self, src: bytes) -> bool:
        now, lim = self._clock(), self.limits
        b = self._sources.get(src)
        if b is None:
            if len(self._sources) >= SOURCES_KEPT:
                del self._sources[next(iter(self._sources))]
            b = self._sources[src] = _Bucket(lim.per_source_burst, now)
        if not b.take(lim.per_source, lim.per_source_burst, now) or not self._global.take(lim.rate, lim.burst, now):
            self.counters.limited += 1
            return False
        return True

    def _mine(self, dst: bytes) -> bool:
        d = int.from_bytes(dst, "big")
        return any(lo <= d <= hi for lo, hi in (self._v4 if len(dst) == 4 else self._v6))

    def answer(self, frame: bytes) -> bytes | None:
        """The frame that answers ``frame`` (a SYN-ACK, a RST or an ARP reply), or None."""
        if len(frame) < 14:
            return None
        etype = int.from_bytes(frame[12:14], "big")
        if etype == ETH_P_ARP:
            return self._arp(frame)
        if etype == ETH_P_IP and len(frame) >= 34 and frame[14] >> 4 == 4:
            ihl = (frame[14] & 0x0F) * 4
            total = int.from_bytes(frame[16:18], "big")
            if frame[23] != 6 or ihl < 20 or int.from_bytes(frame[20:22], "big") & 0x3FFF:  # TCP, not a fragment
                return None
            src, dst, tcp, end = frame[26:30], frame[30:34], 14 + ihl, 14 + min(total, len(frame) - 14)
        elif etype == ETH_P_IPV6 and len(frame) >= 54 and frame[14] >> 4 == 6:
            if frame[20] != 6:
                return None
            src, dst, tcp = frame[22:38], frame[38:54], 54
            end = 54 + min(int.from_bytes(frame[18:20], "big"), len(frame) - 54)
        else:
            return None
        if end - tcp < 20 or not self._mine(dst):
            self.counters.ignored += 1
            return None
        sport, dport, seq, ack = struct.unpack_from("!HHII", frame, tcp)
        doff, flags = (frame[tcp + 12] >> 4) * 4, frame[tcp + 13]
        data = max(0, end - tcp - doff)
        if flags & (SYN | ACK | RST) == SYN:
            if not self._allowed(src):
                return None
            isn = self.isn(src, dst, sport, dport, self._slot())
            self.counters.synacks += 1
            return self._segment(frame, src, dst, dport, sport, isn, (seq + 1 + data) & 0xFFFFFFFF, SYN | ACK, MSS)
        if flags & (SYN | RST) == 0 and flags & ACK and data and self._ours(ack, src, dst, sport, dport):
            if not self._allowed(src):
                return None
            self.counters.resets += 1
            return self._segment(frame, src, dst, dport, sport, ack, 0, RST, b"")
        self.counters.ignored += 1
        return None

    # -- sending --------------------------------------------------------------------------

    def _segment(self, frame: bytes, peer: bytes, me: bytes, sport: int, dport: int, seq: int, ack: int,
                 flags: int, options: bytes) -> bytes:
        """A TCP segment from ``me``:``sport`` back to ``peer``:``dport``, in an Ethernet frame
        to the received frame's sender."""
        hlen = 20 + len(options)
        window = 0 if flags & RST else WINDOW
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (hlen // 4) << 4, flags, window, 0, 0) + options
        eth = frame[6:12] + self.mac
        if len(me) == 4:
            pseudo = me + peer + struct.pack("!BBH", 0, 6, hlen)
            tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + hlen, 0, 0x4000, TTL, 6, 0, me, peer)
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            return eth + b"\x08\x00" + ip + tcp
        pseudo = me + peer + struct.pack("!I3xB", hlen, 6)
        tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
        ip = struct.pack("!IHBB16s16s", 6 << 28, hlen, 6, TTL, me, peer)
        return eth + b"\x86\xdd" + ip + tcp

    def _arp(self, frame: bytes) -> bytes | None:
        """The ARP reply to a request (Ethernet, IPv4) for a sensor address."""
        if not self.arp or len(frame) < 42 or frame[14:22] != b"\x00\x01\x08\x00\x06\x04\x00\x01":
            return None
        sha, spa, tpa = frame[22:28], frame[28:32], frame[38:42]
        if not self._mine(tpa):
            return None
        self.counters.arp += 1
        return (sha + self.mac + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x02" + self.mac + tpa + sha + spa)
