"""What a scanner sends to the darknet in the sensor tests, run inside the scanner namespace:
``python -m tests.sensors.traffic UDP ICMP SYN`` sends that many UDP datagrams (to port 5060,
with a payload), ICMP echo requests and TCP SYNs (to port 445), and prints nothing;
``python -m tests.sensors.traffic connect PAYLOAD HOST:PORT...`` connects to each with an
ordinary socket, sends the payload and prints one JSON line per connection: whether
``connect()`` succeeded and how the connection ended."""

from __future__ import annotations

import json
import socket
import struct
import sys
import time

SOURCE = "10.199.0.1"
TARGETS = [f"198.51.100.{i}" for i in range(1, 101)]


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def icmp_echo(ident: int, seq: int) -> bytes:
    head = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"teiten-test"
    return head[:2] + struct.pack("!H", _checksum(head)) + head[4:]


def tcp_syn(src: str, dst: str, sport: int, dport: int, seq: int) -> bytes:
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 1024, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(head))
    return head[:16] + struct.pack("!H", _checksum(pseudo + head)) + head[18:]


def main(udp: int, icmp: int, syn: int) -> None:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(udp):
        u.sendto(b"OPTIONS sip:teiten SIP/2.0 %d" % i, (TARGETS[i % len(TARGETS)], 5060))
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    for i in range(icmp):
        r.sendto(icmp_echo(0x7E7E, i), (TARGETS[9], 0))
    t = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    for i in range(syn):
        dst = TARGETS[20 + i]
        t.sendto(tcp_syn(SOURCE, dst, 40000 + i, 445, 1000 + i), (dst, 0))
    time.sleep(0.2)


def connect(payload: bytes, targets: list[str]) -> None:
    for t in targets:
        host, port = t.rsplit(":", 1)
        out: dict[str, object] = {"target": t}
        try:
            s = socket.create_connection((host, int(port)), timeout=3)
        except OSError as e:
            out["connected"], out["error"] = False, type(e).__name__
        else:
            out["connected"] = True
            s.sendall(payload)
            try:
                out["received"] = len(s.recv(100))
                out["ended"] = "closed"
            except ConnectionResetError:
                out["ended"] = "reset"
            except TimeoutError:
                out["ended"] = "timeout"
            s.close()
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "connect":
        connect(sys.argv[2].encode(), sys.argv[3:])
    else:
        main(*(int(x) for x in sys.argv[1:4]))
