"""Sensor health, as the collector sees it (``teiten sensors status``): per sensor, its last
manifest and how late it is, the gaps in ``seq``, what it captured and dropped over the
window (default 24 h), its clock against the collector's, and one state:

``silent``: nothing for six intervals (or never); ``late``: nothing for two; ``gap``: a
``seq`` skipped within the window (intervals lost); ``dropping``: the kernel or the
interface dropped packets within the window; ``skewed``: the sensor's clock was ahead of
the collector's receive time by more than a minute; else ``ok`` (``revoked`` for a sensor
whose token was revoked; ``coverage``, set by the caller from the store, for a sensor that
sees far fewer sources per address than its peers: teiten.analyze.coverage). The first
that holds, in that order, is the state; an interval's length is the longest of the
window's (the rotation: the first and last after a restart are shorter).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from teiten.ingest.collector import collector_folder
from teiten.ingest.collector_db import CollectorDB
from teiten.sensors.manifest import parse_manifest

__all__ = ["STATES", "SensorHealth", "sensor_health"]

STATES = ("ok", "late", "silent", "gap", "dropping", "skewed", "coverage", "revoked")
SKEW = timedelta(minutes=1)


def _t(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


@dataclass
class SensorHealth:
    sensor: str
    state: str
    last_seq: int | None = None
    last_interval_end: str | None = None
    last_received: str | None = None
    lag_s: float | None = None  # now - the end of the last interval
    interval_s: float | None = None
    intervals: int = 0  # manifests received within the window
    heartbeats: int = 0
    packets: int = 0
    dropped: int = 0
    gaps: list[dict[str, int]] = field(default_factory=list)  # {"seq": n, "missing": k}
    clock_ahead_s: float | None = None  # the largest (sensor's clock - collector's receive time)
    packets_per_interval: list[int] = field(default_factory=list)
    coverage: dict[str, Any] | None = None  # teiten.analyze.coverage's row of the last day, when judged

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _state(h: SensorHealth) -> str:
    if h.last_seq is None or h.lag_s is None or h.interval_s is None or h.lag_s > 6 * h.interval_s:
        return "silent"
    if h.lag_s > 2 * h.interval_s:
        return "late"
    if h.gaps:
        return "gap"
    if h.dropped:
        return "dropping"
    if h.clock_ahead_s is not None and h.clock_ahead_s > SKEW.total_seconds():
        return "skewed"
    return "ok"


def sensor_health(store: Path, *, now: datetime | None = None, window: timedelta = timedelta(hours=24)
                  ) -> list[SensorHealth]:
    """The health of every sensor registered with the store's collector."""
    now = now or datetime.now(UTC)
    db = CollectorDB(collector_folder(store) / "collector.sqlite")
    since = (now - window).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out = []
    for s in db.sensors():
        h = SensorHealth(s.name, "silent")
        last = db.last_manifest(s.name)
        if last is not None:
            m = parse_manifest(last)
            h.last_seq, h.last_interval_end, h.last_received = m.seq, m.interval_end, s.last_received
            h.lag_s = (now - m.end()).total_seconds()
            h.interval_s = m.seconds() or None
        for received, gap, body in db.manifests_since(s.name, since):
            m = parse_manifest(body)
            h.intervals += 1
            h.heartbeats += m.heartbeat
            h.packets += m.packets
            h.dropped += m.dropped["kernel"] + m.dropped["interface"]
            h.packets_per_interval.append(m.packets)
            h.interval_s = max(h.interval_s or 0.0, m.seconds()) or None  # the rotation: the longest interval
            if gap:
                h.gaps.append({"seq": m.seq, "missing": gap})
            if m.host_clock:
                ahead = (_t(m.host_clock) - _t(received)).total_seconds()
                h.clock_ahead_s = ahead if h.clock_ahead_s is None else max(h.clock_ahead_s, ahead)
        h.state = "revoked" if s.revoked else _state(h)
        out.append(h)
    return out
