"""Background radiation: persistent source hosts with a country, an "OS" and a port set.

Each source sends Poisson-many packets on each day of its active window, scaled by a
weekly cycle, daily noise and per-port trends (6379/TCP fading, 23/TCP growing, as in
the JPCERT/CC TSUBAME quarterly report 2022Q2).  Everything is drawn as arrays; no Python runs per packet or per source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from teiten.capture.frames import ICMP, ICMP6, OPT_LINUX, OPT_MACOS, OPT_NONE, OPT_WINDOWS, TCP, UDP, PacketColumns
from teiten.enrich.geo import GeoDB
from teiten.synth.addresses import sample4
from teiten.synth.sensors import Telescope

__all__ = ["COUNTRIES", "DAY_US", "KEYS", "Traffic", "background", "key_mix", "sample_sources", "unmark"]

DAY_US = 86_400_000_000
I64 = npt.NDArray[np.int64]

#: Source countries and their weights (share of background packets, %).
COUNTRIES: tuple[tuple[str, float], ...] = (
    ("CN", 22), ("US", 18), ("RU", 8), ("IN", 5), ("NL", 5), ("BR", 5), ("KR", 4), ("TW", 4), ("DE", 4),
    ("GB", 4), ("JP", 3), ("FR", 3), ("VN", 3), ("HK", 2), ("SG", 2), ("ID", 1.5), ("TH", 1), ("IT", 1),
    ("UA", 1), ("TR", 1), ("IR", 1), ("BG", 1), ("RO", 1), ("CA", 1), ("AR", 0.5), ("MX", 0.5), ("PL", 0.5),
    ("ES", 0.5), ("EG", 0.5), ("PK", 0.5),
)
#: (destination port or ICMP type, protocol, weight); port 0 = a random high port per source.
KEYS: tuple[tuple[int, int, float], ...] = (
    (23, TCP, 18), (445, TCP, 12), (1433, TCP, 7), (22, TCP, 9), (6379, TCP, 6), (80, TCP, 6), (8, ICMP, 6),
    (3389, TCP, 5), (8080, TCP, 4), (53, UDP, 2), (443, TCP, 3), (8443, TCP, 1.5), (5555, TCP, 1.5),
    (2323, TCP, 1), (81, TCP, 1), (135, TCP, 1), (139, TCP, 1), (3306, TCP, 1), (5900, TCP, 1), (21, TCP, 0.8),
    (25, TCP, 0.8), (8888, TCP, 0.8), (9200, TCP, 0.6), (7547, TCP, 0.6), (37215, TCP, 0.5), (52869, TCP, 0.5),
    (5432, TCP, 0.5), (27017, TCP, 0.4), (4899, TCP, 0.4), (8000, TCP, 0.6), (9000, TCP, 0.5), (123, UDP, 0.6),
    (161, UDP, 0.6), (1900, UDP, 0.6), (11211, UDP, 0.3), (137, UDP, 0.4), (500, UDP, 0.3), (1521, TCP, 0.03),
    (0, TCP, 3),
)
#: Per-country multipliers of the key weights: the port mixes differ by country.
BOOSTS: dict[str, dict[int, float]] = {
    "CN": {1433: 3, 22: 2, 6379: 2, 3389: 1.5}, "US": {80: 2, 443: 3, 8080: 2, 22: 1.5, 0: 3},
    "RU": {3389: 3, 445: 1.5, 8080: 1.5}, "IN": {445: 3, 23: 1.5}, "NL": {3389: 2, 0: 3, 22: 1.5},
    "BR": {23: 2.5, 445: 2, 7547: 3}, "KR": {23: 2, 6379: 2}, "TW": {23: 3, 445: 1.5}, "DE": {22: 2, 3389: 2},
    "GB": {80: 2, 8080: 2, 443: 2}, "JP": {23: 2, 445: 2}, "FR": {22: 1.5, 80: 1.5}, "VN": {445: 3, 23: 2},
}
#: Per-port linear trends over the scenario (multiplier at start, at end).
TRENDS: dict[int, tuple[float, float]] = {6379: (1.3, 0.6), 23: (0.8, 1.3), 3389: (0.9, 1.2), 1433: (1.1, 0.9)}
#: "OS" of a source: (share, initial TTL, option layout, windows to pick from, ephemeral port range).
OSES: tuple[tuple[float, int, int, tuple[int, ...], tuple[int, int]], ...] = (
    (0.45, 64, OPT_LINUX, (64240, 29200, 65535), (32768, 61000)),
    (0.30, 128, OPT_WINDOWS, (64240, 8192, 65535), (49152, 65536)),
    (0.15, 64, OPT_NONE, (1024, 5840, 14600, 65535), (1024, 65536)),
    (0.10, 64, OPT_MACOS, (65535,), (49152, 65536)),
)
UDP_PAYLOADS: dict[int, bytes] = {
    53: bytes.fromhex("8a1201000001000000000000076578616d706c6503636f6d0000ff0001"),
    123: bytes.fromhex("17000203") + bytes(4),
    161: bytes.fromhex("302602010104067075626c6963a019020400000001020100020100300b300906052b060102010500"),
    1900: (b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
           b"ST: ssdp:all\r\n\r\n"),
    11211: b"\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n",
    137: bytes.fromhex("e5d80000000100000000000020434b41414141414141414141414141414141"
                       "414141414141414141414141414141410000210001"),
}
PING = (b"abcdefghijklmnopqrstuvwabcdefghi", bytes(range(0x10, 0x38)))  # Windows 32 B, Linux 56 B


@dataclass
class Traffic:
    """Packets of one generator with the site index of each packet's sensor."""

    label: str
    cols: PacketColumns
    site: npt.NDArray[np.int16]


def sample_sources(geo: GeoDB, countries: npt.NDArray[np.str_], rng: np.random.Generator) -> npt.NDArray[np.uint32]:
    """One address per element of ``countries``, placed by the shipped GeoIP in that country."""
    out = np.zeros(len(countries), dtype=np.uint32)
    for cc in np.unique(countries).tolist():
        sel = np.flatnonzero(countries == cc)
        out[sel] = sample4(geo, cc, len(sel), rng)
    return out


def unmark(c: PacketColumns, *, mirai: bool = True, zmap: bool = True, masscan: bool = True) -> None:
    """Change ``seq``/``ip_id`` in place where a packet would match a fingerprint by chance."""
    v4tcp = (c.version == 4) & (c.proto == TCP)
    if mirai:
        c.seq[v4tcp & (c.seq == c.dst)] ^= 1
    m = ((c.dst ^ c.dport.astype(np.uint32) ^ c.seq) & 0xFFFF).astype(np.uint16)
    bad = (c.version == 4) & ((c.ip_id == 54321) if zmap else False)
    if masscan:
        bad |= v4tcp & (c.ip_id == m)
    fix = (m + 1).astype(np.uint16)
    c.ip_id[bad] = np.where(fix == 54321, fix + 1, fix)[bad]


def key_mix(country: str) -> npt.NDArray[np.float64]:
    """The probability of each of :data:`KEYS` for a source in ``country``."""
    w = np.array([k[2] * BOOSTS.get(country, {}).get(k[0], 1.0) for k in KEYS])
    out: npt.NDArray[np.float64] = w / w.sum()
    return out


def _trend(key_ports: I64, frac: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out = np.ones(len(frac))
    for port, (a, b) in TRENDS.items():
        sel = key_ports == port
        out[sel] = a + (b - a) * frac[sel]
    return out


def background(geo: GeoDB, tel: Telescope, ndays: int, t0: int, scale: float, rng: np.random.Generator,
               weekday0: int) -> Traffic:
    """About ``3.0e6 * scale`` packets from ``40000 * scale`` sources over ``ndays`` days from ``t0`` (µs)."""
    ns = max(200, round(40_000 * scale))
    cw = np.array([c[1] for c in COUNTRIES])
    country = np.array([c[0] for c in COUNTRIES])[rng.choice(len(cw), size=ns, p=cw / cw.sum())]
    src = sample_sources(geo, country, rng)
    keys = np.zeros((ns, 3), dtype=np.int64)
    for cc in np.unique(country).tolist():
        sel = np.flatnonzero(country == cc)
        keys[sel] = rng.choice(len(KEYS), size=(len(sel), 3), p=key_mix(cc))
    nkeys = 1 + (rng.random(ns) < 0.35) + (rng.random(ns) < 0.15)
    highport = rng.integers(1024, 65536, size=ns)
    os_ = rng.choice(len(OSES), size=ns, p=[o[0] for o in OSES])
    hops = rng.integers(6, 25, size=ns)
    first = rng.integers(-60, ndays, size=ns)
    last = np.minimum(first + np.ceil(rng.exponential(30.0, size=ns)).astype(np.int64), ndays)
    first = np.maximum(first, 0)
    ndays_s = np.maximum(last - first, 0)
    rate = rng.lognormal(0.0, 1.3, size=ns)
    rate *= 3.0e6 * scale / max(float((rate * ndays_s).sum()), 1.0)
    # (source, day) pairs, then packets
    pair_src = np.repeat(np.arange(ns), ndays_s)
    pair_day = first[pair_src] + np.arange(len(pair_src)) - np.repeat(np.cumsum(ndays_s) - ndays_s, ndays_s)
    weekday = (pair_day + weekday0) % 7
    day_noise = rng.lognormal(0.0, 0.08, size=ndays)
    lam = rate[pair_src] * (1 + 0.12 * np.cos(2 * np.pi * (weekday - 2) / 7)) * day_noise[pair_day] * 1.3
    per_pair = rng.poisson(lam)
    s = np.repeat(pair_src, per_pair)
    day = np.repeat(pair_day, per_pair)
    n = len(s)
    u = rng.random(n)
    slot = np.where(u < 0.7, 0, np.where(u < 0.85, 1, 2)) % nkeys[s]
    k = keys[s, slot]
    karr = np.array([(p, pr) for p, pr, _ in KEYS], dtype=np.int64)
    port, proto = karr[k, 0], karr[k, 1]
    keep = rng.random(n) * 1.3 < _trend(port, day / max(ndays - 1, 1))
    s, day, port, proto = s[keep], day[keep], np.where(port[keep] == 0, highport[s[keep]], port[keep]), proto[keep]
    n = len(s)
    ts = t0 + day * DAY_US + rng.integers(0, DAY_US, size=n)
    order = np.argsort(ts, kind="stable")
    s, ts, port, proto = s[order], ts[order], port[order], proto[order]
    o = os_[s]
    ttl0, opt = np.array([x[1] for x in OSES])[o], np.array([x[2] for x in OSES])[o]
    lo, hi = np.array([x[4][0] for x in OSES])[o], np.array([x[4][1] for x in OSES])[o]
    wins = [np.array(x[3]) for x in OSES]
    window = np.zeros(n, dtype=np.int64)
    for i, w in enumerate(wins):
        sel = o == i
        window[sel] = w[rng.integers(0, len(w), size=int(sel.sum()))]
    is_icmp = proto == ICMP
    dst_i = rng.integers(0, len(tel.addr4), size=n)
    payloads = (*UDP_PAYLOADS.values(), *PING)
    udp_ports = np.array(list(UDP_PAYLOADS))
    pid = np.full(n, -1, dtype=np.int64)
    is_udp = proto == UDP
    pid[is_udp] = np.searchsorted(udp_ports, port[is_udp])
    pid[is_udp & ~np.isin(port, udp_ports)] = -1
    pid[is_icmp] = len(UDP_PAYLOADS) + (ttl0[is_icmp] == 64)
    flags = np.where(proto == TCP, np.where(rng.random(n) < 0.01, 0x10, 0x02), 0)
    cols = PacketColumns.make(
        n, payloads=payloads, ts=ts, src=src[s], dst=tel.addr4[dst_i], proto=proto, sport=rng.integers(lo, hi),
        dport=np.where(is_icmp, 0, port), flags=flags, seq=rng.integers(0, 1 << 32, size=n, dtype=np.int64),
        ack=np.where(flags == 0x10, rng.integers(0, 1 << 32, size=n, dtype=np.int64), 0), window=window,
        ip_id=rng.integers(0, 1 << 16, size=n), ttl=ttl0 - hops[s], icmp_type=np.where(is_icmp, 8, 0),
        tcp_opts=np.where(flags == 0x02, opt, OPT_NONE), mss=np.where(rng.random(ns) < 0.9, 1460, 1452)[s],
        wscale=np.where(ttl0 == 128, 8, 7), tsval=rng.integers(0, 1 << 32, size=n, dtype=np.int64), payload_id=pid)
    echo_id = rng.integers(1, 1 << 16, size=ns)
    cols.seq[is_icmp] = (echo_id[s[is_icmp]] << 16) + rng.integers(1, 999, size=int(is_icmp.sum()))
    site = tel.site4[dst_i]
    _to_ipv6(cols, site, s, src, tel, rng)
    unmark(cols)
    return Traffic("background", cols, site)


_V6_PREFIXES = (bytes.fromhex("240e0388"), bytes.fromhex("26001700"), bytes.fromhex("2a010e0a"),
                bytes.fromhex("240b0010"), bytes.fromhex("2a0206b8"))


def _to_ipv6(c: PacketColumns, site: npt.NDArray[np.int16], s: I64, src: npt.NDArray[np.uint32],
             tel: Telescope, rng: np.random.Generator) -> None:
    """Turn the packets of about 1 % of sources into IPv6 to the IPv6 sensor addresses (in place)."""
    if len(tel.addr6) == 0:
        return
    v6src = (src % 97) == 0
    sel = np.flatnonzero(v6src[s])
    if len(sel) == 0:
        return
    prefix = np.frombuffer(b"".join(_V6_PREFIXES), dtype=np.uint8).reshape(-1, 4)
    sa = np.zeros((len(sel), 16), dtype=np.uint8)
    sa[:, :4] = prefix[src[s[sel]] % len(prefix)]
    sa[:, 4:12] = src[s[sel]].astype(">u4").view(np.uint8).reshape(-1, 4).repeat(2, axis=1)
    sa[:, 15] = 1
    d = rng.integers(0, len(tel.addr6), size=len(sel))
    c.version[sel], c.src6[sel], c.dst6[sel] = 6, sa, tel.addr6[d]
    c.proto[sel] = np.where(c.proto[sel] == ICMP, ICMP6, c.proto[sel])
    c.icmp_type[sel] = np.where(c.proto[sel] == ICMP6, 128, 0)
    c.payload_id[sel] = np.where(c.proto[sel] == ICMP6, -1, c.payload_id[sel])
    site[sel] = tel.site6[d]
