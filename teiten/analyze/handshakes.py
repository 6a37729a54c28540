"""The first payload of each TCP flow, attached to its flow: what scanners send once a
responder (teiten.sensors.respond) completes their handshake.

A flow is a source address and port to a destination address and port. For each flow of
the period with a payload, its first payload packet (the earliest; ties by the capture's
frame order) and, when the period holds it, the flow's SYN: the seconds from SYN to
payload. Per port key: the flows with a SYN, those that sent a payload, the median wait,
and the most common first payloads (as stored: their first 512 bytes) by flows and
distinct sources. Payload bytes come from the attacker: they are returned as escaped text
(teiten.payload_text).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from teiten.engine.observation import Observation
from teiten.payload_text import escaped
from teiten.periods import Period

__all__ = ["first_payloads"]

_FLOW = ["s4", "s6", "d4", "d6", "sport", "dport"]


def _tcp(t: ir.Table) -> ir.Table:
    """TCP packets with null-free flow columns (a join on a null never matches)."""
    t = t.filter(t.proto == 6)
    empty = ibis.literal(b"", "binary")
    return t.mutate(s4=t.src4.fill_null(0), d4=t.dst4.fill_null(0), s6=t.src6.fill_null(empty),
                    d6=t.dst6.fill_null(empty))


def first_payloads(obs: Observation, period: Period, group: str | None = None, key: str | None = None,
                   top: int = 10) -> dict[str, Any]:
    """Per port key (or ``key`` alone): flows with a SYN, flows with a payload (and of those,
    with their SYN in the period), the median seconds from SYN to first payload and the
    ``top`` first payloads by flows."""
    t = _tcp(obs.in_period(period, group))
    if key is not None:
        t = t.filter(t.key == key)
    syn = t.filter((t.tcp_flags & 0x12) == 0x02)
    syns = syn.group_by([*_FLOW, "key"]).aggregate(syn_ts=syn.ts.min())
    pay = t.filter(t.payload_len > 0)
    at = pay.group_by([*_FLOW, "key"]).aggregate(first_ts=pay.ts.min())
    tied = pay.join(at, [*_FLOW, "key", pay.ts == at.first_ts]).select(*_FLOW, "key", "first_ts", "payload",
                                                                        "file_id", "frame")
    order = tied.file_id.cast("int64") * 4_294_967_296 + tied.frame.cast("int64")  # the first stored of a tie
    firsts = tied.group_by([*_FLOW, "key", "first_ts"]).aggregate(payload=tied.payload.argmin(order))
    j = firsts.left_join(syns, [*_FLOW, "key"]).select(*_FLOW, "key", "first_ts", "payload", "syn_ts")
    j = j.mutate(wait_s=(j.first_ts.epoch_seconds() - j.syn_ts.epoch_seconds()))
    per_key = {r["key"]: r for r in j.group_by("key").aggregate(
        with_payload=j.count(), with_syn=j.syn_ts.count(), wait_s=j.wait_s.median()).to_pyarrow().to_pylist()}
    flows = {r["key"]: r["n"] for r in syns.group_by("key").aggregate(n=syns.count()).to_pyarrow().to_pylist()}
    empty = ibis.literal(b"", "binary")
    sources = j.s4.nullif(0).nunique() + j.s6.nullif(empty).nunique()  # IPv4 sources, IPv6 sources
    g = j.group_by(["key", "payload"]).aggregate(flows=j.count(), sources=sources)
    g = g.mutate(r=ibis.row_number().over(group_by=g.key, order_by=[ibis.desc(g.flows), ibis.desc(g.sources),
                                                                      g.payload]))
    best: dict[str, list[dict[str, Any]]] = {}
    for r in g.filter(g.r < top).order_by(["key", "r"]).to_pyarrow().to_pylist():
        data = bytes(r["payload"])
        best.setdefault(r["key"], []).append({"text": escaped(data), "bytes": len(data), "flows": int(r["flows"]),
                                              "sources": int(r["sources"])})
    rows = []
    for k in sorted(set(per_key) | set(flows), key=lambda x: (-(per_key.get(x) or {}).get("with_payload", 0), x)):
        info = per_key.get(k) or {}
        rows.append({"key": k, "flows": int(flows.get(k, 0)), "with_payload": int(info.get("with_payload", 0)),
                     "with_syn": int(info.get("with_syn", 0)), "median_wait_s": info.get("wait_s"),
                     "payloads": best.get(k, [])})
    return {"period": period.label, "rows": rows}
