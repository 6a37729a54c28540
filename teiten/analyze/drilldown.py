"""Drill-down of one port key (or region): who sends it, from which ports, how many
sources a day, the top source addresses and the hour-of-day profile (NPA Figures 2-3 to 2-5)."""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from teiten.analyze.asns import as_names, asn_key
from teiten.analyze.mixes import FINGERPRINTS, fingerprint_shares, ttl_mix
from teiten.analyze.shares import OTHER, top_shares
from teiten.engine.local_time import day_of, local_day, local_hour
from teiten.engine.observation import UNKNOWN_REGION, Observation
from teiten.keys import is_key, key_codes, key_name
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
    """Everything about ``key`` (``1521/TCP``, or a region code with ``dimension="regions"``).

    The counts by region (or port), day and hour come from the rows that stand for the
    packets (:meth:`Observation.counted`: the hourly roll-ups when they can); the sources and
    rest from the key's packets, read twice: once per source and day (the sources, their
    ASes and the fingerprinted packets), once per source port and TTL."""
    ports = dimension == "ports"
    c, measure = obs.counted(period, group)
    c = c.filter(c.kc == key_codes([key])[0] if ports else _region_is(c, key))
    c = c.mutate(day=local_day(c, period), hour=local_hour(c, period))
    per = obs.materialize(c.group_by(["day", "hour", "country" if ports else "kc"]).aggregate(packets=measure(c)),
                          "drill")

    def summed(by: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = per.group_by(by).aggregate(packets=per.packets.sum()).to_pyarrow().to_pylist()
        return out

    other = {(r["country"] or UNKNOWN_REGION) if ports else key_name(r["kc"]): int(r["packets"])
             for r in summed("country" if ports else "kc")}
    hours = [0] * 24
    for r in summed("hour"):
        hours[int(r["hour"])] = int(r["packets"])
    # the packets themselves, tested on the stored columns (a test the scan can skip row groups with)
    t = obs.in_period(period, group)
    t = t.filter(is_key(t, key) if ports else _region_is(t, key))
    d = t.mutate(day=local_day(t, period), asn=t.asn.cast("int64").fill_null(0))
    daily = d.group_by(["src4", "src6", "day"]).aggregate(
        packets=d.count(), country=d.country.cast("string").first(), asn=d.asn.max(), first=d.ts.min(),
        last=d.ts.max(), **{f: d[f].cast("int64").sum() for f in FINGERPRINTS})
    daily = obs.materialize(daily, "drill_sources")  # the key's sources per day
    per_day = daily.group_by("day").aggregate(packets=daily.packets.sum(), sources=daily.count()).order_by("day")
    src = obs.materialize(daily.group_by(["src4", "src6"]).aggregate(
        packets=daily.packets.sum(), region=daily.country.first(), asn=daily.asn.max(), first=daily.first.min(),
        last=daily.last.max()), "drill_each_source")
    top_src = src.order_by([src.packets.desc(), src.src4, src.src6]).limit(top).to_pyarrow().to_pylist()
    by_as = src.group_by("asn").aggregate(packets=src.packets.sum(), sources=src.count())
    by_as = by_as.order_by([by_as.packets.desc(), by_as.asn]).to_pyarrow().to_pylist()
    n_src = sum(int(r["sources"]) for r in by_as)
    carrying = daily.aggregate(**{f: daily[f].sum() for f in FINGERPRINTS}).to_pyarrow().to_pylist()[0]
    # the source port and TTL of each packet, in one pass
    mix = obs.materialize(t.group_by(sport=t.sport.cast("int64"), ttl=t.ttl.cast("int64")).aggregate(
        packets=t.count()), "drill_mix")
    sp = mix.group_by(src_port=mix.sport.cast("string").fill_null("-")).aggregate(packets=mix.packets.sum())
    sports = {r["src_port"]: int(r["packets"]) for r in sp.to_pyarrow().to_pylist()}
    tl = mix.filter(mix.ttl.notnull()).group_by("ttl").aggregate(packets=mix.packets.sum()).to_pyarrow()
    ttls = {int(v): int(n) for v, n in zip(tl.column("ttl").to_pylist(), tl.column("packets").to_pylist(),
                                           strict=True)}
    total = sum(other.values())
    return {
        "period": period.to_json(), "key": key, "dimension": dimension, "packets": total,
        "sources": n_src,
        "regions" if ports else "ports": top_shares(other, top),
        "source_ports": top_shares(sports, top),
        "ttl": ttl_mix(ttls, top=top),
        "fingerprints": fingerprint_shares(total, {f: int(carrying[f] or 0) for f in FINGERPRINTS}),
        "asns": _as_rows(obs, by_as, total, top),
        "per_day": [{"day": day_of(r["day"]).isoformat(), "packets": int(r["packets"]),
                     "sources": int(r["sources"])} for r in per_day.to_pyarrow().to_pylist()],
        "hour_of_day": hours,
        "top_sources": [{"source": source_text(r["src4"], r["src6"]), "region": r["region"] or UNKNOWN_REGION,
                         "packets": int(r["packets"]), "share": r["packets"] / total if total else None,
                         "first": r["first"].isoformat(), "last": r["last"].isoformat()} for r in top_src],
    }


def _as_rows(obs: Observation, by_as: list[dict[str, Any]], total: int, top: int) -> list[dict[str, Any]]:
    """The ``top`` source ASes (packets, share, distinct sources, name), the rest as ``other``."""
    keys = [asn_key(int(r["asn"])) for r in by_as[:top]]
    names = as_names(obs, set(keys))
    rows: list[dict[str, Any]] = [
        {"key": k, "asn": int(r["asn"]) or None, "name": names.get(k), "packets": int(r["packets"]),
         "share": r["packets"] / total if total else None, "sources": int(r["sources"])}
        for k, r in zip(keys, by_as, strict=False)]
    rest = by_as[top:]
    if rest:
        n = sum(int(r["packets"]) for r in rest)
        rows.append({"key": OTHER, "asn": None, "packets": n, "share": n / total if total else None,
                     "sources": sum(int(r["sources"]) for r in rest), "name": None})
    return rows


def _region_is(t: ir.Table, code: str) -> ir.BooleanValue:
    return t.country.isnull() if code == UNKNOWN_REGION else t.country.cast("string") == code
