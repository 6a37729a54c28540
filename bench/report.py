"""Report benchmark: the npa report of a quarter of N packets against hand-written DuckDB SQL.

    .venv/bin/python bench/report.py [--packets 100000000] [--keep DIR]

Generates two quarters of background radiation to one /24 sensor (2026Q2 with half as many
packets as 2026Q3, which gets --packets), one capture per day, ingests them, then times
  * teiten, data: ``build_report`` of 2026Q3 in the npa style (rankings against Q2, daily
    series of the top 5 ports and regions with 7-day averages, five share breakdowns, all
    charts), and
  * teiten, whole report: the same plus HTML and the PDF (WeasyPrint),
  * hand-written SQL: DuckDB over ``read_parquet`` of the store, one query per table and
    series the report shows, written as an analyst would,
and prints the seconds and ratios.  The store is kept with --keep for reruns.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np

from teiten.capture.writer import BATCH, CaptureWriter
from teiten.engine import open_observation
from teiten.ingest.pipeline import ingest_paths
from teiten.keys import KEY_SQL
from teiten.periods import parse_period
from teiten.report import charts
from teiten.report.build import build_report, render_html
from teiten.store.catalog import Sensor, add_sensor
from teiten.store.open import open_store
from teiten.synth.radiation import radiation_batch

DAY_US = 86_400_000_000


def generate(folder: Path, q2: int, q3: int) -> list[Path]:
    """One pcap per day: ``q2`` packets over 2026Q2, ``q3`` over 2026Q3."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    files = []
    for quarter, total in (("2026Q2", q2), ("2026Q3", q3)):
        p = parse_period(quarter)
        per_day = total // p.days
        for i, day in enumerate(p.day_list()):
            path = folder / f"{day.isoformat()}.pcap"
            files.append(path)
            if path.exists():
                continue
            t0 = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000
            n = per_day + (total - per_day * p.days if i == p.days - 1 else 0)
            with CaptureWriter(path) as w:
                for s in range(0, n, BATCH):
                    m = min(BATCH, n - s)
                    w.write(radiation_batch(m, t0 + DAY_US * s // n, t0 + DAY_US * (s + m) // n, rng))
    return files


def _timed(fn, acc):  # type: ignore[no-untyped-def]
    def run(*a, **kw):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            acc[0] += time.perf_counter() - t
    return run


def hand_sql(store: Path) -> float:
    """The report's numbers with plain DuckDB SQL over the Parquet parts; seconds."""
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    src = f"read_parquet('{store}/packets/*/*.parquet', hive_partitioning = false)"
    db.execute(f"CREATE VIEW p AS SELECT *, {KEY_SQL} AS key, coalesce(country, '--') AS region FROM {src}")
    q3 = "ts >= TIMESTAMPTZ '2026-07-01 00:00:00+00' AND ts < TIMESTAMPTZ '2026-10-01 00:00:00+00'"
    q2 = "ts >= TIMESTAMPTZ '2026-04-01 00:00:00+00' AND ts < TIMESTAMPTZ '2026-07-01 00:00:00+00'"
    lead = "ts >= TIMESTAMPTZ '2026-06-25 00:00:00+00' AND ts < TIMESTAMPTZ '2026-10-01 00:00:00+00'"
    t = time.perf_counter()
    out = {}
    for dim in ("key", "region"):
        for name, where in (("now", q3), ("before", q2)):
            out[dim, name] = db.execute(f"SELECT {dim}, count(*) n FROM p WHERE {where} GROUP BY 1 ORDER BY 2 DESC"
                                        ).fetchall()
        top = [r[0] for r in out[dim, "now"][:5]]
        db.execute(f"""SELECT d, {dim}, n, avg(n) OVER (PARTITION BY {dim} ORDER BY d ROWS 6 PRECEDING)
                       FROM (SELECT CAST(ts AS DATE) d, {dim}, count(*) n FROM p WHERE {lead} AND {dim} IN ?
                             GROUP BY 1, 2)""", [top]).fetchall()
    db.execute(f"SELECT key, count(*) FROM p WHERE {q3} AND region = 'JP' GROUP BY 1").fetchall()
    for a, b in (("key", "region"), ("region", "key")):
        top = [r[0] for r in out[b, "now"][:5]]
        db.execute(f"SELECT {b}, {a}, count(*) FROM p WHERE {q3} AND {b} IN ? GROUP BY 1, 2", [top]).fetchall()
    db.execute(f"SELECT count(*) FROM p WHERE {q3}").fetchall()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=100_000_000, help="packets in the reported quarter")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="teiten-report-bench-"))
    store = work / "store"
    t = time.perf_counter()
    files = generate(work / "captures", args.packets // 2, args.packets)
    print(f"captures: {len(files)} files, {sum(f.stat().st_size for f in files) / 1e9:.1f} GB"
          f" ({time.perf_counter() - t:.0f} s)")
    if not (store / "manifest.sqlite").exists():
        with open_store(store, lock=False) as con:
            add_sensor(con, Sensor("bench", ("157.255.0.0/24",), "JP", "domestic"))
    t = time.perf_counter()
    n = sum(r.packets for r in ingest_paths(store, files))
    if n:
        print(f"ingest: {n:,} packets in {time.perf_counter() - t:.0f} s ({n / (time.perf_counter() - t):,.0f}/s)")
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; duckdb {duckdb.__version__}")
    period = parse_period("2026Q3")
    chart_time = [0.0]
    for name in charts.__all__:
        fn = getattr(charts, name)
        if callable(fn) and name.endswith(("chart", "shares", "compared", "daily")):
            setattr(charts, name, _timed(fn, chart_time))
    # warm: imports, fonts; the notable phenomena come from teiten detect (bench/detect.py), not timed here
    build_report(open_observation(store), parse_period("2026Q2"), style="npa", lang="ja", findings=[])
    chart_time.append(chart_time[0])  # charts of the warm-up run, not counted
    t = time.perf_counter()
    report = build_report(open_observation(store), period, style="npa", lang="ja", findings=[])
    t_data = time.perf_counter() - t
    t_charts = chart_time[0] - chart_time[1] if len(chart_time) > 1 else chart_time[0]
    from weasyprint import HTML

    t = time.perf_counter()
    HTML(string=render_html(report)).write_pdf(work / "report.pdf")
    t_pdf = time.perf_counter() - t
    t_sql = min(hand_sql(store) for _ in range(2))
    print(f"\n{'':42}{'seconds':>10}{'× hand SQL':>12}")
    print(f"{'hand-written SQL (numbers only)':42}{t_sql:>10.1f}{1:>12.2f}")
    print(f"{'teiten analyses (build_report - charts)':42}{t_data - t_charts:>10.1f}"
          f"{(t_data - t_charts) / t_sql:>12.2f}")
    print(f"{'teiten build_report (+ charts)':42}{t_data:>10.1f}{t_data / t_sql:>12.2f}")
    print(f"{'teiten whole report (+ HTML, PDF)':42}{t_data + t_pdf:>10.1f}{(t_data + t_pdf) / t_sql:>12.2f}")
    print(f"\nQ3 packets: {report.context['observation']['packets']:,}; report: {work / 'report.pdf'}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
