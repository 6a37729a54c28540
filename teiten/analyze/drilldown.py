"""Drill-down of one port key (or region): who sends it, from which ports, how many
sources a day, the top source addresses and the hour-of-day profile (NPA Figures 2-3 to 2-5)."""

from __future__ import annotations

from typing import Any

from teiten.analyze.rankings import DIMENSIONS
from teiten.analyze.shares import top_shares
from teiten.engine.local_time import day_of, local_day, local_hour
from teiten.engine.observation import Observation
from teiten.periods import Period

__all__ = ["dimension_of", "drill", "key_of", "source_text"]


def source_text(v4: int | None, v6: bytes | None) -> str:
    """A source address as text, from its stored IPv4 integer or IPv6 bytes."""
    import ipaddress

    return str(ipaddress.IPv4Address(v4)) if v4 is not None else str(ipaddress.IPv6Address(v6 or bytes(16)))


def dimension_of(key: str) -> str:
    """``ports`` for a port key (``1521/TCP``, ``FRAG``), else ``regions`` (a region code)."""
    return "ports" if "/" in key or key == "FRAG" else "regions"


def key_of(text: str) -> tuple[str, str]:
    """A key as a user writes it, as stored, and its dimension (region codes are upper case)."""
    dimension = dimension_of(text)
    return (text if dimension == "ports" else text.upper()), dimension


def drill(obs: Observation, key: str, period: Period, *, dimension: str = "ports", top: int = 10,
          group: str | None = None) -> dict[str, Any]:
    """Everything about ``key`` (``1521/TCP``, or a region code with ``dimension="regions"``)."""
    t = obs.in_period(period, group)
    t = t.filter(t[DIMENSIONS[dimension]] == key)
    t = t.mutate(day=local_day(t, period), hour=local_hour(t, period), src_port=t.sport.cast("string").fill_null("-"))

    def grouped(by: str | list[str], **metrics: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = t.group_by(by).aggregate(**metrics).to_pyarrow().to_pylist()
        return out

    other = "region" if dimension == "ports" else "key"
    regions = {r[other]: r["packets"] for r in grouped(other, packets=t.count())}
    sports = {r["src_port"]: r["packets"] for r in grouped("src_port", packets=t.count())}
    per_day = sorted(grouped("day", packets=t.count(), sources=t.src4.nunique() + t.src6.nunique()),
                     key=lambda r: r["day"])
    hours = [0] * 24
    for r in grouped("hour", packets=t.count()):
        hours[int(r["hour"])] = int(r["packets"])
    src = t.group_by(["src4", "src6"]).aggregate(packets=t.count(), region=t.region.first(),
                                                 first=t.ts.min(), last=t.ts.max())
    top_src = src.order_by([src.packets.desc(), src.src4, src.src6]).limit(top).to_pyarrow().to_pylist()
    n_src = int(src.count().to_pyarrow().as_py())
    total = sum(regions.values())
    return {
        "period": period.to_json(), "key": key, "dimension": dimension, "packets": total,
        "sources": n_src,
        "regions" if dimension == "ports" else "ports": top_shares(regions, top),
        "source_ports": top_shares(sports, top),
        "per_day": [{"day": day_of(r["day"]).isoformat(), "packets": int(r["packets"]),
                     "sources": int(r["sources"])} for r in per_day],
        "hour_of_day": hours,
        "top_sources": [{"source": source_text(r["src4"], r["src6"]), "region": r["region"],
                         "packets": int(r["packets"]), "share": r["packets"] / total if total else None,
                         "first": r["first"].isoformat(), "last": r["last"].isoformat()} for r in top_src],
    }
