"""The responder's answers, frame by frame (no socket: teiten.sensors.respond.Answers), and
what the store makes of a responder's capture: its replies set apart (``outbound``), its
sensor kind selectable in every analysis."""

from __future__ import annotations

import ipaddress
import json
import socket
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from teiten.cli.main import cli
from teiten.engine import open_observation
from teiten.errors import SettingError
from teiten.ingest.pipeline import ingest_paths
from teiten.sensors.respond import ACK, FIN, RST, SYN, Answers, Limits, checksum, responder_filter
from teiten.store.catalog import Sensor, add_sensor
from teiten.store.open import open_store
from tests.sensors.frames import SCANNER_MAC, SENSOR_MAC, arp_request, tcp4, tcp6, write_pcap

NETS = [ipaddress.ip_network("198.51.100.0/25"), ipaddress.ip_network("2001:db8:5::/64")]
SCANNER = "10.199.0.1"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def answers(**kw: object) -> Answers:
    return Answers(NETS, SENSOR_MAC, secret=b"k" * 16, **kw)  # type: ignore[arg-type]


def parse4(frame: bytes) -> dict[str, int | bytes]:
    """The fields of an Ethernet/IPv4/TCP reply, checksums verified."""
    assert frame[12:14] == b"\x08\x00"
    ip = frame[14:34]
    assert checksum(ip) == 0, "IPv4 header checksum"
    total = struct.unpack("!H", ip[2:4])[0]
    tcp = frame[34:14 + total]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp))
    assert checksum(pseudo + tcp) == 0, "TCP checksum"
    sport, dport, seq, ack, off, flags, window = struct.unpack("!HHIIBBH", tcp[:16])
    return {"dst_mac": frame[:6], "src_mac": frame[6:12], "src": ip[12:16], "dst": ip[16:20], "ttl": ip[8],
            "sport": sport, "dport": dport, "seq": seq, "ack": ack, "flags": flags, "window": window,
            "hlen": (off >> 4) * 4, "options": tcp[20:(off >> 4) * 4], "data": tcp[(off >> 4) * 4:]}


def test_a_syn_gets_one_syn_ack_with_a_keyed_sequence_number() -> None:
    a = answers()
    r = a.answer(tcp4(SCANNER, "198.51.100.7", 40000, 445, 1000, 0, SYN))
    assert r is not None
    f = parse4(r)
    assert f["dst_mac"] == SCANNER_MAC and f["src_mac"] == SENSOR_MAC  # back to the frame's sender
    assert f["src"] == socket.inet_aton("198.51.100.7") and f["dst"] == socket.inet_aton(SCANNER)
    assert (f["sport"], f["dport"], f["flags"], f["ack"]) == (445, 40000, SYN | ACK, 1001)
    assert f["options"] == b"\x02\x04\x05\xb4" and f["data"] == b""
    slot = a._slot()
    assert f["seq"] in {a.isn(socket.inet_aton(SCANNER), socket.inet_aton("198.51.100.7"), 40000, 445, s)
                        for s in (slot, slot - 1, slot + 1)}
    # the number depends on the 4-tuple and the key, and is the same for a repeated SYN
    again = parse4(a.answer(tcp4(SCANNER, "198.51.100.7", 40000, 445, 1000, 0, SYN)) or b"")
    other = parse4(a.answer(tcp4(SCANNER, "198.51.100.7", 40001, 445, 1000, 0, SYN)) or b"")
    rekeyed = Answers(NETS, SENSOR_MAC, secret=b"j" * 16).answer(
        tcp4(SCANNER, "198.51.100.7", 40000, 445, 1000, 0, SYN))
    assert again["seq"] == f["seq"] and other["seq"] != f["seq"] and parse4(rekeyed or b"")["seq"] != f["seq"]
    assert a.counters.synacks == 3 and a.counters.replies == 3


def test_irregular_syns_are_answered_too_and_a_syn_with_data_is_acknowledged_past_it() -> None:
    a = answers()
    # a Mirai-style SYN (seq == destination address) with ECE/CWR set, and a SYN carrying 5 bytes
    dst = int(ipaddress.ip_address("198.51.100.9"))
    mirai = parse4(a.answer(tcp4(SCANNER, "198.51.100.9", 5555, 23, dst, 0, SYN | 0xC0)) or b"")
    assert mirai["ack"] == (dst + 1) & 0xFFFFFFFF and mirai["flags"] == SYN | ACK
    data = parse4(a.answer(tcp4(SCANNER, "198.51.100.9", 5556, 80, 0xFFFFFFFE, 0, SYN, b"hello")) or b"")
    assert data["ack"] == (0xFFFFFFFE + 1 + 5) & 0xFFFFFFFF  # wraps around


def test_the_first_payload_is_answered_with_a_reset_and_nothing_else_is_answered() -> None:
    a = answers()
    dst, sport = "198.51.100.7", 40000
    isn = parse4(a.answer(tcp4(SCANNER, dst, sport, 80, 5000, 0, SYN)) or b"")["seq"]
    assert isinstance(isn, int)
    assert a.answer(tcp4(SCANNER, dst, sport, 80, 5001, isn + 1, ACK)) is None  # the handshake's pure ACK
    rst = parse4(a.answer(tcp4(SCANNER, dst, sport, 80, 5001, isn + 1, ACK | 0x08, b"GET / HTTP/1.0\r\n\r\n"))
                 or b"")
    assert (rst["flags"], rst["seq"], rst["ack"], rst["window"], rst["hlen"]) == (RST, isn + 1, 0, 0, 20)
    # not ours: a data segment acknowledging a number we never sent, and FINs and RSTs
    assert a.answer(tcp4(SCANNER, dst, sport, 80, 5001, isn + 7, ACK, b"x")) is None
    assert a.answer(tcp4(SCANNER, dst, sport + 1, 80, 5001, isn + 1, ACK, b"x")) is None
    assert a.answer(tcp4(SCANNER, dst, sport, 80, 5001, isn + 1, FIN | ACK)) is None
    assert a.answer(tcp4(SCANNER, dst, sport, 80, 5001, 0, RST)) is None
    assert a.answer(tcp4(SCANNER, dst, sport, 80, 5001, 0, SYN | ACK)) is None  # backscatter is not answered
    assert (a.counters.synacks, a.counters.resets) == (1, 1) and a.counters.ignored == 6


def test_only_the_sensors_addresses_and_whole_tcp_packets_are_answered() -> None:
    a = answers()
    assert a.answer(tcp4(SCANNER, "198.51.100.200", 1, 445, 1, 0, SYN)) is None  # outside the /25
    assert a.answer(tcp4(SCANNER, "198.51.100.7", 1, 445, 1, 0, SYN, frag=0x2000)) is None  # a fragment
    assert a.answer(b"\x00" * 10) is None and a.answer(b"\x00" * 60) is None
    assert a.counters.replies == 0


def test_ipv6_syns_get_an_ipv6_syn_ack() -> None:
    r = answers().answer(tcp6("2001:db8:9::1", "2001:db8:5::7", 33000, 22, 77, SYN))
    assert r is not None and r[12:14] == b"\x86\xdd"
    ip, tcp = r[14:54], r[54:]
    assert ip[6] == 6 and ip[8:24] == socket.inet_pton(socket.AF_INET6, "2001:db8:5::7")
    pseudo = ip[8:40] + struct.pack("!I3xB", len(tcp), 6)
    assert checksum(pseudo + tcp) == 0
    sport, dport, _seq, ack, _off, flags = struct.unpack("!HHIIBB", tcp[:14])
    assert (sport, dport, ack, flags) == (22, 33000, 78, SYN | ACK)
    assert answers().answer(tcp6("2001:db8:9::1", "2001:db8:6::7", 33000, 22, 77, SYN)) is None


def test_rate_limits_per_source_and_in_all() -> None:
    clock = Clock()
    a = answers(limits=Limits(rate=100, burst=5, per_source=1, per_source_burst=2), clock=clock)
    got = [a.answer(tcp4(SCANNER, "198.51.100.7", 1000 + i, 445, i, 0, SYN)) is not None for i in range(10)]
    assert got == [True, True] + [False] * 8  # one source: its burst of two, then nothing
    assert a.counters.limited == 8
    clock.t += 1.0  # a second later: one more token for the source
    assert a.answer(tcp4(SCANNER, "198.51.100.7", 2000, 445, 1, 0, SYN)) is not None
    assert a.answer(tcp4(SCANNER, "198.51.100.7", 2001, 445, 1, 0, SYN)) is None
    # many sources: the global bucket (burst 5) holds, whatever each source may still send
    clock.t += 10.0
    sent = sum(a.answer(tcp4(f"10.1.0.{i}", "198.51.100.7", 3000, 445, 1, 0, SYN)) is not None for i in range(1, 21))
    assert sent == 5


def test_arp_is_answered_for_sensor_addresses_only_when_asked() -> None:
    a = answers(arp=True)
    r = a.answer(arp_request("198.51.100.254", "198.51.100.7"))
    assert r is not None and r[:6] == SCANNER_MAC and r[6:12] == SENSOR_MAC and r[12:14] == b"\x08\x06"
    assert r[20:22] == b"\x00\x02" and r[22:28] == SENSOR_MAC and r[28:32] == socket.inet_aton("198.51.100.7")
    assert a.answer(arp_request("198.51.100.254", "198.51.100.200")) is None
    assert answers().answer(arp_request("198.51.100.254", "198.51.100.7")) is None
    assert a.counters.arp == 1 and a.counters.replies == 0


def test_the_kernel_filter_compiles() -> None:
    from teiten.sensors.libpcap import socket_filter

    for arp in (False, True):
        code = socket_filter(responder_filter(NETS, arp))
        assert code and len(code) % 8 == 0
    with pytest.raises(SettingError):
        socket_filter("tcp and nonsense here")


def _responder_capture(path: Path, shift: int = 0) -> tuple[Path, int, int]:
    """A capture as a responder writes it: SYNs in, SYN-ACKs out, a payload in, RSTs out;
    the packets received and sent."""
    a = answers()
    frames: list[tuple[float, bytes]] = []
    t, inbound = 1_780_000_000.0 + 60 * shift, 0
    for i in range(6):
        dst = f"198.51.100.{10 + i}"
        syn = tcp4(SCANNER, dst, 41000 + i, 23 if i % 2 else 80, 100 * i, 0, SYN)
        frames.append((t, syn))
        reply = a.answer(syn)
        assert reply is not None
        frames.append((t + 0.001, reply))
        if i < 2:
            isn = parse4(reply)["seq"]
            assert isinstance(isn, int)
            data = tcp4(SCANNER, dst, 41000 + i, 23 if i % 2 else 80, 100 * i + 1, isn + 1, ACK | 0x08, b"root\r\n")
            frames.append((t + 0.002, data))
            rst = a.answer(data)
            assert rst is not None
            frames.append((t + 0.003, rst))
            inbound += 1
        inbound += 1
        t += 1
    return write_pcap(path, frames), inbound, a.counters.replies


def _store(tmp_path: Path, kind: str = "responder") -> Path:
    store = tmp_path / "store"
    with open_store(store) as con:
        add_sensor(con, Sensor("r1", ("198.51.100.0/25",), kind=kind))
        add_sensor(con, Sensor("p1", ("203.0.113.0/24",), kind="passive"))
    return store


def _sql(store: Path, q: str) -> list[dict[str, object]]:
    r = CliRunner().invoke(cli, ["sql", q, "--store", str(store), "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    rows: list[dict[str, object]] = json.loads(r.output)["rows"]
    return rows


def test_a_responders_replies_are_stored_apart_and_counted_nowhere(tmp_path: Path) -> None:
    cap, inbound, sent = _responder_capture(tmp_path / "r1.pcap")
    store = _store(tmp_path)
    [r] = list(ingest_paths(store, [cap]))
    assert r.status == "ok" and r.packets == inbound + sent
    assert _sql(store, "SELECT count(*) AS n FROM packets")[0]["n"] == inbound
    out = _sql(store, "SELECT tcp_flags, count(*) AS n FROM outbound GROUP BY 1 ORDER BY 1")
    assert out == [{"tcp_flags": RST, "n": 2}, {"tcp_flags": SYN | ACK, "n": 6}] and sent == 8
    assert _sql(store, "SELECT count(*) AS n FROM packets WHERE src_ip LIKE '198.51.100.%'")[0]["n"] == 0
    # the hourly roll-ups count what the packets do
    assert _sql(store, "SELECT sum(packets) AS n FROM slots_raw")[0]["n"] == inbound
    # the first payload is there, on the flow's inbound packets
    pay = _sql(store, "SELECT dst_ip, dport, payload FROM packets WHERE payload_len > 0 ORDER BY dst_ip")
    assert [(p["dst_ip"], p["dport"]) for p in pay] == [("198.51.100.10", 80), ("198.51.100.11", 23)]
    # a second ingest adds nothing
    assert [x.status for x in ingest_paths(store, [cap])] == ["duplicate"]
    assert _sql(store, "SELECT count(*) AS n FROM outbound")[0]["n"] == sent


def test_the_batch_ingest_sets_replies_apart_too(tmp_path: Path) -> None:
    from teiten.ingest.batch import ingest_batch

    caps = [_responder_capture(tmp_path / f"r{i}.pcap", i) for i in range(3)]
    store = _store(tmp_path)
    results = list(ingest_batch(store, [c for c, _, _ in caps]))
    assert [x.status for x in results] == ["ok"] * 3
    assert _sql(store, "SELECT count(*) AS n FROM packets")[0]["n"] == sum(c[1] for c in caps)
    assert _sql(store, "SELECT count(*) AS n FROM outbound")[0]["n"] == sum(c[2] for c in caps)
    assert _sql(store, "SELECT sum(packets) AS n FROM slots_raw")[0]["n"] == sum(c[1] for c in caps)


def test_sensor_kind_selects_the_sensors_of_one_kind(tmp_path: Path) -> None:
    cap, inbound, _ = _responder_capture(tmp_path / "r1.pcap")
    store = _store(tmp_path)
    list(ingest_paths(store, [cap]))
    from tests.store.synth import syn_pcap

    list(ingest_paths(store, [syn_pcap(tmp_path / "p.pcap", 500, seed=3, start=1_780_000_000, seconds=60)]))
    obs = open_observation(store)
    assert {s.name for s in obs.of_kind("responder").sensors} == {"r1"}
    with pytest.raises(SettingError, match="no responder sensor"):
        obs.of_kind("passive").of_kind("responder")

    def top(*extra: str) -> dict[str, int]:
        r = CliRunner().invoke(cli, ["top", "ports", "--store", str(store), "--from", "2026-05-28", "--to",
                                     "2026-05-29", "--json", *extra], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return {x["key"]: x["packets"] for x in json.loads(r.output)["rows"] if x["packets"]}

    both, resp, passive = top(), top("--sensor-kind", "responder"), top("--sensor-kind", "passive")
    assert sum(resp.values()) == inbound and resp == {"80/TCP": 4, "23/TCP": 4}
    assert sum(passive.values()) == 500 and sum(both.values()) == 500 + inbound
    assert {k: resp.get(k, 0) + passive.get(k, 0) for k in both} == both


def test_the_first_payload_is_attached_to_its_flow(tmp_path: Path) -> None:
    from teiten.analyze.handshakes import first_payloads
    from teiten.periods import period_between

    cap, _, _ = _responder_capture(tmp_path / "r1.pcap")
    store = _store(tmp_path)
    list(ingest_paths(store, [cap]))
    doc = first_payloads(open_observation(store), period_between("2026-05-28", "2026-05-29"))
    rows = {r["key"]: r for r in doc["rows"]}
    # three SYNs to each port; the first flow of each sent "root\r\n" a millisecond after its SYN
    for key in ("80/TCP", "23/TCP"):
        r = rows[key]
        assert (r["flows"], r["with_payload"], r["with_syn"]) == (3, 1, 1)
        assert r["median_wait_s"] == pytest.approx(0.002, abs=1e-4)
        assert r["payloads"] == [{"text": "root\\x0d\\x0a", "bytes": 6, "flows": 1, "sources": 1}]
    r = CliRunner().invoke(cli, ["payloads", "--store", str(store), "--from", "2026-05-28", "--to", "2026-05-29",
                                 "--sensor-kind", "responder", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rows"] == doc["rows"]


def test_payload_text_escapes_what_a_terminal_or_page_would_act_on() -> None:
    from teiten.payload_text import escaped

    assert escaped(b"GET / HTTP/1.1\r\n") == "GET / HTTP/1.1\\x0d\\x0a"
    assert escaped(b"\x1b[2J\\\x00\xff") == "\\x1b[2J\\x5c\\x00\\xff"  # an escape sequence, a backslash, NUL
    assert escaped(b"abcdef", 3) == "abc…" and escaped(b"abc", 3) == "abc"
