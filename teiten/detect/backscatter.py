"""DoS victims from backscatter (docs/detection.md; CAIDA corsaro RS-DoS, Moore et al. 2006).

A victim is the source of a backscatter packet, or for an ICMP error the destination of
the IPv4 packet it quotes. Per victim, packets form an attack vector until the victim is
idle for ``timeout`` seconds; a vector is an attack when it has at least ``min_packets``
packets, lasts at least ``min_duration`` seconds and has ``min_window_packets`` packets
within some ``window`` seconds. Its intensity on the Internet is estimated from the peak
one-minute rate × 2³² / the monitored addresses (the sensor sees that share of the
victim's uniformly spread replies).
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from teiten.analyze.address_days import sensor_weight
from teiten.detect.finding import Finding
from teiten.detect.thresholds import RSDoS
from teiten.engine.observation import Observation
from teiten.enrich import country_name, load_geo
from teiten.periods import Period

__all__ = ["ATTACK_TYPES", "dos_attacks", "dos_findings", "iso_utc", "monitored_addresses", "victim_addresses"]

#: attack type -> (title_ja, title_en)
ATTACK_TYPES = {
    "syn_flood": ("SYN flood攻撃", "SYN flood"),
    "ping_flood": ("PING flood攻撃", "ping flood"),
    "udp_flood": ("UDP flood攻撃", "UDP flood"),
    "icmp_other": ("ICMPエラーを返すDoS攻撃", "DoS answered with ICMP errors"),
    "dns": ("DNSへのDoS攻撃", "DoS on DNS"),
}


_COLUMNS = ["ts_us", "ip_version", "src4", "src6", "proto", "tcp_flags", "icmp_type", "icmp_code", "sport",
            "payload", "country", "asn"]


def victim_addresses(t: pa.Table) -> tuple[npt.NDArray[np.int64], list[bytes], npt.NDArray[np.int8]]:
    """Each backscatter packet's victim as a key (an IPv4 address, or -1 - i for the i-th IPv6
    address of the returned list) and the protocol quoted by ICMP errors (-1: none)."""
    n = t.num_rows
    quoted = np.full(n, -1, np.int8)
    inner = np.zeros(n, np.uint32)
    has_inner = np.zeros(n, bool)
    pay = t.column("payload").combine_chunks()
    is_err = ((t.column("proto").to_numpy(zero_copy_only=False) == 1)
              & np.isin(t.column("icmp_type").fill_null(255).to_numpy(), [3, 4, 5, 11, 12]))
    rows = np.flatnonzero(is_err & np.asarray(pay.is_valid()))
    if len(rows) and pay.buffers()[2] is not None:
        offsets = np.frombuffer(pay.buffers()[1], np.int32)[pay.offset:pay.offset + n + 1]
        data = np.frombuffer(pay.buffers()[2], np.uint8)
        start, length = offsets[rows], offsets[rows + 1] - offsets[rows]
        ok = length >= 20
        ok[ok] &= (data[start[ok]] >> 4) == 4
        r, st = rows[ok], start[ok]
        inner[r] = ((data[st + 16].astype(np.uint32) << 24) | (data[st + 17].astype(np.uint32) << 16)
                    | (data[st + 18].astype(np.uint32) << 8) | data[st + 19].astype(np.uint32))
        quoted[r] = np.minimum(data[st + 9], 127).astype(np.int8)
        has_inner[r] = True
    key = np.where(has_inner, inner, t.column("src4").fill_null(0).to_numpy()).astype(np.int64)
    v6_rows = np.flatnonzero(t.column("ip_version").to_numpy(zero_copy_only=False) == 6)
    v6: list[bytes] = []
    if len(v6_rows):
        raw = t.column("src6").take(pa.array(v6_rows)).to_pylist()
        index: dict[bytes, int] = {}
        for row, b in zip(v6_rows.tolist(), raw, strict=True):
            if b not in index:
                index[b] = len(v6)
                v6.append(b)
            key[row] = -1 - index[b]
    return key, v6, quoted


def _text(key: int, v6: list[bytes]) -> str:
    return str(ipaddress.IPv4Address(key)) if key >= 0 else str(ipaddress.IPv6Address(v6[-1 - key]))


def _classes(t: pa.Table, quoted: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """0 syn_flood, 1 ping_flood, 2 udp_flood, 3 icmp_other, 4 dns."""
    proto = t.column("proto").to_numpy(zero_copy_only=False)
    itype = t.column("icmp_type").fill_null(255).to_numpy()
    cls = np.full(t.num_rows, 3, np.int8)
    cls[proto == 6] = 0
    cls[(proto == 1) & (itype == 0)] = 1
    cls[(proto == 58) & (itype == 129)] = 1
    cls[(proto == 1) & (itype == 3) & (quoted == 17)] = 2
    cls[proto == 17] = 4
    return cls


def monitored_addresses(obs: Observation, period: Period, group: str | None) -> int:
    """The sensor addresses monitored in the period (from the catalog, else those seen)."""
    chosen = obs.sensors_of(group)
    if chosen is not None:
        return sum(sensor_weight(s) for s in chosen)
    t = obs.in_period(period, group)
    return int(t.aggregate(n=t.dst4.nunique() + t.dst6.nunique()).to_pyarrow().column("n")[0].as_py() or 0)


def dos_attacks(obs: Observation, period: Period, group: str | None = None,
                rules: RSDoS = RSDoS()) -> list[dict[str, Any]]:
    """The period's DoS attacks, largest first (see the module doc)."""
    t = obs.in_period(period, group)
    t = t.filter(t.backscatter).select(*_COLUMNS).order_by("ts_us").to_pyarrow()
    if t.num_rows == 0:
        return []
    vkey, v6, quoted = victim_addresses(t)
    cls = _classes(t, quoted)
    ts = t.column("ts_us").to_numpy() / 1e6
    order = np.lexsort((ts, vkey))
    vs, tss, cl = vkey[order], ts[order], cls[order]
    new = np.ones(len(vs), bool)
    new[1:] = (vs[1:] != vs[:-1]) | (np.diff(tss) > rules.timeout)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(vs))
    vector = np.cumsum(new) - 1
    # packets within `window` seconds from each packet, inside its own vector
    key = vector.astype(np.float64) * 1e10 + (tss - tss.min())
    in_window = np.searchsorted(key, key + rules.window, side="right") - np.arange(len(key))
    peak = np.maximum.reduceat(in_window, starts)
    count = ends - starts
    duration = tss[ends - 1] - tss[starts]
    attack = np.flatnonzero((count >= rules.min_packets) & (duration >= rules.min_duration)
                            & (peak >= rules.min_window_packets))
    monitored = max(monitored_addresses(obs, period, group), 1)
    geo = load_geo(obs.meta.get("store"))
    v4_victims = np.array([max(int(vs[starts[k]]), 0) for k in attack], np.uint32)
    countries, asns = (x.to_pylist() for x in geo.lookup4(v4_victims)) if len(attack) else ([], [])
    sport = t.column("sport").cast(pa.int32()).fill_null(-1).to_numpy()[order]
    out: list[dict[str, Any]] = []
    for j, k in enumerate(attack):
        a, b = starts[k], ends[k]
        counts = np.bincount(cl[a:b], minlength=len(ATTACK_TYPES))
        kind = list(ATTACK_TYPES)[int(counts.argmax())]
        vk = int(vs[a])
        country, asn = (countries[j], asns[j]) if vk >= 0 else (None, None)
        ports, pcount = np.unique(sport[a:b][sport[a:b] >= 0], return_counts=True)
        top = np.argsort(-pcount, kind="stable")[:5]
        pps = float(peak[k]) / rules.window
        out.append({
            "victim": _text(vk, v6), "type": kind, "title_ja": ATTACK_TYPES[kind][0],
            "title_en": ATTACK_TYPES[kind][1], "start": iso_utc(tss[a]), "end": iso_utc(tss[b - 1]),
            "duration_s": float(duration[k]), "packets": int(count[k]), "peak_pps": pps,
            "intensity_pps": pps * 2**32 / monitored, "monitored_addresses": monitored, "country": country,
            "name_ja": country_name(country, "ja"), "name_en": country_name(country, "en"), "asn": asn,
            "types": {name: int(c) for name, c in zip(ATTACK_TYPES, counts, strict=True) if c},
            "victim_ports": {int(ports[i]): int(pcount[i]) for i in top},
        })
    out.sort(key=lambda r: (-int(r["packets"]), str(r["start"])))
    return out


def dos_findings(obs: Observation, period: Period, group: str | None = None) -> list[Finding]:
    """One ``dos_victim`` finding per attack."""
    return [Finding(
        "dos_victim", a["type"], victim=a["victim"],
        title_ja=f"{a['name_ja']}の{a['victim']}に対する{a['title_ja']}（跳ね返りパケット）",
        title_en=f"{a['title_en']} on {a['victim']} ({a['name_en']}), seen by its backscatter",
        start=a["start"], end=a["end"],
        # how far past the thresholds: 1.0 when every criterion is met twice over
        score=min(1.0, min(a["packets"] / 50, a["duration_s"] / 120, a["peak_pps"] * 60 / 60)),
        sources=1, top_sources=[{"source": a["victim"], "region": a["country"], "packets": a["packets"]}],
        evidence={k: a[k] for k in ("packets", "duration_s", "peak_pps", "intensity_pps",
                                    "monitored_addresses", "types", "victim_ports", "country", "asn")},
    ) for a in dos_attacks(obs, period, group)]


def iso_utc(sec: float) -> str:
    """Seconds since the epoch as ISO 8601 in UTC with a ``Z``."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(sec, UTC).isoformat().replace("+00:00", "Z")


def rules_json(rules: RSDoS = RSDoS()) -> dict[str, Any]:
    return asdict(rules)
