"""A synthetic darknet with known ground truth: two quarters of daily captures per sensor site.

``generate(out_dir)`` writes ``captures/<site>/<YYYY-MM-DD>.pcap`` (some sites gzip, zstd
or pcapng), ``sensors.json`` (the sensor catalog) and ``truth.json`` (the planted
phenomena and the exact per-day counts by port key, site, source country and
fingerprint, all days in UTC).  Under ``"background"`` truth.json also records what all
the traffic, the background radiation's included, really does per quarter
(:func:`teiten.synth.truth.background_truth`): ``"scanners"``, every (source, port key)
with a scan by the definition of docs/detection.md, ``"single_source_keys"``, every port key of
at least 500 packets of which one source sent at least half, and ``"busy_sources"``,
the packets per day of every source on each port key and in its country where it sent
20 packets or more on some day (:func:`teiten.synth.truth.busy_sources`: the sources
whose start or stop is a real step in a daily series).  The same seed and scale give
the same bytes.
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import zstandard

from teiten.capture.frames import PacketColumns
from teiten.capture.writer import write_pcap, write_pcapng
from teiten.enrich.geo import load_geo
from teiten.synth import phenomena as ph
from teiten.synth.population import DAY_US, Traffic, background
from teiten.synth.sensors import SITES, Site, telescope
from teiten.synth.truth import (
    background_truth,
    busy_sources,
    count_by_day,
    fingerprints,
    iso,
    key_names,
    port_keys,
    source_countries,
)

__all__ = ["Scenario", "generate", "quarter_days"]


@dataclass
class Scenario:
    """What :func:`generate` wrote."""

    out_dir: Path
    captures: list[Path]
    truth_path: Path
    sensors_path: Path
    packets: int
    files: int
    start: date
    end: date  # last day, inclusive
    seed: int
    scale: float
    seconds: float
    labels: dict[str, int] = field(default_factory=dict)


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


def quarter_days(start: date) -> tuple[int, int]:
    """(days of the first quarter, days of both quarters) from ``start`` (a quarter's first day)."""
    return (_add_months(start, 3) - start).days, (_add_months(start, 6) - start).days


def _filename(site: Site, day: date) -> str:
    ext = ".pcapng" if site.fmt == "pcapng" else ".pcap"
    comp = site.compress
    if comp == "zst-sun":
        comp = "zst" if day.weekday() == 6 else ""
    return f"{day.isoformat()}{ext}{'.' + comp if comp else ''}"


def _write(path: Path, site: Site, cols: PacketColumns) -> None:
    plain = path.with_suffix("") if path.suffix in (".gz", ".zst") else path
    (write_pcapng if site.fmt == "pcapng" else write_pcap)(plain, cols)
    if plain != path:
        data = plain.read_bytes()
        if path.suffix == ".gz":
            path.write_bytes(gzip.compress(data, compresslevel=1, mtime=0))
        else:
            path.write_bytes(zstandard.ZstdCompressor(level=3).compress(data))
        plain.unlink()


def _traffic(start: date, seed: int, scale: float) -> tuple[list[Traffic], dict[str, Any]]:
    geo = load_geo()
    tel = telescope()
    q1, ndays = quarter_days(start)
    t0 = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()) * 1_000_000
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(9)]
    parts = [
        ph.mirai(geo, tel, ndays, t0, scale, rngs[1]),
        ph.oracle_surge(geo, tel, ndays, t0, scale, rngs[2], first_day=q1 // 2, late_day=q1 // 2 + 7),
        ph.backscatter(geo, tel, t0, scale, rngs[3], day=q1 + 7),
        ph.diurnal(geo, tel, ndays, t0, scale, rngs[4]),
        ph.icmp_sweeper(geo, tel, ndays, t0, scale, rngs[5]),
        ph.sip_scans(geo, tel, ndays, t0, scale, rngs[6]),
        ph.tool_scans(geo, tel, ndays, t0, scale, rngs[7], "zmap"),
        ph.tool_scans(geo, tel, ndays, t0, scale, rngs[8], "masscan"),
    ]
    traffic = [background(geo, tel, ndays, t0, scale, rngs[0], start.weekday())] + [p[0] for p in parts]
    truth = {p[0].label: p[1] for p in parts}
    for t in truth.values():
        t["window_utc"] = [iso(t["window"][0]), iso(t["window"][1])]
        for a in t.get("attacks", []):
            a["start_utc"], a["end_utc"] = iso(a["start"]), iso(a["end"])
    return traffic, truth


def _counts(cols: PacketColumns, site: npt.NDArray[np.int16], label: npt.NDArray[np.int64], labels: list[str],
            day: npt.NDArray[np.int64], start: date) -> dict[str, Any]:
    geo = load_geo()
    keys = port_keys(cols)
    ukeys, kidx = np.unique(keys, return_inverse=True)
    cidx, cnames = source_countries(geo, cols)
    fps = fingerprints(cols)
    by_fp: dict[str, dict[str, int]] = {}
    for name, mask in fps.items():
        for d, v in count_by_day(day[mask], np.zeros(int(mask.sum()), np.int64), [name], start).items():
            by_fp.setdefault(d, {}).update(v)
    return {
        "by_day_key": count_by_day(day, kidx.reshape(-1).astype(np.int64), key_names(ukeys), start),
        "by_day_site": count_by_day(day, site.astype(np.int64), [s.name for s in SITES], start),
        "by_day_country": count_by_day(day, cidx, cnames, start),
        "by_day_phenomenon": count_by_day(day, label, labels, start),
        "by_day_fingerprint": by_fp,
        "fingerprints": {k: int(v.sum()) for k, v in fps.items()},
        "by_version": {"4": int((cols.version == 4).sum()), "6": int((cols.version == 6).sum())},
    }


def _quarter_name(d: date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def _background(cols: PacketColumns, label: npt.NDArray[np.int64], labels: list[str], start: date
                ) -> dict[str, Any]:
    """What the traffic really does per quarter, whichever generator sent it (module docstring)."""
    q1, ndays = quarter_days(start)
    t0 = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()) * 1_000_000
    quarters = [(_quarter_name(start), t0, t0 + q1 * DAY_US),
                (_quarter_name(_add_months(start, 3)), t0 + q1 * DAY_US, t0 + ndays * DAY_US)]
    tel = telescope()
    monitored = len(tel.addr4) + len(tel.addr6)  # an IPv6 sensor address counts as one
    country, countries = source_countries(load_geo(), cols)
    day = ((cols.ts - t0) // DAY_US).astype(np.int64)
    return {"monitored": monitored, **background_truth(cols, label, labels, quarters, monitored),
            "busy_sources": busy_sources(cols, day, country, countries, start)}


def generate(out_dir: Path, *, seed: int = 0, scale: float = 1.0, start: date = date(2026, 4, 1)) -> Scenario:
    """Write two quarters of captures from ``start`` (a quarter's first day) with ground truth."""
    t_begin = time.perf_counter()
    out_dir = Path(out_dir)
    traffic, truth = _traffic(start, seed, scale)
    labels = [t.label for t in traffic]
    cols = PacketColumns.concat([t.cols for t in traffic])
    site = np.concatenate([t.site for t in traffic])
    label = np.repeat(np.arange(len(traffic)), [len(t.cols) for t in traffic]).astype(np.int64)
    t0 = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()) * 1_000_000
    _, ndays = quarter_days(start)
    day = ((cols.ts - t0) // DAY_US).astype(np.int64)
    order = np.lexsort((cols.ts, day, site))
    cols, site, label, day = cols.take(order), site[order], label[order], day[order]
    bounds = np.searchsorted(site.astype(np.int64) * ndays + day, np.arange(len(SITES) * ndays + 1))
    captures: list[Path] = []
    files: dict[str, int] = {}
    for i, s in enumerate(SITES):
        (out_dir / "captures" / s.name).mkdir(parents=True, exist_ok=True)
        for d in range(ndays):
            a, b = int(bounds[i * ndays + d]), int(bounds[i * ndays + d + 1])
            path = out_dir / "captures" / s.name / _filename(s, date.fromordinal(start.toordinal() + d))
            _write(path, s, cols.take(slice(a, b)))
            captures.append(path)
            files[path.relative_to(out_dir).as_posix()] = b - a
    end = date.fromordinal(start.toordinal() + ndays - 1)
    label_counts = {name: int((label == i).sum()) for i, name in enumerate(labels)}
    doc = {"seed": seed, "scale": scale, "start": start.isoformat(), "end": end.isoformat(), "days": ndays,
           "timezone": "UTC", "totals": {"packets": len(cols), "files": len(captures)}, "labels": label_counts,
           "phenomena": truth, "files": files, **_counts(cols, site, label, labels, day, start),
           "background": _background(cols, label, labels, start)}
    truth_path, sensors_path = out_dir / "truth.json", out_dir / "sensors.json"
    truth_path.write_text(json.dumps(doc, indent=1, sort_keys=True))
    sensors_path.write_text(json.dumps({"sensors": [s.catalog() for s in SITES]}, indent=1))
    return Scenario(out_dir, captures, truth_path, sensors_path, len(cols), len(captures), start, end, seed, scale,
                    time.perf_counter() - t_begin, label_counts)
