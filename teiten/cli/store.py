"""``teiten ingest``, ``teiten sql``, ``teiten sensors …`` and ``teiten geo …``: filling the store and
looking into it."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from teiten.cli.options import emit_rows, engine_options, format_options, store_option, user_errors

if TYPE_CHECKING:
    from rich.table import Table

    from teiten.engine.choice import EngineChoice
    from teiten.ingest.health import SensorHealth

__all__ = ["COMMANDS", "STATUS_COLUMNS", "sensor_states", "status_table"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@store_option
@click.option("--sensor", help="Attribute every packet to this sensor (default: by destination address"
              " from the sensor catalog).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input file, one per line.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@user_errors
def ingest(paths: tuple[Path, ...], store: Path, sensor: str | None, as_json: bool, quiet: bool) -> None:
    """Ingest capture files or folders (pcap/pcapng, optionally .gz/.zst).

    Folders are searched for *.pcap, *.pcapng, *.cap (and compressed) files.
    Each file ends as ok, partial (read up to damage, the rest quarantined),
    duplicate (same content already ingested: nothing added) or error (not a
    capture). The exit status is 1 when any file is error or partial, else 0.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from teiten.ingest.pipeline import expand_paths, ingest_paths
    from teiten.report.console import output_console

    files = expand_paths(list(paths))
    if not files:
        raise click.ClickException("no capture files found in " + ", ".join(map(str, paths)))
    console = output_console(stderr=True)
    failed = False
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[packets]:,} packets"), TimeElapsedColumn(),
                        console=console, disable=quiet or not console.is_terminal, transient=True)
    counts = {"packets": 0}
    with progress:
        task = progress.add_task("ingest", total=len(files), packets=0)

        def on_packets(n: int) -> None:
            counts["packets"] += n
            progress.update(task, packets=counts["packets"])

        for r in ingest_paths(store, files, sensor=sensor, on_packets=on_packets):
            progress.advance(task)
            failed |= r.status in ("error", "partial")
            if as_json:
                click.echo(json.dumps(r.to_json(), ensure_ascii=False))
            else:
                line = f"{r.status:9} {r.file}: {r.frames} frames, {r.packets} packets"
                if r.nonip:
                    line += f", {r.nonip} non-IP"
                if r.quarantined:
                    line += f", {r.quarantined} quarantined"
                if r.ts_inferred:
                    line += f", {r.ts_inferred} with inferred timestamps (simple packet blocks)"
                if r.error:
                    line += f" — {r.error}"
                for w in r.warnings:
                    line += f" ({w})"
                console.print(line, markup=False, highlight=False)
    sys.exit(1 if failed else 0)


@click.command()
@click.argument("query")
@store_option
@engine_options
@format_options
@user_errors
def sql(query: str, store: Path, engine: EngineChoice, fmt: str) -> None:
    """Run SQL over the store.

    Views: packets (stored columns plus src_ip, dst_ip as text, key such as
    445/TCP, day), packets_raw (stored columns only), files (the manifest),
    sensors (the catalog). Example: teiten sql "SELECT key, count(*) FROM packets
    GROUP BY 1 ORDER BY 2 DESC LIMIT 5". With --engine spark, Spark SQL over the same views.
    """
    answer = engine.sql(store, query)
    if answer is None:
        return
    columns, rows = answer
    for r in rows:
        for k, v in r.items():
            if isinstance(v, bytes | bytearray):
                r[k] = v.hex()
    emit_rows(rows, fmt, columns)


@click.group()
def sensors() -> None:
    """The sensor catalog: which addresses each sensor watches."""


@sensors.command("add")
@click.argument("name")
@click.argument("more", nargs=-1, metavar="[CIDR...]")
@click.option("--addresses", "-a", multiple=True, required=True, metavar="CIDR",
              help="Addresses or CIDRs watched: --addresses A B C, or repeated, or comma-separated.")
@click.option("--country", help="Where the sensor is (ISO alpha-2).")
@click.option("--group", "group", help="Group, e.g. domestic.")
@click.option("--kind", type=click.Choice(["passive", "responder"]), default="passive", show_default=True)
@click.option("--operator", help="Who runs it.")
@click.option("--active-from", metavar="YYYY-MM-DD")
@click.option("--active-to", metavar="YYYY-MM-DD")
@store_option
@user_errors
def sensors_add(name: str, more: tuple[str, ...], addresses: tuple[str, ...], country: str | None,
                group: str | None, kind: str, operator: str | None, active_from: str | None,
                active_to: str | None, store: Path) -> None:
    """Add (or replace) a sensor: teiten sensors add NAME --addresses CIDR... [--country JP]"""
    from teiten.store.catalog import Sensor, add_sensor
    from teiten.store.open import open_store

    addrs = tuple(a for item in (*addresses, *more) for a in item.split(",") if a.strip())
    with open_store(store, lock=False) as con:
        s = add_sensor(con, Sensor(name, addrs, country, group, kind, operator,
                                   active_from, active_to))
    click.echo(f"sensor {s.name}: {s.address_count} addresses ({', '.join(s.addresses)})")


@sensors.command("list")
@store_option
@format_options
@user_errors
def sensors_list(store: Path, fmt: str) -> None:
    """List the sensors."""
    from teiten.store.catalog import list_sensors
    from teiten.store.open import open_store

    with open_store(store, lock=False) as con:
        rows = [s.to_json() for s in list_sensors(con)]
    for r in rows:
        if fmt != "json":
            r["addresses"] = " ".join(r["addresses"])  # type: ignore[arg-type]
    emit_rows(rows, fmt, ["name", "addresses", "address_count", "country", "group", "kind", "operator",
                          "active_from", "active_to"])


STATUS_COLUMNS = ["sensor", "state", "last_seq", "last_interval_end", "lag_s", "intervals", "heartbeats", "packets",
                  "dropped", "gaps", "clock_ahead_s", "coverage"]


@sensors.command("status")
@store_option
@click.option("--hours", type=click.FloatRange(0.1), default=24.0, show_default=True,
              help="The window the counts and gaps are over.")
@click.option("--at", "at", metavar="ISO-TIME", callback=lambda _c, _p, v: _utc(v),
              help="Judge as of this time (e.g. 2026-10-01T00:01:00Z; UTC unless it names an offset) instead"
              " of now: the lag, the window and the coverage's days are measured back from it (for a replay"
              " such as the demo's; what arrived after it is not set aside).")
@format_options
@user_errors
def sensors_status(store: Path, hours: float, at: datetime | None, fmt: str) -> None:
    """The health of each sensor that ships to this store's collector: last interval, lag,
    gaps, packets and drops over the window, clock, coverage (distinct sources per address
    against its peers'), and a state (ok, late, silent, gap, dropping, skewed, coverage,
    revoked). The exit status is 1 when any sensor is not ok (for cron and monitoring)."""
    found = sensor_states(store, hours=hours, at=at)
    if fmt == "json":
        click.echo(json.dumps({"sensors": [h.to_json() for h in found]}, ensure_ascii=False))
    elif fmt == "csv":
        emit_rows(_status_rows(found), fmt, STATUS_COLUMNS)
    else:
        from teiten.report.console import output_console

        output_console().print(status_table(found))
    sys.exit(0 if all(h.state == "ok" for h in found) else 1)


def _utc(text: str | None) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (UTC when it names no offset)."""
    from datetime import UTC

    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"an ISO 8601 time such as 2026-10-01T00:00:00Z, not {text!r}") from None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)


def sensor_states(store: Path, *, hours: float = 24.0, at: datetime | None = None) -> list[SensorHealth]:
    """Each sensor's health as of ``at`` (default now) over the ``hours`` before it, with its
    coverage judged from the store (state ``coverage`` for an ``ok`` sensor far below its peers)."""
    from datetime import UTC, timedelta

    from teiten.ingest.health import sensor_health

    now = at or datetime.now(UTC)
    found = sensor_health(store, now=now, window=timedelta(hours=hours))
    low = _low_coverage(store, hours, now)
    for h in found:
        h.coverage = low.get(h.sensor)
        if h.state == "ok" and h.coverage is not None and h.coverage["low"]:
            h.state = "coverage"
    return found


def _status_rows(found: list[SensorHealth]) -> list[dict[str, Any]]:
    """The health as rows of text-ready cells: gaps as ``SEQ(-MISSING)``, coverage as
    ``SOURCES_PER_ADDRESS/PEERS_MEDIAN``."""
    rows = [h.to_json() for h in found]
    for r in rows:
        r["gaps"] = ",".join(f"{g['seq']}(-{g['missing']})" for g in r["gaps"])
        c = r["coverage"]
        r["coverage"] = "" if c is None else f"{c['sources_per_address']:.2f}/{c['peers_median'] or 0:.2f}"
    return rows


def status_table(found: list[SensorHealth]) -> Table:
    """The table ``teiten sensors status`` prints: a row per sensor (seconds to a tenth)."""
    from rich.table import Table

    t = Table(*STATUS_COLUMNS)
    for r in _status_rows(found):
        t.add_row(*["" if r[c] is None else f"{r[c]:.1f}" if isinstance(r[c], float) else str(r[c])
                    for c in STATUS_COLUMNS])
    return t


def _low_coverage(store: Path, hours: float, now: datetime) -> dict[str, dict[str, Any]]:
    """Each sensor's coverage on the last day with packets of the window (sources per address
    against its peers': teiten.analyze.coverage); nothing when the store holds no packets."""
    from datetime import timedelta

    from teiten.analyze.coverage import coverage
    from teiten.engine import open_observation
    from teiten.errors import StoreError
    from teiten.periods import period_between

    try:
        obs = open_observation(store)
    except StoreError:
        return {}
    rows = coverage(obs, period_between((now - timedelta(hours=hours)).date(), now.date()))
    return {r["sensor"]: r for r in rows}  # the last day of each sensor (rows are by day)


@click.group()
def geo() -> None:
    """GeoIP and AS data used to enrich sources."""


@geo.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@store_option
@user_errors
def geo_import(file: Path, store: Path) -> None:
    """Use a MaxMind/DB-IP .mmdb (country or ASN) for this store instead of the default."""
    from teiten.enrich import import_mmdb

    store.mkdir(parents=True, exist_ok=True)
    src = import_mmdb(file, store / "geo")
    click.echo(f"imported {src.name} ({src.date}): {src.detail}; later ingests into {store} use it")


@geo.command("info")
@store_option
@click.option("--json", "as_json", is_flag=True)
@user_errors
def geo_info(store: Path, as_json: bool) -> None:
    """Show the GeoIP/AS data sources and their dates."""
    from dataclasses import asdict

    from teiten.enrich import load_geo

    srcs = [asdict(s) for s in load_geo(store if store.exists() else None).sources]
    if as_json:
        click.echo(json.dumps(srcs, ensure_ascii=False))
    else:
        for s in srcs:
            click.echo(f"{s['name']} ({s['date']}): {s['detail']}")


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [ingest, sql, sensors, geo]
