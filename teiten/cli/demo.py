"""``teiten demo``: generate a scenario, ingest it, check it against its truth, show the top tables,
and end with its sensors' health as their collector saw it (``teiten sensors status --at``)."""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from teiten.analyze.rankings import ranking
from teiten.cli.options import user_errors
from teiten.engine import open_observation
from teiten.errors import TeitenError
from teiten.ingest import collector_db
from teiten.ingest.pipeline import ingest_paths
from teiten.periods import parse_period
from teiten.report.console import output_console, print_ranking
from teiten.store.catalog import Sensor, add_sensor
from teiten.store.open import open_store
from teiten.synth.manifests import Shipped, checked_at, demo_sensors
from teiten.synth.scenario import generate

__all__ = ["COMMANDS", "DemoResult", "run_demo"]


@dataclass
class DemoResult:
    scenario: Path
    store: Path
    packets: int
    files: int
    seconds: float
    fingerprints: dict[str, tuple[int, int]]  # name -> (stored, truth)
    reports: list[Path]


def _scenario(out: Path, scale: float, seed: int, console: Console) -> Path:
    """The scenario folder, generated unless one of the same seed and scale is there."""
    folder = out / "scenario"
    truth = folder / "truth.json"
    if truth.exists():
        t = json.loads(truth.read_text())
        if t.get("seed") == seed and t.get("scale") == scale:
            console.print(f"using the scenario in {folder} (seed {seed}, scale {scale})")
            return folder
        shutil.rmtree(folder)
    with console.status("generating a synthetic darknet scenario…"):
        s = generate(folder, seed=seed, scale=scale)
    console.print(f"generated {s.packets:,} packets in {s.files} capture files ({s.start} – {s.end})"
                  f" in {s.seconds:.1f} s: {folder}")
    return folder


def _quarters(first: date, last: date) -> list[str]:
    """The quarters (``2026Q2``) that the days first..last touch."""
    out = []
    y, q = first.year, (first.month - 1) // 3 + 1
    while (y, q) <= (last.year, (last.month - 1) // 3 + 1):
        out.append(f"{y}Q{q}")
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


def _incidents(out: Path, console: Console) -> list[Path]:
    """Seed 004's incident data set imported into ``out/incidents.sqlite``, its 2017Q4
    statistics printed and its report written."""
    from teiten.incidents.db import open_db
    from teiten.incidents.jsonl import import_jsonl
    from teiten.incidents.stats import incident_stats
    from teiten.report.incident_report import write_incident_report
    from teiten.synth.incident_reports import seed004_reports, write_jsonl

    folder = out / "incidents"
    folder.mkdir(parents=True, exist_ok=True)
    db_path = out / "incidents.sqlite"
    for p in (db_path, db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
        p.unlink(missing_ok=True)
    data = write_jsonl(seed004_reports(), folder / "seed004.jsonl")
    db = open_db(f"sqlite:///{db_path}")
    t0 = time.perf_counter()
    try:
        with console.status("importing the incident reports of JPCERT/CC's 2017Q4 report…"):
            summary = import_jsonl(db, data, actor="demo")
        console.print(f"\nimported {summary.imported:,} incident reports ({summary.incidents:,} incidents,"
                      f" {summary.coordinations:,} coordinations) in {time.perf_counter() - t0:.0f} s into {db_path}")
        period = parse_period("2017Q4", "Asia/Tokyo")
        with db.session() as s:
            st = incident_stats(s, period)
    finally:
        db.close()
    for name in ("reports", "incidents", "coordinations"):
        r = st[name]
        console.print(f"  2017Q4 {name}: " + ", ".join(f"{m} {n:,}" for m, n in r["months"].items())
                      + f"; total {r['total']:,} (previous quarter {r['previous_total']:,})",
                      markup=False, highlight=False)
    paths = [write_incident_report(st, period, out / "reports" / f"2017Q4-incidents-{lang}{suffix}", lang)
             for lang, suffix in (("ja", ".pdf"), ("ja", ".html"), ("en", ".html"))]
    for p in paths:
        console.print(f"  {p}", markup=False, highlight=False)
    return paths


def _accept(db: collector_db.CollectorDB, sensor: collector_db.SensorRow, shipped: Shipped) -> int:
    """Take a manifest as the collector's upload API does (its signature, its chain) and
    record it at its receive time; the ``seq`` numbers skipped before it (a gap)."""
    from teiten.ingest.collector import accept_manifest
    from teiten.ingest.collector_http import Refused

    body = shipped.manifest.to_bytes()
    try:
        return accept_manifest(db, sensor, shipped.manifest, body, shipped.stem,
                               received=shipped.received.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    except Refused as e:
        raise TeitenError(f"demo manifest {shipped.stem}: {e.reason}") from None


def _collector(scenario: Path, store: Path, seed: int, console: Console) -> datetime:
    """The store's collector made as ``teiten collector init`` makes it, the scenario's sensors
    registered with it and their manifests of the last days accepted (teiten.synth.manifests);
    when to judge their health."""
    from teiten.ingest.collector import collector_folder
    from teiten.ingest.collector_pki import init_pki
    from teiten.sensors.credentials import public_hex

    t0 = time.perf_counter()
    folder = collector_folder(store)
    init_pki(folder)
    db = collector_db.CollectorDB(folder / "collector.sqlite")
    sensors = demo_sensors(scenario, seed=seed)
    accepted = gaps = 0
    for s in sensors:
        pub = public_hex(s.key.public_key())
        db.add_sensor(s.name, s.addresses, pub)  # the demo's sensors ship nothing: no token kept
        row = next(r for r in db.sensors() if r.name == s.name)
        for shipped in s.shipped:
            gaps += _accept(db, row, shipped)
            accepted += 1
    console.print(f"\nthe collector in {folder} accepted {accepted:,} signed manifests of {len(sensors)} sensors"
                  f" ({gaps} intervals lost) in {time.perf_counter() - t0:.1f} s", markup=False, highlight=False)
    return checked_at(scenario)


def _sensor_status(store: Path, at: datetime, console: Console) -> None:
    """``teiten sensors status --at AT``'s table, and the command (its exit status, 1 when a
    sensor is not ok, is the command's alone: the demo goes on)."""
    from teiten.cli.store import sensor_states, status_table

    when = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    console.print(f"\nthe sensors' health at the scenario's end ({when}), as their collector saw it:"
                  f"\n  teiten sensors status --store {store} --at {when}", markup=False, highlight=False,
                  soft_wrap=True)
    console.print(status_table(sensor_states(store, at=at)))


def run_demo(out: Path, *, scale: float = 1.0, seed: int = 0, console: Console | None = None,
             with_reports: bool = True, with_incidents: bool = True) -> DemoResult:
    console = console or output_console()
    folder = _scenario(out, scale, seed, console)
    truth = json.loads((folder / "truth.json").read_text())
    store = out / "store"
    shutil.rmtree(store, ignore_errors=True)
    with open_store(store, lock=False) as con:
        for s in json.loads((folder / "sensors.json").read_text())["sensors"]:
            add_sensor(con, Sensor(s["name"], tuple(s["addresses"]), s.get("country"), s.get("group"),
                                   s.get("kind", "passive")))
    files = sorted(p for p in (folder / "captures").rglob("*") if p.is_file())
    t0 = time.perf_counter()
    packets = 0
    progress = Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[packets]:,} packets"), TimeElapsedColumn(), console=console,
                        transient=True)
    with progress:
        task = progress.add_task("ingest", total=len(files), packets=0)
        for r in ingest_paths(store, files):
            if r.status not in ("ok", "duplicate"):
                raise TeitenError(f"demo capture {r.file} ingested as {r.status}: {r.error}")
            packets += r.packets
            progress.update(task, advance=1, packets=packets)
    seconds = time.perf_counter() - t0
    console.print(f"ingested {len(files)} files, {packets:,} packets in {seconds:.1f} s"
                  f" ({packets / seconds:,.0f} packets/s) into {store}")
    at = _collector(folder, store, seed, console)
    obs = open_observation(store)
    t = obs.packets
    counted = t.aggregate(**{name: t[name].cast("int64").sum() for name in truth["fingerprints"]})
    stored = {name: int(n or 0) for name, n in counted.to_pyarrow().to_pylist()[0].items()}
    fingerprints = {k: (stored[k], int(v)) for k, v in truth["fingerprints"].items()}
    ok = packets == truth["totals"]["packets"] and all(a == b for a, b in fingerprints.values())
    console.print(("[green]matches[/green]" if ok else "[red]DIFFERS FROM[/red]") + " the scenario's ground truth: "
                  f"{packets:,} packets (truth {truth['totals']['packets']:,}); "
                  + ", ".join(f"{k} {a:,}/{b:,}" for k, (a, b) in fingerprints.items()))
    first, last = date.fromisoformat(truth["start"]), date.fromisoformat(truth["end"])
    for label in _quarters(first, last):
        period = parse_period(label)
        for what in ("ports", "regions"):
            console.print()
            print_ranking(ranking(obs, what, period), limit=10, console=console)
    quarters = _quarters(first, last)
    reports: list[Path] = []
    if with_reports and len(quarters) > 1:
        from teiten.detect.finding import findings_document
        from teiten.detect.run import detect
        from teiten.report.build import write_report

        period = parse_period(quarters[1])
        with console.status(f"detecting what is notable in {quarters[1]}…"):
            findings = detect(obs, period)
        found = out / f"findings-{quarters[1]}.json"
        found.write_text(json.dumps(findings_document(period, findings), ensure_ascii=False, default=str, indent=1),
                         encoding="utf-8")
        kinds = Counter(f.kind for f in findings)
        console.print(f"\nfindings in {quarters[1]}: " + ", ".join(f"{k} {n}" for k, n in kinds.items())
                      + f" ({found})", markup=False, highlight=False)
        with console.status(f"writing the reports for {quarters[1]}…"):
            for style in ("tsubame", "npa"):
                for lang, suffixes in (("ja", (".html", ".pdf")), ("en", (".html",))):
                    for suffix in suffixes:
                        out_path = out / "reports" / f"{quarters[1]}-{style}-{lang}{suffix}"
                        reports.append(write_report(obs, out_path, period, style=style, lang=lang,
                                                    findings=findings)[0])
        console.print(f"\nreports for {quarters[1]}:")
        for path in reports:
            console.print(f"  {path}", markup=False, highlight=False)
    if with_incidents:
        reports += _incidents(out, console)
    console.print(f"\nexplore: teiten sql --store {store} \"SELECT key, count(*) FROM packets WHERE mirai"
                  " GROUP BY 1 ORDER BY 2 DESC\"", markup=False, highlight=False)
    _sensor_status(store, at, console)
    if not ok:
        raise TeitenError("the demo's counts differ from the scenario's ground truth")
    return DemoResult(folder, store, packets, len(files), seconds, fingerprints, reports)


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-out"), show_default=True,
              help="Folder for the captures and the store.")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Size of the scenario (1.0 ≈ millions"
              " of packets).")
@click.option("--seed", type=int, default=0, show_default=True)
@user_errors
def demo(out: Path, scale: float, seed: int) -> None:
    """Generate a synthetic darknet scenario, ingest it, print the top ports and regions, and end
    with its sensors' health (teiten sensors status --at the scenario's end)."""
    run_demo(out, scale=scale, seed=seed)


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [demo]
