"""The demo's sensors as their collector saw them: the signed, chained manifests of the
scenario's last days, one per sensor and 300-s interval, with the time each was received.

The counts of an interval (``packets``, ``first_ts``, ``last_ts``) are those of the
scenario's capture files, the ones the demo ingests; ``bytes`` is what the sensor's
classic pcap file of the interval would hold (a 24-byte header, then per packet 16 bytes
of record header, 14 of Ethernet and the IP packet), and ``sha256`` stands for that
file's digest (the SHA-256 of the interval's packet times and lengths: the demo writes no
interval files). Everything follows from the seed: each sensor's Ed25519 key, its clock
and the seconds its manifests took to arrive (2 to 8 after the interval's end).

Most sensors ship every interval. :data:`SILENT`'s host is down on the last day (its
last manifest ends a day before the scenario: ``silent``); :data:`GAPPED` loses
:data:`LOST` intervals of its last day (its spool over quota while the collector was
away: a gap in ``seq``, which the collector records).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from teiten import __version__
from teiten.capture.reader import CaptureReader
from teiten.sensors.manifest import Manifest
from teiten.sensors.spool import interval_name, iso

__all__ = ["DAYS", "GAPPED", "LOST", "ROTATE", "SILENT", "DemoSensor", "Shipped", "checked_at", "demo_sensors",
           "sensor_key"]

ROTATE = 300
DAYS = 2
SILENT = "th-1"
GAPPED = "id-1"
LOST = (120, 6)  # (first interval of the last day, how many): 10:00–10:30 UTC
FRAME = 16 + 14  # pcap record header + Ethernet header
US = 1_000_000


@dataclass(frozen=True)
class Shipped:
    """One manifest as the collector received it."""

    manifest: Manifest
    received: datetime

    @property
    def stem(self) -> str:
        """``NAME-YYYYmmddTHHMMSSZ``: the manifest's file name without ``.json``."""
        return interval_name(self.manifest.sensor, self.manifest.start().timestamp())


@dataclass(frozen=True)
class DemoSensor:
    """A sensor of the demo scenario: its catalog addresses, its signing key and what its
    collector received from it, oldest first."""

    name: str
    addresses: tuple[str, ...]
    key: Ed25519PrivateKey
    shipped: list[Shipped]


def sensor_key(seed: int, name: str) -> Ed25519PrivateKey:
    """The demo sensor's signing key, the same for the same seed."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"teiten demo {seed} {name}".encode()).digest())


def _end(scenario: Path) -> datetime:
    """When the scenario ends: midnight UTC after its last day."""
    last = date.fromisoformat(json.loads((scenario / "truth.json").read_text())["end"])
    return datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)


def checked_at(scenario: Path) -> datetime:
    """When the demo judges its sensors: a minute after the scenario's end, once its last
    intervals have arrived."""
    return _end(scenario) + timedelta(minutes=1)


def _packets(scenario: Path, site: str, first: date, days: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(time in µs, bytes in a pcap file) of a site's packets on ``days`` days from ``first``,
    by time."""
    ts: list[npt.NDArray[np.int64]] = []
    size: list[npt.NDArray[np.int64]] = []
    for d in range(days):
        for path in sorted((scenario / "captures" / site).glob(f"{date.fromordinal(first.toordinal() + d)}.*")):
            for batch in CaptureReader(path):
                ts.append(batch.packets.column("ts").cast("int64").to_numpy())
                size.append(batch.packets.column("caplen").to_numpy().astype(np.int64) + FRAME)
    if not ts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    t, s = np.concatenate(ts), np.concatenate(size)
    order = np.argsort(t, kind="stable")
    return t[order], s[order]


def _file(name: str, begin: int, ts: npt.NDArray[np.int64], size: npt.NDArray[np.int64]
          ) -> tuple[str | None, str | None, int, str | None, str | None]:
    """(first_ts, last_ts, bytes, file, sha256) of an interval's packets (none: a heartbeat)."""
    if not len(ts):
        return None, None, 0, None, None
    digest = hashlib.sha256(ts.tobytes() + size.tobytes()).hexdigest()
    return (iso(ts[0] / US), iso(ts[-1] / US), 24 + int(size.sum()), interval_name(name, begin) + ".pcap",
            digest)


def _intervals(name: str, start: datetime, count: int, ts: npt.NDArray[np.int64], size: npt.NDArray[np.int64],
               key: Ed25519PrivateKey, rng: np.random.Generator) -> list[Shipped]:
    """The chained, signed manifests of ``count`` intervals from ``start``, each received a few
    seconds after its end."""
    t0 = int(start.timestamp())
    bounds = np.searchsorted(ts, (t0 + ROTATE * np.arange(count + 1)) * US)
    boot = t0 - 3 * 86_400  # the host's uptime: its monotonic clock
    out: list[Shipped] = []
    prev: Manifest | None = None
    for i in range(count):
        a, b = int(bounds[i]), int(bounds[i + 1])
        begin, end = t0 + i * ROTATE, t0 + (i + 1) * ROTATE
        first, last, nbytes, file, sha = _file(name, begin, ts[a:b], size[a:b])
        closed = end + float(rng.uniform(0.001, 0.05))
        m = Manifest(name, i + 1, iso(begin), iso(end), first, last, b - a, nbytes, file=file, sha256=sha,
                     prev=prev.digest() if prev else None, agent_version=__version__, host_clock=iso(closed),
                     monotonic=round(closed - boot, 6)).signed(key)
        received = datetime.fromtimestamp(end, UTC) + timedelta(seconds=float(rng.uniform(2.0, 8.0)))
        out.append(Shipped(m, received))
        prev = m
    return out


def _lost(name: str, shipped: list[Shipped]) -> list[Shipped]:
    """What of a sensor's intervals reached the collector (module docstring)."""
    per_day = 86_400 // ROTATE
    if name == SILENT:
        return shipped[:-per_day]
    if name == GAPPED:
        first = len(shipped) - per_day + LOST[0]
        return shipped[:first] + shipped[first + LOST[1]:]
    return shipped


def demo_sensors(scenario: Path, *, seed: int, days: int = DAYS) -> list[DemoSensor]:
    """The sensors of a scenario folder (``sensors.json``) with what their collector received
    over its last ``days`` days."""
    end = _end(scenario)
    start = end - timedelta(days=days)
    out = []
    for i, s in enumerate(json.loads((scenario / "sensors.json").read_text())["sensors"]):
        name = s["name"]
        key = sensor_key(seed, name)
        ts, size = _packets(scenario, name, start.date(), days)
        rng = np.random.default_rng([seed, 7, i])
        shipped = _intervals(name, start, days * 86_400 // ROTATE, ts, size, key, rng)
        out.append(DemoSensor(name, tuple(s["addresses"]), key, _lost(name, shipped)))
    return out
