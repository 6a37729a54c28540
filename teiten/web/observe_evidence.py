"""The evidence of a finding (docs/dashboard-findings.md): which stored packets stand behind
it, their daily counts, a sample of them, and the same packets rebuilt as a pcap file.

:func:`evidence_filter` is the finding's packets as an engine expression, per kind:

- a fingerprint (``mirai``, ``zmap``, ``masscan``, ``nmap``, ``unicornscan``): the period's
  packets that carry it (:func:`teiten.detect.fingerprints.fingerprint_test`; for Mirai the
  stored ``mirai`` tag);
- ``dos_victim``: the backscatter packets of the attack's span (a second either side) whose
  victim is the finding's: the source, or for an ICMP error the destination of the quoted
  IPv4 packet; that last test reads bytes of the payload, so the engine keeps the
  candidates (the victim's own packets and the span's ICMP errors) and :func:`refine` keeps
  those whose quoted destination is the victim (numpy over the batch, as the detector does);
- ``scan``: the source's packets (backscatter left out, as the detector does) on the scan's
  keys within each scan's span (the first 20 scans, a second either side; with more, the
  period);
- ``surge``, ``drop``: the key's (or region's) packets on the days of the run;
  ``new_key``, ``rank_jump``: the key's (or region's) packets in the period;
- ``payload_tool``: the key's packets whose payload has a ``User-Agent:`` or ``Server:``
  header holding the tool's text;
- ``concentration``: the key's packets from the source, source port or country;
- ``diurnal``: the region's, key's or key@region's packets in the period;
- ``signature``: the packets passing the rule's header tests, and, for a rule with payload
  tests, its whole match (:func:`refine` runs the rule through the signature matcher over
  the candidates).

Sources in what a viewer sees are cut to their /24 (IPv6 /48) unless the setting
``web_viewer_sources`` is ``full`` (:func:`redacted`). A finding's ``id``
(:func:`finding_ids`) is the first 16 hex digits of the SHA-256 of its canonical JSON (as
``teiten detect --json`` writes it, keys sorted) with its sources cut that way, so an id
names the same finding across requests and restarts and gives no whole address away.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from teiten.capture.frames import (
    ICMP,
    OPT_LINUX,
    OPT_MACOS,
    OPT_MSS,
    OPT_NONE,
    OPT_WINDOWS,
    TCP,
    PacketColumns,
)
from teiten.capture.writer import encode_records
from teiten.detect.finding import Finding
from teiten.detect.fingerprints import fingerprint_test, load_fingerprints
from teiten.detect.payloads import HEADERS
from teiten.detect.signatures import Rule, load_rules, match_batch
from teiten.engine.observation import Observation
from teiten.keys import key_codes
from teiten.payload_text import escaped
from teiten.periods import Period

__all__ = ["COLUMNS", "ID", "SAMPLE", "daily_evidence", "evidence_count", "evidence_filter", "evidence_rows",
           "finding_ids", "mask_source", "packet_columns", "pcap_bytes", "redacted", "refine", "sample_rows"]

#: A finding id: 16 lowercase hex digits.
ID = re.compile(r"[0-9a-f]{16}")
#: Sample packets shown with a finding.
SAMPLE = 20
#: The stored columns read for a packet (the pcap, the samples, the refinements).
COLUMNS = ["ts_us", "ip_version", "src4", "dst4", "src6", "dst6", "proto", "sport", "dport", "tcp_flags", "seq",
           "ack", "window", "ip_id", "ip_flags", "ttl", "icmp_type", "icmp_code", "icmp_id", "icmp_seq", "tcp_opts",
           "mss", "payload_len", "payload", "region", "sensor", "key"]
_MARGIN = timedelta(seconds=1)
_ICMP_ERRORS = [3, 4, 5, 11, 12]


# -- ids and privacy -------------------------------------------------------------------------

def mask_source(text: str) -> str:
    """An address as its /24 (IPv4) or /48 (IPv6) network: ``198.51.100.0/24``."""
    try:
        a = ipaddress.ip_address(text)
    except ValueError:
        return text
    return str(ipaddress.ip_network(f"{a}/{24 if a.version == 4 else 48}", strict=False))


def _addresses(f: dict[str, Any]) -> set[str]:
    """The whole addresses a finding's JSON names (its source, victim, top sources, a
    concentration's source, the scans' sources)."""
    found: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                if k in ("source", "victim") and isinstance(v, str):
                    found.add(v)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(f)
    if f.get("by") == "source" and isinstance(f.get("value"), str):
        found.add(f["value"])
    out = set()
    for a in found:
        try:
            ipaddress.ip_address(a)
        except ValueError:
            continue
        out.add(a)
    return out


def redacted(doc: Any, addresses: set[str]) -> Any:
    """``doc`` (JSON) with every occurrence of ``addresses`` in its strings cut to the
    address's /24 or /48 (titles name the scanner and the victim too)."""
    if not addresses:
        return doc
    pattern = re.compile("|".join(rf"(?<![0-9A-Fa-f.:]){re.escape(a)}(?![0-9A-Fa-f.:/])"
                                  for a in sorted(addresses, key=len, reverse=True)))

    def cut(x: Any) -> Any:
        if isinstance(x, str):
            return pattern.sub(lambda m: mask_source(m.group(0)), x)
        if isinstance(x, dict):
            return {k: cut(v) for k, v in x.items()}
        if isinstance(x, list):
            return [cut(v) for v in x]
        return x

    return cut(doc)


def _canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def finding_ids(findings: list[Finding]) -> list[str]:
    """Each finding's id (module docstring); findings alike once their sources are cut
    (rare: two scanners of one /24 with the same numbers) are told apart by their order."""
    seen: dict[str, int] = {}
    out = []
    for f in findings:
        d = f.to_json()
        text = _canonical(redacted(d, _addresses(d)))
        n = seen.get(text, 0)
        seen[text] = n + 1
        out.append(hashlib.sha256((text if n == 0 else f"{text}#{n}").encode()).hexdigest()[:16])
    return out


def shown(f: Finding, full: bool) -> dict[str, Any]:
    """A finding's JSON as a reader sees it: whole, or with its sources cut (not ``full``)."""
    d = f.to_json()
    return d if full else dict(redacted(d, _addresses(d)))


# -- which packets ---------------------------------------------------------------------------

def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _between(t: ir.Table, a: datetime, b: datetime) -> ir.BooleanValue:
    return (t.ts >= ibis.literal(a - _MARGIN)) & (t.ts <= ibis.literal(b + _MARGIN))


def _source(t: ir.Table, text: str) -> ir.BooleanValue:
    a = ipaddress.ip_address(text)
    if a.version == 4:
        return t.src4 == int(a)
    return t.src6 == ibis.literal(a.packed, "binary")


def _subject(t: ir.Table, key: str, dimension: str | None) -> ir.BooleanValue:
    """The packets of a port key, a region or a ``key@region`` pair."""
    if dimension == "pair" or (dimension is None and "@" in key):
        k, _, region = key.partition("@")
        return (t.kc == key_codes([k])[0]) & (t.region == region)
    if dimension in ("regions", "region"):
        return t.region == key
    return t.kc == key_codes([key])[0]


@cache
def _rules() -> dict[int, Rule]:
    return {r.sid: r for r in load_rules(None)}


def _rule(f: Finding) -> Rule | None:
    return _rules().get(int(f.sid)) if f.sid is not None else None


def evidence_filter(obs: Observation, period: Period, finding: Finding, group: str | None = None) -> ir.Table:
    """The stored packets behind ``finding`` (per kind: the module docstring); for
    ``dos_victim`` and payload signatures the candidates that :func:`refine` narrows."""
    t = obs.in_period(period, group)
    f = finding
    kind = f.kind
    fps = {fp.name: fp for fp in load_fingerprints().fingerprints}
    if kind in fps:
        return t.filter(t.mirai if kind == "mirai" and "mirai" in t.columns else fingerprint_test(t, fps[kind]))
    if kind == "dos_victim" and f.victim:
        a, b = _time(f.start), _time(f.end)
        t = t.filter(t.backscatter)
        if a is not None and b is not None:
            t = t.filter(_between(t, a, b))
        own = _source(t, f.victim)
        if ipaddress.ip_address(f.victim).version == 4:
            return t.filter(own | ((t.proto == ICMP) & t.icmp_type.isin(_ICMP_ERRORS)))
        return t.filter(own)
    if kind == "scan" and f.source:
        t = t.filter(_source(t, f.source) & ~t.backscatter)
        detail = f.evidence.get("detail") or []
        if detail and len(detail) >= int(f.evidence.get("scans", len(detail))):
            spans = [(s["key"], _time(s["start"]), _time(s["end"])) for s in detail]
            return t.filter(ibis.or_(*[(t.kc == key_codes([k])[0]) & _between(t, a, b)
                                       for k, a, b in spans if a is not None and b is not None]))
        return t.filter(t.kc.isin(key_codes(list(f.evidence.get("keys") or f.key.split(",")))))
    if kind in ("surge", "drop", "new_key", "rank_jump", "diurnal"):
        if kind in ("surge", "drop") and f.start and f.end:
            days = Period("range", date.fromisoformat(f.start[:10]), date.fromisoformat(f.end[:10]), period.tz)
            t = obs.in_period(days, group)
        return t.filter(_subject(t, f.key, f.dimension))
    if kind == "payload_tool" and f.tool is not None:
        text = t.payload.cast("string")
        t = t.filter((t.kc == key_codes([f.key])[0]) & t.payload.notnull() & (t.payload_len > 0))
        t = t.filter(text.re_search(r"(?i)(?:" + "|".join(HEADERS) + r")[ \t]*:"))
        return t.filter(t.payload.cast("string").contains(f.tool))
    if kind == "concentration":
        t = t.filter(t.kc == key_codes([f.key])[0])
        if f.by == "source":
            return t.filter(_source(t, str(f.value)))
        if f.by == "source_port":
            return t.filter(t.sport == int(f.value))
        return t.filter(t.country.cast("string") == str(f.value))
    if kind == "signature":
        from teiten.detect.signatures.expressions import header_expr

        r = _rule(f)
        return t.filter(header_expr(r, t, exact=True)) if r is not None else t.filter(ibis.literal(False))
    return t.filter(ibis.literal(False))


def _refined(f: Finding) -> bool:
    if f.kind == "dos_victim":
        return True
    r = _rule(f) if f.kind == "signature" else None
    return r is not None and r.payload


def refine(f: Finding, batch: pa.Table) -> pa.Table:
    """The rows of ``batch`` (candidates of :func:`evidence_filter`) that are ``f``'s
    evidence: a DoS victim's by the victim of each packet, a signature's by the matcher."""
    if batch.num_rows == 0 or not _refined(f):
        return batch
    if f.kind == "dos_victim" and f.victim:
        from teiten.detect.backscatter import victim_addresses

        key, v6, _ = victim_addresses(batch)
        a = ipaddress.ip_address(f.victim)
        if a.version == 4:
            keep = key == int(a)
        else:
            want = [-1 - i for i, b in enumerate(v6) if b == a.packed]
            keep = np.isin(key, want)
        return batch.filter(pa.array(keep))
    r = _rule(f)
    if r is None:
        return batch.slice(0, 0)
    rows = [m for _, m in match_batch([r], pa.RecordBatch.from_pydict(
        {c: batch.column(c) for c in batch.column_names}))]
    idx = np.unique(np.concatenate(rows)) if rows else np.zeros(0, np.int64)
    return batch.take(pa.array(idx, pa.int64()))


def _columns(t: ir.Table) -> ir.Table:
    have = [c for c in COLUMNS if c in t.columns]
    return t.select(*have, sensor_name=t.sensor.cast("string")).drop("sensor").rename(sensor="sensor_name") \
        if "sensor" in have else t.select(*have)


def evidence_rows(obs: Observation, period: Period, f: Finding, group: str | None, limit: int) -> pa.Table:
    """The first ``limit`` evidence packets in time order, their stored columns."""
    t = _columns(evidence_filter(obs, period, f, group)).order_by("ts_us")
    if not _refined(f):
        return t.limit(limit).to_pyarrow()
    parts, n = [], 0
    for b in obs.batches(t, 1 << 16):
        got = refine(f, pa.Table.from_batches([b]))
        parts.append(got)
        n += got.num_rows
        if n >= limit:
            break
    if not parts:
        return t.limit(0).to_pyarrow()
    return pa.concat_tables(parts).slice(0, limit)


def evidence_count(obs: Observation, period: Period, f: Finding, group: str | None) -> int:
    """How many packets are ``f``'s evidence."""
    return sum(int(r["packets"]) for r in daily_evidence(obs, period, f, group))


def daily_evidence(obs: Observation, period: Period, f: Finding, group: str | None) -> list[dict[str, Any]]:
    """The evidence packets per local day of the period (days without any left out)."""
    from teiten.engine.local_time import day_of, local_day

    t = evidence_filter(obs, period, f, group)
    if not _refined(f):
        t = t.mutate(day=local_day(t, period))
        agg = t.group_by("day").aggregate(packets=t.count()).order_by("day").to_pyarrow().to_pylist()
        return [{"day": day_of(r["day"]).isoformat(), "packets": int(r["packets"])} for r in agg]
    counts: dict[int, int] = {}
    t = t.mutate(day=local_day(t, period))
    cols = [c for c in COLUMNS if c in t.columns and c != "sensor"]
    for b in obs.batches(t.select(*cols, "day"), 1 << 16):
        got = refine(f, pa.Table.from_batches([b]))
        if got.num_rows:
            days, n = np.unique(got.column("day").to_numpy(), return_counts=True)
            for d, c in zip(days.tolist(), n.tolist(), strict=True):
                counts[int(d)] = counts.get(int(d), 0) + int(c)
    return [{"day": day_of(d).isoformat(), "packets": counts[d]} for d in sorted(counts)]


# -- samples and pcap ----------------------------------------------------------------------------

def _text4(v: int | None) -> str | None:
    return None if v is None else str(ipaddress.IPv4Address(v))


def sample_rows(rows: pa.Table, full: bool) -> list[dict[str, Any]]:
    """The packets of ``rows`` as shown: time, addresses (the source cut unless ``full``),
    ports, flags, TTL, the payload as hex and as escaped text (:func:`teiten.payload_text.escaped`)."""
    out = []
    for r in rows.to_pylist():
        src = _text4(r["src4"]) if r["ip_version"] == 4 else str(ipaddress.IPv6Address(r["src6"] or bytes(16)))
        dst = _text4(r["dst4"]) if r["ip_version"] == 4 else str(ipaddress.IPv6Address(r["dst6"] or bytes(16)))
        pay: bytes = r.get("payload") or b""
        out.append({"time": datetime.fromtimestamp(r["ts_us"] / 1e6, UTC).isoformat().replace("+00:00", "Z"),
                    "sensor": r.get("sensor"), "key": r.get("key"), "source": src if full else mask_source(src or ""),
                    "destination": dst, "proto": r["proto"], "sport": r["sport"], "dport": r["dport"],
                    "tcp_flags": r["tcp_flags"], "icmp_type": r["icmp_type"], "icmp_code": r["icmp_code"],
                    "ttl": r["ttl"], "region": r.get("region"), "payload_len": r["payload_len"],
                    "payload_hex": pay.hex(), "payload_text": escaped(pay)})
    return out


_OPTIONS = {"": OPT_NONE, "M": OPT_MSS, "M,S,T,N,W": OPT_LINUX, "M,N,W,N,N,S": OPT_WINDOWS,
            "M,N,W,N,N,T,S,E": OPT_MACOS, "M,N,W,N,N,T,S,E,E": OPT_MACOS}


def _ints(t: pa.Table, name: str, dtype: str, fill: int = 0) -> npt.NDArray[Any]:
    col = t.column(name) if name in t.column_names else pa.nulls(t.num_rows, pa.int64())
    return np.asarray(col.fill_null(fill).to_numpy(zero_copy_only=False)).astype(dtype)


def _fixed16(col: pa.ChunkedArray) -> npt.NDArray[np.uint8]:
    """A column of 16-byte addresses (nulls as zeros) as an ``(n, 16)`` matrix."""
    a = col.combine_chunks()
    if not pa.types.is_fixed_size_binary(a.type):
        a = a.cast(pa.binary())
    n = len(a)
    if n == 0:
        return np.zeros((0, 16), np.uint8)
    a = pc.fill_null(a, pa.scalar(bytes(16), a.type))
    if pa.types.is_fixed_size_binary(a.type):
        buf = np.frombuffer(a.buffers()[1], np.uint8)[a.offset * 16:(a.offset + n) * 16]
        return buf.reshape(n, 16).copy()
    offsets = np.frombuffer(a.buffers()[1], np.int32)[a.offset:a.offset + n + 1]
    data = np.frombuffer(a.buffers()[2], np.uint8)
    if not np.all(np.diff(offsets) == 16):
        return np.zeros((n, 16), np.uint8)
    return data[offsets[0]:offsets[-1]].reshape(n, 16).copy()


def packet_columns(t: pa.Table) -> PacketColumns:
    """Stored packet rows rebuilt as :class:`PacketColumns` for teiten's pcap writer: the
    headers from the stored fields (TCP options from their layout, window scale and
    timestamps zero), the stored payload bytes (at most 512) as the payload; an ICMP error's
    quoted IPv4 header and first 8 bytes are read back from its stored payload. Vectorised:
    nothing runs per packet."""
    n = t.num_rows
    proto = _ints(t, "proto", "u1")
    version = _ints(t, "ip_version", "u1", 4)
    itype = _ints(t, "icmp_type", "u1")
    pay = t.column("payload").combine_chunks() if n else pa.array([], pa.binary())
    pay = pc.fill_null(pay.cast(pa.binary()), b"")
    quotes = (version == 4) & (proto == ICMP) & ((itype == 3) | (itype == 11))
    inner: dict[str, npt.NDArray[Any]] = {k: np.zeros(n, d) for k, d in (
        ("inner_proto", "u1"), ("inner_src", "u4"), ("inner_dst", "u4"), ("inner_sport", "u2"),
        ("inner_dport", "u2"), ("inner_seq", "u4"))}
    lengths = np.asarray(pc.binary_length(pay).to_numpy(zero_copy_only=False)).astype(np.int64)
    if quotes.any():
        offsets = np.frombuffer(pay.buffers()[1], np.int32)[pay.offset:pay.offset + n + 1].astype(np.int64)
        data = np.frombuffer(pay.buffers()[2], np.uint8) if pay.buffers()[2] is not None else np.zeros(0, np.uint8)
        rows = np.flatnonzero(quotes & (lengths >= 28))
        st = offsets[rows]

        def be(at: int, width: int) -> npt.NDArray[np.uint64]:
            v = np.zeros(len(rows), np.uint64)
            for k in range(width):
                v = (v << np.uint64(8)) | data[st + at + k].astype(np.uint64)
            return v

        inner["inner_proto"][rows] = data[st + 9]
        inner["inner_src"][rows], inner["inner_dst"][rows] = be(12, 4), be(16, 4)
        inner["inner_sport"][rows], inner["inner_dport"][rows] = be(20, 2), be(22, 2)
        inner["inner_seq"][rows] = be(24, 4)
        skip = np.where(quotes & (lengths >= 28), 28, 0).astype(np.int64)  # the quoted bytes, now headers
        starts, lengths = offsets[:-1] + skip, lengths - skip
        new_off = np.zeros(n + 1, np.int64)
        np.cumsum(lengths, out=new_off[1:])
        gather = np.repeat(starts - new_off[:-1], lengths) + np.arange(int(new_off[-1]))
        pay = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(new_off.astype(np.int32)),
                                                     pa.py_buffer(data[gather].copy())])
    enc = pc.dictionary_encode(pay)
    table = tuple(enc.dictionary.to_pylist())  # the distinct payloads
    ids = np.asarray(enc.indices.to_numpy(zero_copy_only=False)).astype(np.int32)
    ids[lengths == 0] = -1
    seq = _ints(t, "seq", "u8")
    icmp_rest = (_ints(t, "icmp_id", "u8") << 16) | _ints(t, "icmp_seq", "u8")
    seq = np.where(proto == TCP, seq, np.where(np.isin(proto, [ICMP, 58]), icmp_rest, 0)).astype("u4")
    opts_col = t.column("tcp_opts").fill_null("") if "tcp_opts" in t.column_names else pa.array([""] * n)
    opts = np.zeros(n, np.uint8)
    mss = _ints(t, "mss", "u2")
    for text, layout in _OPTIONS.items():
        opts[np.asarray(pc.equal(opts_col, text).to_numpy(zero_copy_only=False), bool)] = layout
    other = ~np.isin(np.asarray(opts_col.to_numpy(zero_copy_only=False)), list(_OPTIONS))
    opts[other & (mss > 0)] = OPT_MSS
    return PacketColumns.make(
        n, table, ts=_ints(t, "ts_us", "i8"), version=version, src=_ints(t, "src4", "u4"),
        dst=_ints(t, "dst4", "u4"), src6=_fixed16(t.column("src6")), dst6=_fixed16(t.column("dst6")), proto=proto,
        sport=_ints(t, "sport", "u2"), dport=_ints(t, "dport", "u2"), flags=_ints(t, "tcp_flags", "u1"), seq=seq,
        ack=_ints(t, "ack", "u4"), window=_ints(t, "window", "u2"), ip_id=_ints(t, "ip_id", "u2"),
        ttl=_ints(t, "ttl", "u1", 64), icmp_type=itype, icmp_code=_ints(t, "icmp_code", "u1"), tcp_opts=opts,
        mss=mss, payload_id=ids, ip_flags=_ints(t, "ip_flags", "u1"), **inner)


def pcap_bytes(rows: pa.Table) -> bytes:
    """``rows`` as a classic pcap file (Ethernet, microseconds), through teiten's writer."""
    import struct

    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    if rows.num_rows == 0:
        return head
    return head + encode_records(packet_columns(rows)).tobytes()
