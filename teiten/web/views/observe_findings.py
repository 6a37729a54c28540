"""The dashboard's findings, their evidence and the sensors' health (docs/dashboard-findings.md).

- ``GET /api/v1/findings`` (``.csv``; ``?kind=``): the period's findings of the detectors
  (:func:`teiten.detect.run.detect`, computed once per period, filters and store version),
  each with its ``id`` (:func:`teiten.web.observe_evidence.finding_ids`);
- ``GET /api/v1/findings/{id}``: one finding, its evidence packets per day and up to 20 of them;
- ``GET /api/v1/packets?finding={id}&limit=N``: the evidence packets as a pcap file
  (handlers and admins: it holds whole addresses);
- ``GET /api/v1/sensors``, ``/api/v1/sensors/{name}``: the collector's health table (when
  the store has a collector) and, from the store, each sensor's packets per day and the hours
  without a packet; from the collector's manifests the gaps, drops and silences.

Who may read: a signed-in session or a read token. Sources are whole for handlers and
admins; for viewers cut to /24 (IPv6 /48) unless ``web_viewer_sources`` is ``full``.
Every answer takes the filters of :mod:`teiten.web.observe_query` (a finding's id is looked
up among the findings of the same filters).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from teiten.detect.finding import Finding
from teiten.engine.observation import Observation
from teiten.errors import TeitenError
from teiten.incidents.models import User
from teiten.periods import Period
from teiten.settings import setting
from teiten.store.open import StoreVersion
from teiten.web.auth import can_edit, observer
from teiten.web.context import observing_of
from teiten.web.observe_evidence import (
    ID,
    SAMPLE,
    daily_evidence,
    evidence_rows,
    finding_ids,
    pcap_bytes,
    sample_rows,
    shown,
)
from teiten.web.observe_query import (
    ObserveQuery,
    csv_text,
    documented,
    envelope,
    narrowed,
    param,
    parse_query,
    resolve_query,
)
from teiten.web.observing import Observing
from teiten.web.outages import outages

__all__ = ["KIND_PARAM", "MAX_PACKETS", "check_finding_id", "full_sources", "observer", "one_finding",
           "period_findings", "router", "sensors_answer"]

router = APIRouter()

#: Most packets one pcap download holds.
MAX_PACKETS = 100_000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_KIND = re.compile(r"[a-z_]{1,32}")
#: The findings' kind filter as an OpenAPI parameter.
KIND_PARAM = param("finding_kind", "only findings of this kind (scan, mirai, backscatter, ...)", pattern=_KIND.pattern)
_PACKETS = (param("finding", "the finding id: 16 hexadecimal digits", required=True, pattern="[0-9a-f]{16}"),
            param("limit", f"most packets (default 10000, at most {MAX_PACKETS})", pattern="[0-9]{1,6}"))
_HOUR_US = 3_600_000_000


def full_sources(user: User) -> bool:
    """Whether ``user`` sees whole source addresses."""
    return can_edit(user) or (setting("web_viewer_sources") or "truncated") == "full"


def period_findings(o: Observing, q: ObserveQuery) -> tuple[Period, StoreVersion, list[tuple[str, Finding]]]:
    def compute(obs: Observation, version: StoreVersion) -> tuple[Period, StoreVersion, list[tuple[str, Finding]]]:
        from teiten.detect.run import detect

        n = o.prepared(obs, q)
        period = resolve_query(n, q)
        try:
            found = detect(n, period, q.group)
        except TeitenError as e:  # an unknown group
            raise HTTPException(400, str(e)) from None
        return period, version, list(zip(finding_ids(found), found, strict=True))

    got: tuple[Period, StoreVersion, list[tuple[str, Finding]]] = o.answer(("findings", q.key()), compute)
    return got


def _row(fid: str, f: Finding, full: bool) -> dict[str, Any]:
    d = shown(f, full)
    return {"id": fid, **d}


def _kind(request: Request) -> str | None:
    k = request.query_params.get("finding_kind")
    if k is None:
        return None
    if not _KIND.fullmatch(k):
        raise HTTPException(400, "finding_kind: a finding kind such as scan or mirai")
    return k


def _list(request: Request, q: ObserveQuery, user: User) -> tuple[Period, StoreVersion, list[dict[str, Any]]]:
    o = observing_of(request)
    period, version, found = period_findings(o, q)
    kind = _kind(request)
    full = full_sources(user)
    rows = [_row(fid, f, full) for fid, f in found if kind is None or f.kind == kind]
    return period, version, rows


@router.get("/api/v1/findings", openapi_extra=documented(KIND_PARAM))
def findings(request: Request, q: ObserveQuery = Depends(parse_query), user: User = Depends(observer)
             ) -> JSONResponse:
    period, version, rows = _list(request, q, user)
    return JSONResponse(envelope(q, period, version, rows, page="/observe/findings", units="findings"))


@router.get("/api/v1/findings.csv", openapi_extra=documented(KIND_PARAM))
def findings_csv(request: Request, q: ObserveQuery = Depends(parse_query), user: User = Depends(observer)
                 ) -> Response:
    _, _, rows = _list(request, q, user)
    cols = ["id", "kind", "key", "title_ja", "title_en", "start", "end", "score", "sources", "packets"]
    flat = [{**r, "packets": r["evidence"].get("packets", r["evidence"].get("alerts"))} for r in rows]
    return Response(csv_text(flat, cols), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="findings.csv"'})


def check_finding_id(fid: str) -> str:
    if len(fid) != 16 or not ID.fullmatch(fid):
        raise HTTPException(400, "a finding id is 16 hexadecimal digits")
    return fid


def one_finding(o: Observing, q: ObserveQuery, fid: str) -> tuple[Period, StoreVersion, Finding]:
    period, version, found = period_findings(o, q)
    for i, f in found:
        if i == fid:
            return period, version, f
    raise HTTPException(404, "no such finding in this period (give the filters of the list it came from)")


@router.get("/api/v1/findings/{fid}", openapi_extra=documented())
def finding(fid: str, request: Request, q: ObserveQuery = Depends(parse_query), user: User = Depends(observer)
            ) -> JSONResponse:
    check_finding_id(fid)
    o = observing_of(request)
    period, version, f = one_finding(o, q, fid)

    def compute(obs: Observation, _v: StoreVersion) -> tuple[list[dict[str, Any]], Any]:
        n = narrowed(obs, q)
        return daily_evidence(n, period, f, q.group), evidence_rows(n, period, f, q.group, SAMPLE)

    daily, sample = o.answer(("finding", fid, q.key()), compute)
    full = full_sources(user)
    data = {**_row(fid, f, full), "evidence_packets": sum(int(d["packets"]) for d in daily),
            "evidence_daily": daily, "samples": sample_rows(sample, full),
            "pcap": "/api/v1/packets?" + urlencode({**q.params(), "finding": fid})}
    return JSONResponse(envelope(q, period, version, data, page=f"/observe/findings/{fid}", units="packets"))


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", "10000")
    if not text.isdigit() or len(text) > 7:
        raise HTTPException(400, f"limit: a number of packets from 1 to {MAX_PACKETS}")
    n = int(text)
    if not 1 <= n <= MAX_PACKETS:
        raise HTTPException(400, f"limit: a number of packets from 1 to {MAX_PACKETS}")
    return n


@router.get("/api/v1/packets", openapi_extra=documented(*_PACKETS))
def packets(request: Request, q: ObserveQuery = Depends(parse_query), user: User = Depends(observer)) -> Response:
    if not can_edit(user):
        raise HTTPException(403, "the packets hold whole addresses: handlers and admins only")
    fid = check_finding_id(request.query_params.get("finding", ""))
    limit = _limit(request)
    o = observing_of(request)
    period, _, f = one_finding(o, q, fid)

    # not cached: up to 100,000 packets a request (the engine's lock still serialises them)
    with o.lock:  # one query at a time on the embedded engine
        obs, _ = o.observation()
        rows = evidence_rows(narrowed(obs, q), period, f, q.group, limit)
    return Response(pcap_bytes(rows), media_type="application/vnd.tcpdump.pcap",
                    headers={"Content-Disposition": f'attachment; filename="finding-{fid}.pcap"',
                             "X-Packets": str(rows.num_rows)})


# -- sensors -------------------------------------------------------------------------------

def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat().replace("+00:00", "Z")


def _store_sensors(obs: Observation, period: Period, group: str | None) -> dict[str, dict[str, Any]]:
    """Per sensor of the period: packets per local day and the hours with no packet."""
    from teiten.engine.local_time import day_of, local_day

    t = obs.in_period(period, group)
    t = t.mutate(name=t.sensor.cast("string").fill_null("-"), hour=t.ts_us // _HOUR_US, day=local_day(t, period))
    per = t.group_by(["name", "day", "hour"]).aggregate(packets=t.count()).to_pyarrow().to_pylist()
    names = {s.name for s in obs.sensors} | {r["name"] for r in per}
    first_h = int(period.start.timestamp()) * 1_000_000 // _HOUR_US
    last_h = min(int(period.end.timestamp()), int(datetime.now(UTC).timestamp())) * 1_000_000 // _HOUR_US
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(names):
        rows = [r for r in per if r["name"] == name]
        days: dict[str, int] = {}
        for r in rows:
            d = day_of(r["day"]).isoformat()
            days[d] = days.get(d, 0) + int(r["packets"])
        busy = sorted({int(r["hour"]) for r in rows})
        quiet: list[dict[str, Any]] = []
        prev = first_h - 1
        for h in [*busy, last_h]:
            if h - prev > 1:
                quiet.append({"kind": "no_packets", "start": _iso((prev + 1) * _HOUR_US), "end": _iso(h * _HOUR_US),
                              "hours": h - prev - 1})
            prev = h
        out[name] = {"sensor": name, "packets": sum(days.values()),
                     "daily": [{"day": d.isoformat(), "packets": days.get(d.isoformat(), 0)}
                               for d in period.day_list()],
                     "silent_hours": sum(x["hours"] for x in quiet), "timeline": quiet[:500]}
    return out


def _manifest_timeline(store: Any, name: str, since: datetime) -> list[dict[str, Any]]:
    """A sensor's gaps, drops and silences from the collector's manifests since ``since``."""
    from teiten.ingest.collector import collector_folder
    from teiten.ingest.collector_db import CollectorDB
    from teiten.sensors.manifest import parse_manifest

    db = CollectorDB(collector_folder(store) / "collector.sqlite")
    out: list[dict[str, Any]] = []
    prev_end: datetime | None = None
    for _received, gap, body in db.manifests_since(name, since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")):
        m = parse_manifest(body)
        if gap:
            out.append({"kind": "gap", "seq": m.seq, "missing": gap, "before": m.interval_start})
        dropped = m.dropped["kernel"] + m.dropped["interface"]
        if dropped:
            out.append({"kind": "drops", "start": m.interval_start, "end": m.interval_end, "dropped": dropped})
        if prev_end is not None and m.start() - prev_end > timedelta(seconds=max(m.seconds(), 1) * 2):
            out.append({"kind": "silence", "start": prev_end.isoformat().replace("+00:00", "Z"),
                        "end": m.interval_start})
        prev_end = m.end()
        if len(out) >= 500:
            break
    return out


def sensors_answer(request: Request, q: ObserveQuery) -> tuple[Period, StoreVersion, dict[str, Any]]:
    o = observing_of(request)

    def compute(obs: Observation, version: StoreVersion) -> tuple[Period, StoreVersion, dict[str, Any]]:
        n = o.prepared(obs, q)
        period = resolve_query(n, q)
        try:
            per = _store_sensors(n, period, q.group)
        except TeitenError as e:
            raise HTTPException(400, str(e)) from None
        health = _health(o, n)
        if health is not None:
            for h in health:
                per.setdefault(h["sensor"], {"sensor": h["sensor"], "packets": 0, "daily": [], "silent_hours": None,
                                             "timeline": []})
                per[h["sensor"]]["manifests"] = _manifest_timeline(o.store, h["sensor"], period.start)
        return period, version, {"health": health, "sensors": per, "gap_days": outages(obs, q, period).days()}

    got: tuple[Period, StoreVersion, dict[str, Any]] = o.answer(("sensors", q.key()), compute)
    return got


def _health(o: Observing, obs: Observation) -> list[dict[str, Any]] | None:
    """``teiten sensors status``'s table (coverage included), or None without a collector."""
    from teiten.ingest.collector import collector_folder

    if not (collector_folder(o.store) / "collector.sqlite").exists():
        return None
    from teiten.analyze.coverage import coverage
    from teiten.ingest.health import sensor_health
    from teiten.periods import period_between

    now = datetime.now(UTC)
    found = sensor_health(o.store, now=now)
    try:
        rows = coverage(obs, period_between((now - timedelta(hours=24)).date(), now.date()))
    except TeitenError:
        rows = []
    low = {r["sensor"]: r for r in rows}
    out = []
    for h in found:
        h.coverage = low.get(h.sensor)
        if h.state == "ok" and h.coverage is not None and h.coverage["low"]:
            h.state = "coverage"
        out.append(h.to_json())
    return out


@router.get("/api/v1/sensors", openapi_extra=documented())
def sensors(request: Request, q: ObserveQuery = Depends(parse_query), _user: User = Depends(observer)
            ) -> JSONResponse:
    period, version, data = sensors_answer(request, q)
    return JSONResponse(envelope(q, period, version, {"health": data["health"],
                                                      "sensors": list(data["sensors"].values())},
                                 page="/observe/sensors", units="packets"))


@router.get("/api/v1/sensors/{name}", openapi_extra=documented())
def sensor(name: str, request: Request, q: ObserveQuery = Depends(parse_query), _user: User = Depends(observer)
           ) -> JSONResponse:
    if len(name) > 64 or not _NAME.fullmatch(name) or ".." in name:
        raise HTTPException(400, "a sensor name: a letter or digit, then letters, digits, _ . - (64 at most)")
    period, version, data = sensors_answer(request, q)
    if name not in data["sensors"]:
        raise HTTPException(404, "no such sensor")
    health = next((h for h in data["health"] or [] if h["sensor"] == name), None)
    return JSONResponse(envelope(q, period, version, {**data["sensors"][name], "health": health},
                                 page=f"/observe/sensors/{name}", units="packets"))

