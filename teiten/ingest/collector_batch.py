"""The collector's batch ingester: the files in ``collector/incoming/`` (their manifests
accepted) go into the store, one :func:`ingest_batch` call per sensor for all its waiting
files (their packets attributed to the sensor; small files committed many at once), then to
``collector/done/``.

A crash mid-batch leaves some files ingested but still in ``incoming/`` (or moved to
``done/`` but not yet recorded so); the next batch ingests them again, and the store takes
each once (ingest is idempotent by content: ``duplicate``, nothing added).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from pathlib import Path

from teiten.errors import StoreError
from teiten.ingest.batch import ingest_batch
from teiten.ingest.collector_db import CollectorDB
from teiten.ingest.collector_metrics import CollectorMetrics
from teiten.ingest.pipeline import IngestResult

__all__ = ["BatchIngester", "ingest_incoming"]

log = logging.getLogger("teiten.collector")


def ingest_incoming(folder: Path, store: Path, db: CollectorDB) -> list[IngestResult]:
    """Ingest every file waiting in ``folder/incoming`` into ``store``; the results."""
    incoming, done = folder / "incoming", folder / "done"
    done.mkdir(exist_ok=True)
    by_sensor: dict[str, list[Path]] = defaultdict(list)
    for row in db.files_in("incoming"):
        # in done/ while still incoming here: a crash came between the move and its record
        # (ingested then, so the store answers duplicate); in neither: its move from
        # uploads/ is under way, the next batch takes it
        for path in (incoming / row.name, done / row.name):
            if path.exists():
                by_sensor[row.sensor].append(path)
                break
    out: list[IngestResult] = []
    for sensor, paths in sorted(by_sensor.items()):
        results = list(ingest_batch(store, paths, sensor=sensor))
        for r in results:
            path = Path(r.file)
            path.replace(done / path.name)
            if r.status == "error":
                log.error("sensor %s: %s is not ingested: %s", sensor, path.name, r.error)
        db.ingested([(Path(r.file).name, "error" if r.status == "error" else "done", r.status) for r in results])
        out += results
        log.info("sensor %s: %d file(s) ingested", sensor, len(paths))
    return out


class BatchIngester(threading.Thread):
    """Ingests what is waiting every ``every`` seconds, or sooner when woken (a manifest
    accepted), after a short pause that lets a burst of uploads join one batch."""

    def __init__(self, folder: Path, store: Path, db: CollectorDB, *, every: float = 30.0,
                 settle: float = 1.0, metrics: CollectorMetrics | None = None) -> None:
        super().__init__(name="teiten-collector-ingest", daemon=True)
        self.folder, self.store, self.db, self.every, self.settle = folder, store, db, every, settle
        self._wake, self._halt = threading.Event(), threading.Event()
        self.batches, self.metrics = 0, metrics

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    def run(self) -> None:
        while not self._halt.is_set():
            if self._wake.wait(self.every):
                self._halt.wait(self.settle)
            self._wake.clear()
            try:
                began = time.perf_counter()
                results = ingest_incoming(self.folder, self.store, self.db)
                if self.metrics is not None and results:
                    self.metrics.batch(time.perf_counter() - began, [r.status for r in results])
            except StoreError as e:  # another ingest holds the store: the next round takes them
                log.warning("ingest postponed: %s", e)
            except Exception:
                log.exception("ingest failed; the files stay in incoming/")
            self.batches += 1
