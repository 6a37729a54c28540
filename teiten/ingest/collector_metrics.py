"""The collector's Prometheus metrics (``GET /metrics``, prometheus-client's text format).

Served only when ``teiten collector serve --metrics`` is given, and then only to clients on
loopback (403 to any other): the API port faces the sensors' networks, and the metrics name
every sensor with its traffic and its silences, which an adversary avoiding the darknet
would like to read. Prometheus scrapes on the collector host (``https://127.0.0.1:PORT/metrics``
with the collector's ``ca.pem``), or a proxy there passes them on.

Per sensor: manifests accepted, files and bytes received, gaps (intervals missing), the
packets and drops its manifests report (counters since the collector started), the last
``seq`` accepted and the seconds since its last manifest (from ``collector.sqlite`` at each
scrape, so they hold across restarts). Collector-wide: refusals by status, files ingested by
outcome, the duration of ingest batches, and the backlog waiting in ``incoming/``.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector as _Source

from teiten.ingest.collector_db import CollectorDB
from teiten.ingest.collector_http import Scope, Send
from teiten.sensors.manifest import Manifest

__all__ = ["CollectorMetrics", "is_loopback"]

P = "teiten_collector_"

log = logging.getLogger("teiten.collector")


def is_loopback(scope: Scope) -> bool:
    """Whether the ASGI request comes from a loopback address."""
    client = scope.get("client")
    try:
        return client is not None and ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


class _FromDB(_Source):
    """The gauges read from ``collector.sqlite`` at scrape time."""

    def __init__(self, db: CollectorDB) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        seq = GaugeMetricFamily(P + "last_manifest_seq", "seq of the sensor's last manifest accepted",
                                labels=["sensor"])
        age = GaugeMetricFamily(P + "seconds_since_last_manifest",
                                "seconds since the sensor's last manifest was accepted", labels=["sensor"])
        now = time.time()
        for s in self.db.sensors():
            if s.last_seq is not None:
                seq.add_metric([s.name], s.last_seq)
            if s.last_received is not None:
                received = datetime.fromisoformat(s.last_received.replace("Z", "+00:00")).timestamp()
                age.add_metric([s.name], max(0.0, now - received))
        backlog = self.db.files_in("incoming")
        files = GaugeMetricFamily(P + "incoming_files", "files accepted and waiting to be ingested")
        files.add_metric([], len(backlog))
        size = GaugeMetricFamily(P + "incoming_bytes", "bytes of the files waiting to be ingested")
        size.add_metric([], sum(f.size for f in backlog))
        yield from (seq, age, files, size)


class CollectorMetrics:
    """The counters the collector and its batch ingester add to, and their exposition."""

    def __init__(self, db: CollectorDB, *, exposed: bool = False) -> None:
        self.exposed = exposed
        self.registry = r = CollectorRegistry(auto_describe=True)
        s = ["sensor"]
        self.manifests = Counter(P + "manifests_accepted", "manifests accepted", s, registry=r)
        self.files = Counter(P + "files_received", "capture files received whole", s, registry=r)
        self.bytes = Counter(P + "received_bytes", "bytes of capture files received whole", s, registry=r)
        self.gaps = Counter(P + "gap_intervals", "intervals missing before an accepted manifest (gaps in seq)",
                            s, registry=r)
        self.packets = Counter(P + "reported_packets", "packets the accepted manifests report", s, registry=r)
        self.drops = Counter(P + "reported_drops", "drops (kernel and interface) the accepted manifests report",
                             s, registry=r)
        self.refusals = Counter(P + "refusals", "requests refused, by status", ["status"], registry=r)
        self.ingested = Counter(P + "ingested_files", "files ingested into the store, by outcome"
                                " (ok, partial, duplicate, error)", ["status"], registry=r)
        self.batch_seconds = Histogram(P + "ingest_batch_seconds", "duration of an ingest batch", registry=r,
                                       buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
        r.register(_FromDB(db))

    def received(self, sensor: str, size: int) -> None:
        self.files.labels(sensor).inc()
        self.bytes.labels(sensor).inc(size)

    def accepted(self, m: Manifest, gap: int) -> None:
        self.manifests.labels(m.sensor).inc()
        self.gaps.labels(m.sensor).inc(gap)
        self.packets.labels(m.sensor).inc(m.packets)
        self.drops.labels(m.sensor).inc(sum(m.dropped.values()))

    def refused(self, status: int) -> None:
        self.refusals.labels(str(status)).inc()

    def batch(self, seconds: float, statuses: list[str]) -> None:
        self.batch_seconds.observe(seconds)
        for status in statuses:
            self.ingested.labels(status).inc()

    async def serve(self, scope: Scope, send: Send) -> None:
        """Answer ``/metrics``: the exposition to a loopback GET, else a refusal."""
        if scope["method"] not in ("GET", "HEAD"):
            status, body, ctype = 405, b'{"error": "GET /metrics"}', "application/json"
        elif not is_loopback(scope):
            status, body, ctype = 403, b'{"error": "metrics are served on loopback only"}', "application/json"
        else:
            status, body, ctype = 200, generate_latest(self.registry), CONTENT_TYPE_LATEST
        if status != 200:
            log.warning("refused %d %s %s /metrics", status, scope.get("client", ("?",))[0], scope["method"])
            self.refused(status)
        data = b"" if scope["method"] == "HEAD" else body
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", ctype.encode()), (b"cache-control", b"no-store"),
            (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})
