"""Detection benchmark: every detector over a quarter of N packets, and how much of a planted scenario it finds.

    .venv/bin/python bench/detect.py [--packets 100000000] [--seed 0] [--scale 1] [--keep DIR] [--accuracy-only]
                                     [--timing-only]

Builds, in DIR (a temporary folder unless --keep; each step is skipped when --keep finds it done):
  * DIR/scenario: ``teiten.synth.scenario.generate(seed, scale)``, two quarters (2026Q2, 2026Q3)
    of planted phenomena over background radiation, with truth.json;
  * DIR/filler: one capture per day of ``teiten.synth.filler`` traffic to the scenario's sensor
    addresses, so that 2026Q3 holds --packets packets in all and 2026Q2 about half as many
    (the change detectors' baseline).  The filler's daily volume is one straight line over
    both quarters (no step at 1 July for the change detectors to flag);
  * DIR/store: both ingested, with the scenario's sensor catalog.
With --accuracy-only there is no filler and the store is DIR/scenario-store.

Then it times ``teiten.detect.run.detect`` over 2026Q3 (seconds per detector, total, packets/s)
against a baseline in the same run, one plain DuckDB ``SELECT count(*), count(DISTINCT src4)``
over the quarter's packets, and prints the peak RSS of this process (the build runs in a
child process, so this is the peak of the two detect runs and the baseline).  Finally it scores
the findings of 2026Q2 and 2026Q3 with ``teiten.synth.accuracy.score`` against truth.json.
``--timing-only`` times 2026Q3 alone in a cold process and skips the scoring.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

QUARTERS = ("2026Q2", "2026Q3")
START = date(2026, 4, 1)


# ---------------------------------------------------------------- build (in a child process)


def _scenario(work: Path, seed: int, scale: float) -> dict[str, Any]:
    from teiten.synth.scenario import generate

    truth_path = work / "scenario" / "truth.json"
    if truth_path.exists():
        truth = json.loads(truth_path.read_text())
        if (truth["seed"], truth["scale"]) != (seed, scale):
            sys.exit(f"{work} holds the scenario of seed {truth['seed']} scale {truth['scale']}: use another --keep")
        if "background" not in truth:
            print(f"{truth_path} predates truth['background']: scan and concentration precision are judged by"
                  " the older, looser rules (teiten.synth.accuracy); regenerate the scenario for the exact ones",
                  flush=True)
        elif "busy_sources" not in truth["background"]:
            print(f"{truth_path} predates truth['background']['busy_sources']: no surge, drop or rank jump counts"
                  " as a background source's step (teiten.synth.accuracy); regenerate the scenario", flush=True)
        return truth
    t = time.perf_counter()
    s = generate(work / "scenario", seed=seed, scale=scale, start=START)
    print(f"scenario: {s.packets:,} packets, {s.files} files ({time.perf_counter() - t:.0f} s)", flush=True)
    return json.loads(truth_path.read_text())


def filler_counts(truth: dict[str, Any], packets: int) -> dict[date, int]:
    """Filler packets per day: a straight line a + b·day over both quarters such that the
    scenario plus the filler hold ``packets`` in 2026Q3 and half that in 2026Q2; where the line
    falls below 0 it is clamped, and that quarter scaled back to its total."""
    from teiten.periods import parse_period

    q2, q3 = (parse_period(q) for q in QUARTERS)
    days = q2.day_list() + q3.day_list()
    scen = {d: sum(v.values()) for d, v in truth["by_day_phenomenon"].items()}
    idx = np.arange(len(days), dtype=np.float64)
    parts = [idx < q2.days, idx >= q2.days]
    want = [packets // 2 - sum(scen.get(d.isoformat(), 0) for d in q2.day_list()),
            packets - sum(scen.get(d.isoformat(), 0) for d in q3.day_list())]
    if want[1] <= 0:
        return {d: 0 for d in days}
    a = np.array([[m.sum(), idx[m].sum()] for m in parts])
    alpha, beta = np.linalg.solve(a, np.array(want, dtype=np.float64))
    f = np.maximum(alpha + beta * idx, 0.0)
    n = np.zeros(len(days), dtype=np.int64)
    for m, w in zip(parts, want, strict=True):
        # where the line was clamped at 0, scale the quarter back to its total (a kink, no step)
        g = f[m] * (max(w, 0) / f[m].sum()) if f[m].sum() > 0 else np.full(int(m.sum()), max(w, 0) / m.sum())
        k = np.floor(g).astype(np.int64)
        k[: max(w, 0) - int(k.sum())] += 1  # the rounding remainder, a packet a day
        n[m] = k
    return {d: int(x) for d, x in zip(days, n.tolist(), strict=True)}


def _filler(work: Path, truth: dict[str, Any], packets: int, seed: int) -> list[Path]:
    from teiten.capture.writer import CaptureWriter
    from teiten.enrich.geo import load_geo
    from teiten.synth.filler import filler_day, source_pool
    from teiten.synth.sensors import telescope

    folder = work / "filler"
    folder.mkdir(parents=True, exist_ok=True)
    params = {"packets": packets, "seed": seed, "scale": truth["scale"]}
    pfile = folder / "params.json"
    if pfile.exists() and json.loads(pfile.read_text()) != params:
        sys.exit(f"{folder} was made with {pfile.read_text()}: use another --keep")
    pfile.write_text(json.dumps(params))
    counts = filler_counts(truth, packets)
    todo = [d for d, n in counts.items() if n and not (folder / f"{d.isoformat()}.pcap").exists()]
    if todo:
        t = time.perf_counter()
        size = int(np.clip(max(counts.values()) // 5, 2_000, 500_000))  # ~5 packets per source and day
        pool = source_pool(load_geo(), telescope(), size, np.random.default_rng([seed, 1]))
        for d in todo:
            t0 = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) * 1_000_000
            cols = filler_day(counts[d], t0, pool, np.random.default_rng([seed, 2, d.toordinal()]))
            tmp = folder / f"{d.isoformat()}.pcap.part"
            with CaptureWriter(tmp) as w:
                w.write(cols)
            tmp.rename(folder / f"{d.isoformat()}.pcap")
        n = sum(counts[d] for d in todo)
        print(f"filler: {n:,} packets from {size:,} sources in {len(todo)} files"
              f" ({time.perf_counter() - t:.0f} s)", flush=True)
    return [folder / f"{d.isoformat()}.pcap" for d, n in counts.items() if n]


def build(work: str, seed: int, scale: float, packets: int, accuracy_only: bool) -> str:
    """Scenario, filler and store in ``work`` (each skipped when done); returns the store path."""
    from teiten.ingest.pipeline import ingest_paths
    from teiten.store.catalog import Sensor, add_sensor
    from teiten.store.open import open_store

    w = Path(work)
    truth = _scenario(w, seed, scale)
    files = sorted((w / "scenario" / "captures").glob("*/*"))
    if not accuracy_only:
        files += _filler(w, truth, packets, seed)
    store = w / ("scenario-store" if accuracy_only else "store")
    done = store / "bench-ingested.json"
    if done.exists() and json.loads(done.read_text()) == len(files):
        return str(store)
    if not (store / "manifest.sqlite").exists():
        with open_store(store, lock=False) as con:
            for x in json.loads((w / "scenario" / "sensors.json").read_text())["sensors"]:
                add_sensor(con, Sensor(x["name"], tuple(x["addresses"]), x.get("country"), x.get("group")))
    t = time.perf_counter()
    results = list(ingest_paths(store, files))
    bad = [r for r in results if r.status not in ("ok", "duplicate")]
    if bad:
        sys.exit(f"ingest failed: {bad[0].file}: {bad[0].status} {bad[0].error}")
    n = sum(r.packets for r in results)
    sec = time.perf_counter() - t
    print(f"ingest: {n:,} packets, {len(files)} files in {sec:.0f} s ({n / max(sec, 1e-9):,.0f}/s)", flush=True)
    done.write_text(json.dumps(len(files)))
    return str(store)


# ---------------------------------------------------------------- measure


def baseline_sql(store: Path, quarter: str) -> tuple[float, int, int]:
    """(seconds, packets, distinct IPv4 sources) of one plain DuckDB query over the quarter."""
    from teiten.engine.duckdb import connect_sql
    from teiten.periods import parse_period

    p = parse_period(quarter)
    db = connect_sql(store)
    t = time.perf_counter()
    n, src = db.execute("SELECT count(*), count(DISTINCT src4) FROM packets_raw WHERE ts >= ? AND ts < ?",
                        [p.start, p.end]).fetchone() or (0, 0)
    sec = time.perf_counter() - t
    db.close()
    return sec, int(n), int(src)


def _mib(kb: int) -> float:
    return kb / 1024  # ru_maxrss is in KiB on Linux


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def print_accuracy(scores: dict[str, dict[str, dict[str, Any]]], shown: int = 5) -> None:
    qs = list(scores)
    print(f"\n{'kind':15}" + "".join(f"{q + ' planted':>16}{'found':>8}{'recall':>8}{'precis.':>8}" for q in qs))
    for kind in scores[qs[0]]:
        rows = [scores[q][kind] for q in qs]
        if not any(r["planted"] or r["found"] for r in rows):
            continue
        print(f"{kind:15}" + "".join(f"{r['planted']:>16,}{r['found']:>8,}{_fmt(r['recall']):>8}"
                                     f"{_fmt(r['precision']):>8}" for r in rows))
    print("(mirai, zmap, masscan, nmap, unicornscan count packets; recall — : nothing planted;"
          " precision — : nothing found or not judged)")
    for q in qs:
        false = [(k, x) for k, r in scores[q].items() for x in r["false"]]
        print(f"\nfalse findings {q}: {len(false)}")
        by_kind: dict[str, list[str]] = {}
        for k, x in false:
            by_kind.setdefault(k, []).append(x)
        for k, xs in by_kind.items():
            more = f" (+{len(xs) - shown} more)" if len(xs) > shown else ""
            print(f"  {k}: " + "; ".join(xs[:shown]) + more)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--packets", type=int, default=100_000_000, help="packets in 2026Q3 (scenario + filler)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0, help="scenario scale (1 ≈ 2 M packets a quarter; ≤ 3)")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    ap.add_argument("--accuracy-only", action="store_true", help="the scenario alone (no filler): a fast accuracy run")
    ap.add_argument("--timing-only", action="store_true",
                    help="time 2026Q3 alone, in a cold process (no 2026Q2 warm-up run, no scoring)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="teiten-detect-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as ex:
        store = Path(ex.submit(build, str(work), args.seed, args.scale, args.packets, args.accuracy_only).result())
    build_rss = _mib(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)

    from teiten.detect.finding import Finding
    from teiten.detect.run import DETECTORS, detect
    from teiten.engine import open_observation
    from teiten.periods import parse_period
    from teiten.synth.accuracy import score

    truth = json.loads((work / "scenario" / "truth.json").read_text())
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; duckdb {duckdb.__version__}")
    obs = open_observation(store)
    findings: dict[str, list[Finding]] = {}
    timings: dict[str, dict[str, float]] = {}

    def run(q: str) -> None:
        timings[q] = {}
        t = time.perf_counter()
        findings[q] = detect(obs, parse_period(q), timings=timings[q])
        timings[q]["total"] = time.perf_counter() - t

    if not args.timing_only:
        run(QUARTERS[0])  # also the warm-up (imports, rules) of the timed run
    sec, n, src = min((baseline_sql(store, QUARTERS[1]) for _ in range(2)), key=lambda r: r[0])
    run(QUARTERS[1])
    q3 = timings[QUARTERS[1]]
    print(f"\ndetect over {QUARTERS[1]}{'':20}{'seconds':>10}")
    for name in DETECTORS:
        print(f"  {name:32}{q3.get(name, 0.0):>10.2f}")
    print(f"  {'total':32}{q3['total']:>10.2f}")
    print(f"  {'baseline: count(*), count(DISTINCT src4)':32}{sec:>10.2f}   ({n:,} packets, {src:,} sources)")
    print(f"  detect / baseline: {q3['total'] / sec:.1f}×; {n / q3['total']:,.0f} packets/s")
    print(f"peak RSS of this process (the detect runs and the baseline): "
          f"{_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss):,.0f} MiB; of the build: {build_rss:,.0f} MiB")
    if not args.timing_only:
        print_accuracy({q: score(findings[q], truth, q) for q in QUARTERS})
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
