"""The evidence of ``teiten notify``: the period's sources whose packets carry a fingerprint
(Mirai, ZMap, ...) and the scanners, one row per source, port and tag, in the columns of
:data:`teiten.incidents.notify.COLUMNS` (Shadowserver-like: ``time`` of the first packet,
``source``, ``port`` as ``23/tcp``, ``asn``, ``country``, ``tag``: the fingerprint's name or
``scan``, ``count``: packets)."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

import ibis

from teiten.analyze.drilldown import source_text
from teiten.detect.fingerprints import fingerprint_packets, load_fingerprints
from teiten.detect.scans import scans
from teiten.engine.observation import Observation
from teiten.keys import key_text
from teiten.periods import Period

__all__ = ["evidence"]


def _port(key: str) -> str:
    num, _, proto = key.partition("/")
    return f"{num}/{proto.lower()}" if proto else key


def evidence(obs: Observation, period: Period, group: str | None = None, country: str | None = None
             ) -> list[dict[str, Any]]:
    """The evidence rows of the period: per source, port and tag (see the module docstring),
    of sources in ``country`` when given."""
    rows: list[dict[str, Any]] = []
    for fp in load_fingerprints().fingerprints:
        t = fingerprint_packets(obs, fp, period, group)
        if country:
            t = t.filter(t.country.cast("string") == country)
        agg = t.group_by(["src4", "src6", "kc"]).aggregate(count=t.count(), first=t.ts.min(), asn=t.asn.max(),
                                                            country=t.country.cast("string").max())
        agg = agg.mutate(key=key_text(agg.kc))
        for r in agg.to_pyarrow().to_pylist():
            rows.append({"time": r["first"], "source": source_text(r["src4"], r["src6"]), "port": _port(r["key"]),
                         "asn": r["asn"], "country": r["country"], "tag": fp.name, "count": int(r["count"])})
    found, _, _ = scans(obs, period, group)
    if found:
        v4 = sorted({int(ipaddress.ip_address(s["source"])) for s in found if ":" not in s["source"]})
        t = obs.in_period(period, group)
        t = t.filter(t.src4.isin(v4)) if v4 else t.filter(ibis.literal(False))
        meta = {source_text(r["src4"], None): r for r in
                t.group_by("src4").aggregate(asn=t.asn.max(), country=t.country.cast("string").max())
                .to_pyarrow().to_pylist()}
        for s in found:
            m = meta.get(s["source"], {})
            if country and m.get("country") != country:
                continue
            rows.append({"time": datetime.fromisoformat(s["start"].replace("Z", "+00:00")), "source": s["source"],
                         "port": _port(s["key"]), "asn": m.get("asn"), "country": m.get("country"), "tag": "scan",
                         "count": int(s["packets"])})
    rows.sort(key=lambda r: (r["source"], r["port"], r["tag"], r["time"]))
    return rows
