"""Planted phenomena with known ground truth, after the JPCERT/CC TSUBAME quarterly reports
2022Q2 and 2012Q3 and the NPA monthly report of July 2009, detectable by the definitions of
docs/detection.md.

Each generator returns a :class:`~teiten.synth.population.Traffic` and a truth dict
(kind, keys, sources, countries, window, packets).  ``day`` arguments count from the
scenario's first day; times are µs since the epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from teiten.capture.frames import ICMP, OPT_MSS, OPT_NONE, OPT_WINDOWS, TCP, UDP, PacketColumns
from teiten.enrich.geo import GeoDB
from teiten.synth.addresses import sample4
from teiten.synth.population import DAY_US, Traffic, sample_sources, unmark
from teiten.synth.sensors import Telescope

__all__ = ["backscatter", "diurnal", "icmp_sweeper", "mirai", "oracle_surge", "sip_scans", "tool_scans"]

I64 = npt.NDArray[np.int64]
Truth = dict[str, Any]


def _dotted(a: npt.NDArray[np.uint32]) -> list[str]:
    b = np.asarray(a, dtype=">u4").view(np.uint8).reshape(-1, 4)
    return [".".join(map(str, r)) for r in b.tolist()]


def _countries(cc: npt.NDArray[np.str_], s: I64) -> dict[str, int]:
    u, n = np.unique(cc[s], return_counts=True)
    return {str(k): int(v) for k, v in sorted(zip(u.tolist(), n.tolist(), strict=True), key=lambda x: -x[1])}


def _truth(kind: str, keys: list[str], src: npt.NDArray[np.uint32], cc: npt.NDArray[np.str_], s: I64,
           ts: I64, **extra: Any) -> Truth:
    used = np.unique(s)
    return {"kind": kind, "keys": keys, "sources": _dotted(src[used]), "countries": _countries(cc, s),
            "source_countries": _countries(cc, used), "window": [int(ts.min()), int(ts.max())],
            "packets": len(ts), **extra}


def _pick_countries(spec: Mapping[str, float], n: int, rng: np.random.Generator) -> npt.NDArray[np.str_]:
    p = np.array(list(spec.values()))
    return np.array(list(spec))[rng.choice(len(p), size=n, p=p / p.sum())]


def _persistent(active: npt.NDArray[np.bool_], rate: npt.NDArray[np.float64], t0: int,
                rng: np.random.Generator) -> tuple[I64, I64]:
    """Packets of sources active on days (``active[s, d]``): per-packet source and time."""
    lam = np.where(active, rate[:, None], 0.0)
    cnt = rng.poisson(lam)
    s_idx, d_idx = np.nonzero(cnt)
    reps = cnt[s_idx, d_idx]
    s, d = np.repeat(s_idx, reps), np.repeat(d_idx, reps)
    ts = t0 + d * DAY_US + rng.integers(0, DAY_US, size=len(s))
    o = np.argsort(ts, kind="stable")
    return s[o].astype(np.int64), ts[o]


def _syn(tel: Telescope, s: I64, ts: I64, src: npt.NDArray[np.uint32], rng: np.random.Generator,
         **values: Any) -> tuple[PacketColumns, npt.NDArray[np.int16]]:
    n = len(s)
    d = rng.integers(0, len(tel.addr4), size=n)
    base: dict[str, Any] = {"ts": ts, "src": src[s], "dst": tel.addr4[d], "proto": TCP, "flags": 2,
                            "sport": rng.integers(1024, 65536, size=n), "seq": rng.integers(0, 1 << 32, size=n),
                            "ip_id": rng.integers(0, 1 << 16, size=n), "window": 65535, "ttl": 50, "mss": 1460}
    base.update(values)
    return PacketColumns.make(n, **base), tel.site4[d]


def mirai(geo: GeoDB, tel: Telescope, ndays: int, t0: int, scale: float, rng: np.random.Generator
          ) -> tuple[Traffic, Truth]:
    """Mirai-type SYNs (seq == dst) to 23/TCP and 2323/TCP from IoT hosts, ramping up over weeks."""
    ns = max(40, round(4000 * scale))
    cc = _pick_countries({"CN": 30, "KR": 20, "TW": 15, "BR": 15, "VN": 10, "JP": 10}, ns, rng)
    src = sample_sources(geo, cc, rng)
    start = (ndays * np.sqrt(rng.random(ns))).astype(np.int64)  # more hosts join later
    stop = start + np.ceil(rng.exponential(25.0, size=ns)).astype(np.int64)
    days = np.arange(ndays)
    active = (days >= start[:, None]) & (days < stop[:, None])
    rate = rng.lognormal(0, 0.7, size=ns)
    rate *= 4.0e5 * scale / max(float((active * rate[:, None]).sum()), 1.0)
    s, ts = _persistent(active, rate, t0, rng)
    n = len(s)
    dport = np.where(rng.random(n) < 0.9, 23, 2323)
    cols, site = _syn(tel, s, ts, src, rng, dport=dport, window=rng.integers(1024, 65536, size=ns)[s],
                      ttl=64 - rng.integers(8, 24, size=ns)[s], tcp_opts=OPT_NONE)
    cols.seq[:] = cols.dst
    unmark(cols, mirai=False)
    return Traffic("mirai", cols, site), _truth("mirai", ["23/TCP", "2323/TCP"], src, cc, s, ts)


def oracle_surge(geo: GeoDB, tel: Telescope, ndays: int, t0: int, scale: float, rng: np.random.Generator,
                 first_day: int, late_day: int) -> tuple[Traffic, Truth]:
    """1521/TCP from ~92 % CN sources, ≥ 90 % from source port 6000, sources rising after ``late_day``."""
    ns = max(30, round(300 * scale))
    cc = np.where(rng.random(ns) < 0.92, "CN", _pick_countries({"US": 1, "KR": 1, "TW": 1}, ns, rng))
    src = sample_sources(geo, cc, rng)
    days = np.arange(ndays)
    early = rng.random(ns) < 0.1  # a few sources from the first day, the rest join late
    join = np.where(early, first_day, late_day + rng.integers(0, 10, size=ns))
    stop = np.minimum(first_day + 75, ndays)
    active = (days >= join[:, None]) & (days < stop)
    rate = np.full(ns, 6.0e4 * scale / max(float(active.sum()), 1.0))
    s, ts = _persistent(active, rate, t0, rng)
    n = len(s)
    sport = np.where(rng.random(n) < 0.97, 6000, rng.integers(1024, 65536, size=n))
    cols, site = _syn(tel, s, ts, src, rng, dport=1521, sport=sport, window=16384, ttl=128 - 18,
                      tcp_opts=OPT_WINDOWS, wscale=0)
    unmark(cols)
    extra = {"first_day": first_day, "late_day": late_day, "sport_6000_share": float((sport == 6000).mean())}
    return Traffic("oracle_surge", cols, site), _truth("surge", ["1521/TCP"], src, cc, s, ts, **extra)


def backscatter(geo: GeoDB, tel: Telescope, t0: int, scale: float, rng: np.random.Generator,
                day: int) -> tuple[Traffic, Truth]:
    """Replies of a DoS victim in KR (port 80 SYN-ACK/RST, echo replies, ICMP 3 quoting UDP/80) over 2 days."""
    victim = sample4(geo, "KR", 1, rng)
    total = max(400, round(20_000 * scale))
    bursts = int(np.clip(round(total / 2000), 2, 10))
    per = total // bursts
    dur = np.minimum(20 * 60, per * 60 // 45) * 1_000_000  # ≥ 45 packets a minute on average
    b0 = t0 + day * DAY_US + np.sort(rng.integers(0, 2 * DAY_US - dur, size=bursts))
    ts = np.sort((b0[:, None] + rng.integers(0, dur, size=(bursts, per))).reshape(-1))
    n = len(ts)
    kind = rng.choice(4, size=n, p=[0.45, 0.25, 0.2, 0.1])  # SYN-ACK, RST, echo reply, unreachable
    d = rng.integers(0, len(tel.addr4), size=n)
    dst = tel.addr4[d]
    proto = np.where(kind < 2, TCP, ICMP)
    cols = PacketColumns.make(
        n, payloads=(bytes(range(32)),), ts=ts, src=victim[0], dst=dst, proto=proto,
        sport=np.where(kind < 2, 80, 0), dport=np.where(kind < 2, rng.integers(1024, 65536, size=n), 0),
        flags=np.choose(np.minimum(kind, 2), [0x12, np.where(rng.random(n) < 0.5, 0x04, 0x14), 0]),
        seq=rng.integers(0, 1 << 32, size=n), ack=rng.integers(0, 1 << 32, size=n), window=14600,
        ip_id=rng.integers(0, 1 << 16, size=n), ttl=64 - 15, icmp_type=np.where(kind == 3, 3, 0),
        icmp_code=np.where(kind == 3, 3, 0), tcp_opts=np.where(kind == 0, OPT_MSS, OPT_NONE), mss=1460,
        inner_proto=np.where(kind == 3, UDP, 0), inner_src=np.where(kind == 3, dst, 0),
        inner_dst=np.where(kind == 3, victim[0], 0), inner_sport=rng.integers(1024, 65536, size=n),
        inner_dport=np.where(kind == 3, 80, 0), payload_id=np.where(kind == 2, 0, -1))
    unmark(cols)
    gaps = np.flatnonzero(np.diff(ts) > 300 * 1_000_000)
    starts, stops = np.r_[0, gaps + 1], np.r_[gaps, n - 1]
    win60 = np.searchsorted(ts, ts + 60 * 1_000_000, side="right") - np.arange(n)
    attacks = [{"start": int(ts[a]), "end": int(ts[b]), "packets": int(b - a + 1),
                "max_60s": int(win60[a : b + 1].max())} for a, b in zip(starts, stops, strict=True)]
    truth = {"kind": "backscatter", "keys": ["0/ICMP", "3/ICMP"], "tcp_sport": 80, "victim": _dotted(victim)[0],
             "sources": _dotted(victim), "countries": {"KR": n}, "window": [int(ts[0]), int(ts[-1])],
             "packets": n, "by_type": {k: int((kind == i).sum()) for i, k in
                                       enumerate(["syn_ack", "rst", "echo_reply", "unreachable_udp80"])},
             "attacks": attacks}
    return Traffic("backscatter", cols, tel.site4[d]), truth


def diurnal(geo: GeoDB, tel: Telescope, ndays: int, t0: int, scale: float, rng: np.random.Generator
            ) -> tuple[Traffic, Truth]:
    """Home-PC bots in BR/AR (UTC-3) scanning 445/TCP with a 24 h cycle peaking at 21:00 local time."""
    ns = max(20, round(400 * scale))
    cc = _pick_countries({"BR": 70, "AR": 30}, ns, rng)
    src = sample_sources(geo, cc, rng)
    n = rng.poisson(2.5e5 * scale)
    hour_w = 1 + 0.85 * np.cos(2 * np.pi * (np.arange(24) - 21) / 24)  # local hours
    local_h = rng.choice(24, size=n, p=hour_w / hour_w.sum())
    day = rng.integers(0, ndays, size=n)
    ts = np.sort(t0 + day * DAY_US + ((local_h + 3) % 24) * 3_600_000_000 + rng.integers(0, 3_600_000_000, size=n))
    s = rng.integers(0, ns, size=n)
    cols, site = _syn(tel, s, ts, src, rng, dport=445, ttl=128 - 20, window=64240, tcp_opts=OPT_WINDOWS, wscale=8,
                      sport=rng.integers(49152, 65536, size=n))
    unmark(cols)
    hours = np.bincount((ts // 3_600_000_000) % 24, minlength=24)
    return Traffic("diurnal", cols, site), _truth("diurnal", ["445/TCP"], src, cc, s, ts, utc_offset_hours=-3,
                                                  peak_local_hour=21, by_utc_hour=hours.tolist())


def icmp_sweeper(geo: GeoDB, tel: Telescope, ndays: int, t0: int, scale: float, rng: np.random.Generator,
                 last_days: int = 10) -> tuple[Traffic, Truth]:
    """One CN address sending echo requests to every IPv4 sensor address, sweep after sweep."""
    src = sample4(geo, "CN", 1, rng)
    per_day = max(1, round(48 * scale))
    sweeps = last_days * per_day
    k = len(tel.addr4)
    start = t0 + (ndays - last_days) * DAY_US + np.arange(sweeps) * (DAY_US // per_day)
    start += rng.integers(0, DAY_US // per_day - k * 5000, size=sweeps)
    order = np.argsort(rng.random((sweeps, k)), axis=1)
    ts = (start[:, None] + np.arange(k) * 5000).reshape(-1)
    d = order.reshape(-1)
    n = len(ts)
    cols = PacketColumns.make(n, ts=ts, src=src[0], dst=tel.addr4[d], proto=ICMP, icmp_type=8, ttl=64 - 17,
                              seq=(0x4A4A << 16) + np.arange(n) % 65536, ip_id=rng.integers(0, 1 << 16, size=n))
    unmark(cols)
    s = np.zeros(n, dtype=np.int64)
    return Traffic("icmp_sweeper", cols, tel.site4[d]), _truth("sweep", ["8/ICMP"], src, np.array(["CN"]), s, ts,
                                                              addresses_hit=len(np.unique(d)))


SIP_TOOLS: tuple[tuple[str, str, str, float], ...] = (  # name, method, User-Agent, share
    ("friendly-scanner", "OPTIONS", "friendly-scanner", 0.5),
    ("sipvicious", "OPTIONS", "sipvicious", 0.25),
    ("sipcli", "INVITE", "sipcli/v1.8", 0.15),
    ("other", "REGISTER", "Asterisk PBX 1.8.7", 0.1),
)


def _sip(method: str, ua: str, dst: str) -> bytes:
    return (f"{method} sip:100@{dst} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-2158129823;rport\r\n"
            f"Max-Forwards: 70\r\nTo: \"100\" <sip:100@{dst}>\r\nFrom: \"100\" <sip:100@{dst}>;tag=3739393233\r\n"
            f"User-Agent: {ua}\r\nCall-ID: 839503419\r\nContact: <sip:100@127.0.0.1:5060>\r\n"
            f"CSeq: 1 {method}\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n").encode()


def sip_scans(geo: GeoDB, tel: Telescope, ndays: int, t0: int, scale: float, rng: np.random.Generator
              ) -> tuple[Traffic, Truth]:
    """5060/UDP scans whose payload names the tool (User-Agent: friendly-scanner, sipvicious, sipcli)."""
    ns = max(12, round(150 * scale))
    cc = _pick_countries({"US": 35, "CN": 20, "DE": 15, "FR": 10, "NL": 10, "JP": 10}, ns, rng)
    src = sample_sources(geo, cc, rng)
    tool = rng.choice(len(SIP_TOOLS), size=ns, p=[t[3] for t in SIP_TOOLS])
    tool[: len(SIP_TOOLS)] = np.arange(len(SIP_TOOLS))  # every tool appears
    first = rng.integers(0, ndays, size=ns)
    days = np.arange(ndays)
    active = (days >= first[:, None]) & (days < (first + rng.integers(1, 15, size=ns))[:, None])
    rate = np.full(ns, 1.0e5 * scale / max(float(active.sum()), 1.0)) * rng.lognormal(0, 0.5, size=ns)
    s, ts = _persistent(active, rate, t0, rng)
    n, k = len(s), len(tel.addr4)
    d = rng.integers(0, k, size=n)
    dotted = _dotted(tel.addr4)
    payloads = tuple(_sip(m, ua, a) for _, m, ua, _ in SIP_TOOLS for a in dotted)
    t = tool[s]
    sport = np.where(t == 0, 5060, np.where(t == 1, 5061, rng.integers(1024, 65536, size=n)))
    cols = PacketColumns.make(n, payloads=payloads, ts=ts, src=src[s], dst=tel.addr4[d], proto=UDP, sport=sport,
                              dport=5060, ttl=64 - 16, ip_id=rng.integers(0, 1 << 16, size=n), payload_id=t * k + d)
    unmark(cols)
    by_tool = {name: int((t == i).sum()) for i, (name, *_rest) in enumerate(SIP_TOOLS)}
    return Traffic("sip", cols, tel.site4[d]), _truth("sip", ["5060/UDP"], src, cc, s, ts, by_tool=by_tool)


def tool_scans(geo: GeoDB, tel: Telescope, ndays: int, t0: int, scale: float, rng: np.random.Generator,
               tool: str) -> tuple[Traffic, Truth]:
    """ZMap (IP id 54321) or Masscan (ip_id == (dst ^ dport ^ seq) & 0xFFFF) scans: each scan hits
    every IPv4 sensor address once on one port."""
    zmap = tool == "zmap"
    spec = {"US": 2, "NL": 1, "DE": 1} if zmap else {"CN": 1, "RU": 1, "US": 1}
    ports = np.array([80, 443, 8080, 22] if zmap else [3389, 5900, 8443, 6379])
    ns = 4 if zmap else 3
    cc = _pick_countries(spec, ns, rng)
    src = sample_sources(geo, cc, rng)
    scans = max(ns, round(40 * scale))
    sc_src = np.arange(scans) % ns
    start = t0 + rng.integers(0, ndays * DAY_US - 3_600_000_000, size=scans)
    k = len(tel.addr4)
    d = np.argsort(rng.random((scans, k)), axis=1).reshape(-1)
    ts = (start[:, None] + np.sort(rng.integers(0, 600_000_000, size=(scans, k)), axis=1)).reshape(-1)
    s = np.repeat(sc_src, k)
    o = np.argsort(ts, kind="stable")
    d, ts, s = d[o], ts[o], s[o]
    scan = np.repeat(np.arange(scans), k)[o]
    n = len(ts)
    dport = ports[rng.integers(0, len(ports), size=scans)][scan]
    seq = rng.integers(0, 1 << 32, size=n, dtype=np.int64)
    dst = tel.addr4[d]
    ip_id = np.full(n, 54321) if zmap else (dst.astype(np.int64) ^ dport ^ seq) & 0xFFFF
    cols = PacketColumns.make(n, ts=ts, src=src[s], dst=dst, proto=TCP, flags=2, dport=dport, seq=seq, ip_id=ip_id,
                              sport=rng.integers(32768, 61000, size=scans)[scan], ttl=255 - 14,
                              window=65535 if zmap else 1024, tcp_opts=OPT_MSS if zmap else OPT_NONE, mss=1460)
    unmark(cols, zmap=not zmap, masscan=zmap)
    keys = sorted({f"{p}/TCP" for p in np.unique(dport).tolist()})
    return Traffic(tool, cols, tel.site4[d]), _truth(tool, keys, src, cc, s, ts, scans=scans)
