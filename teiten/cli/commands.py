"""The commands of ``teiten``: each parses its input and calls the library."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from teiten.cli.main import cli, emit_rows, format_options, store_option, tz_option, user_errors
from teiten.errors import SettingError, TeitenError

if TYPE_CHECKING:
    from teiten.engine.observation import Observation
    from teiten.periods import Period

F = TypeVar("F", bound=Callable[..., Any])


@cli.command()
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


@cli.command()
@click.argument("query")
@store_option
@format_options
@user_errors
def sql(query: str, store: Path, fmt: str) -> None:
    """Run SQL over the store.

    Views: packets (stored columns plus src_ip, dst_ip as text, key such as
    445/TCP, day), packets_raw (stored columns only), files (the manifest),
    sensors (the catalog). Example: teiten sql "SELECT key, count(*) FROM packets
    GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
    """
    import duckdb

    from teiten.engine.duckdb import connect_sql

    db = connect_sql(store)
    try:
        rel = db.execute(query)
    except duckdb.Error as e:
        raise click.ClickException(f"SQL error: {e}") from None
    if rel.description is None:
        return
    columns = [d[0] for d in rel.description]
    rows = [dict(zip(columns, r, strict=True)) for r in rel.fetchall()]
    for r in rows:
        for k, v in r.items():
            if isinstance(v, bytes | bytearray):
                r[k] = v.hex()
    emit_rows(rows, fmt, columns)


def group_option(f: F) -> F:
    return click.option("--sensor-group", "group", metavar="GROUP", help="Only the sensors of this group.")(f)


def rules_option(f: F) -> F:
    return click.option("--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help="A Snort/Suricata/Emerging Threats rule file instead of the shipped teiten.rules"
                        " (rules the store cannot answer are skipped with a reason; docs/detection.md).")(f)


def period_options(f: F) -> F:
    f = click.option("--to", "last", metavar="YYYY-MM-DD", help="Last day (inclusive) of a range.")(f)
    f = click.option("--from", "first", metavar="YYYY-MM-DD", help="First day (inclusive) of a range.")(f)
    return click.option("--period", "-p", metavar="PERIOD",
                        help="A month (2009-07) or a quarter (2017Q3). Default: --from/--to, else all data.")(f)


def resolve_period(obs: Observation, period: str | None, first: str | None, last: str | None, tz: str) -> Period:
    """--period, or --from/--to (an open end is the data's first or last day), or all the data."""
    from teiten.periods import parse_period, period_between
    from teiten.settings import zone

    if period is not None:
        if first or last:
            raise click.UsageError("give --period or --from/--to, not both")
        return parse_period(period, tz)
    if first and last:
        return period_between(first, last, tz)
    span = obs.data_span()
    if span is None:
        raise TeitenError("the store holds no packets yet (teiten ingest)")
    z = zone(tz)
    return period_between(first or span[0].astimezone(z).date(), last or span[1].astimezone(z).date(), tz)


@cli.command()
@click.argument("what", type=click.Choice(["ports", "regions"]))
@store_option
@period_options
@click.option("--compare", type=click.Choice(["previous", "year", "none"]), default="previous", show_default=True,
              help="Compare with the preceding period of the same kind, or the same period a year before.")
@click.option("--sensor-group", "group", metavar="GROUP", help="Only the sensors of this group (e.g. domestic).")
@click.option("--limit", type=int, help="The top N rows and every rise/fall row (table default: 10; JSON and"
              " CSV default: every row).")
@click.option("--all", "show_all", is_flag=True, help="Every key of either period.")
@click.option("--lang", type=click.Choice(["en", "ja"]), default="en", show_default=True,
              help="Language of the table (not of JSON/CSV).")
@tz_option
@format_options
@user_errors
def top(what: str, store: Path, period: str | None, first: str | None, last: str | None, compare: str,
        group: str | None, limit: int | None, show_all: bool, lang: str, tz: str, fmt: str) -> None:
    """Rank destination port keys (445/TCP, 8/ICMP, ...) or source regions in a period.

    Counts are per day per sensor address (packets / Σ days × addresses active, from the
    sensor catalog; without one, the distinct destinations seen each day), with the rank
    in the compared period, the change (delta, change_pct; no ratio when the previous
    value is below 0.1 or the current one is 0) and the five largest rises and falls,
    as in NPA Table 3-1. JSON numbers are unrounded.
    """
    from teiten.analyze.rankings import ranking
    from teiten.engine import open_observation
    from teiten.report.tables import table_rows

    obs = open_observation(store)
    p = resolve_period(obs, period, first, last, tz)
    r = ranking(obs, what, p, compare=compare, group=group)
    total = r.total["packets"] or 0
    for row in r.rows:
        row["share"] = row["packets"] / total if total else None
    rows: list[dict[str, Any]] = r.rows
    if not show_all and (limit is not None or fmt == "table"):
        rows = [x for x in table_rows(r.rows, limit if limit is not None else 10) if x is not None]
    if fmt == "json":
        click.echo(json.dumps({**r.to_json(), "rows": rows}, ensure_ascii=False, default=str))
    elif fmt == "csv":
        names = ["name_ja", "name_en"] if what == "regions" else ["label"]
        emit_rows(rows, "csv", ["key", *names, "rank", "prev_rank", "packets", "prev_packets", "per_ip_day",
                                "prev_per_ip_day", "delta", "change_pct", "rise_rank", "fall_rank", "share"])
    else:
        from teiten.report.console import print_ranking

        print_ranking(r, limit if limit is not None else 10, lang, show_all)


@cli.group()
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


@cli.group()
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


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-out"), show_default=True,
              help="Folder for the captures and the store.")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Size of the scenario (1.0 ≈ millions"
              " of packets).")
@click.option("--seed", type=int, default=0, show_default=True)
@user_errors
def demo(out: Path, scale: float, seed: int) -> None:
    """Generate a synthetic darknet scenario, ingest it, and print the top ports and regions."""
    from teiten.cli.demo import run_demo

    run_demo(out, scale=scale, seed=seed)


def _keys(text: str | None) -> list[str] | None:
    return [k.strip() for k in text.split(",") if k.strip()] if text else None


@cli.command()
@click.argument("what", type=click.Choice(["ports", "regions"]))
@store_option
@period_options
@click.option("--keys", metavar="K,K", help="Keys to follow (445/TCP,23/TCP or CN,JP). Default: the period's top.")
@click.option("--top", type=int, default=5, show_default=True, help="How many top keys, without --keys.")
@click.option("--hourly", "step", flag_value="hourly", help="Packets per hour (and the hour-of-day profile).")
@click.option("--monthly", "step", flag_value="monthly", help="Per month across all data (long-term graph).")
@click.option("--daily", "step", flag_value="daily", default=True, help="Per day with 7-day averages (default).")
@click.option("--total", is_flag=True, help="Add the key * (all packets) to daily series.")
@group_option
@tz_option
@format_options
@user_errors
def series(what: str, store: Path, period: str | None, first: str | None, last: str | None, keys: str | None,
           top: int, step: str, total: bool, group: str | None, tz: str, fmt: str) -> None:
    """Time series of port keys or regions: per day per sensor address with 7-day averages
    (ma7: the day and the six before), per hour, or per month."""
    from teiten.analyze.series import daily, hourly, monthly, top_keys
    from teiten.engine import open_observation

    obs = open_observation(store)
    p = resolve_period(obs, period, first, last, tz)
    if step == "monthly":
        doc = monthly(obs, what, _keys(keys) or top_keys(obs, what, p, top, group), tz=tz, group=group)
        cols = ["month", "key", "packets", "address_days", "per_ip_day"]
    else:
        if step == "hourly":
            doc = hourly(obs, what, p, _keys(keys), top=top, group=group)
            cols = ["day", "hour", "key", "packets"]
        else:
            doc = daily(obs, what, p, _keys(keys), top=top, group=group, total=total)
            cols = ["day", "key", "packets", "addresses", "per_ip_day", "ma7"]
    if fmt == "json":
        click.echo(json.dumps(doc, ensure_ascii=False, default=str))
    else:
        emit_rows(doc["rows"], fmt, cols)


@cli.command()
@click.argument("what", type=click.Choice(["ports", "regions"]))
@store_option
@period_options
@click.option("--within", metavar="KEY", help="Shares within one region (--within JP) or port (--within 445/TCP).")
@click.option("--by", "by", is_flag=True, help="The mix of each top key of the other dimension (stacked bars).")
@click.option("--groups", type=int, default=5, show_default=True, help="With --by: how many top keys to split.")
@click.option("--top", type=int, default=10, show_default=True, help="Keys shown; the rest is 'other'.")
@group_option
@tz_option
@format_options
@user_errors
def shares(what: str, store: Path, period: str | None, first: str | None, last: str | None, within: str | None,
           by: bool, groups: int, top: int, group: str | None, tz: str, fmt: str) -> None:
    """Shares of port keys or regions: of all packets, within one key of the other
    dimension, or (--by) for each top region's ports / each top port's regions."""
    from teiten.analyze.shares import mix, mix_by
    from teiten.engine import open_observation

    obs = open_observation(store)
    p = resolve_period(obs, period, first, last, tz)
    if by:
        doc = mix_by(obs, what, p, groups=groups, top=top, group=group)
        rows = [{doc["by"][:-1]: g["key"], "key": r["key"], "packets": r["packets"], "share": r["share"]}
                for g in doc["groups"] for r in g["rows"]]
        cols = [doc["by"][:-1], "key", "packets", "share"]
    else:
        doc = mix(obs, what, p, within=within, top=top, group=group)
        rows, cols = doc["rows"], ["key", "packets", "share"]
    if fmt == "json":
        click.echo(json.dumps(doc, ensure_ascii=False, default=str))
    else:
        emit_rows(rows, fmt, cols)


DRILL_SECTIONS = ("regions", "ports", "source_ports", "per_day", "top_sources")


@cli.command()
@click.argument("key")
@store_option
@period_options
@click.option("--top", type=int, default=10, show_default=True, help="Rows of each ranking.")
@click.option("--section", type=click.Choice(DRILL_SECTIONS), help="With --csv or a table: only this part.")
@group_option
@tz_option
@format_options
@user_errors
def drill(key: str, store: Path, period: str | None, first: str | None, last: str | None, top: int,
          section: str | None, group: str | None, tz: str, fmt: str) -> None:
    """Drill into one port key (1521/TCP) or region (CN): source regions or ports, source
    ports, packets and distinct sources per day, top source addresses, hour-of-day profile."""
    from teiten.analyze.drilldown import drill as drill_down
    from teiten.engine import open_observation

    obs = open_observation(store)
    p = resolve_period(obs, period, first, last, tz)
    dimension = "ports" if "/" in key or key == "FRAG" else "regions"
    doc = drill_down(obs, key if dimension == "ports" else key.upper(), p, dimension=dimension, top=top,
                     group=group)
    if fmt == "json":
        click.echo(json.dumps(doc, ensure_ascii=False, default=str))
        return
    parts = [s for s in DRILL_SECTIONS if s in doc and (section is None or s == section)]
    if fmt == "csv":
        name = parts[0] if section else "top_sources"
        emit_rows(doc[name], "csv", list(doc[name][0]) if doc[name] else ["key"])
        return
    click.echo(f"{key} in {p.label}: {doc['packets']:,} packets from {doc['sources']:,} sources")
    for s in parts:
        if doc[s]:
            click.echo(f"\n{s.replace('_', ' ')}")
            emit_rows(doc[s], "table", list(doc[s][0]))
    if section is None:
        click.echo("\nhour of day (local): " + " ".join(f"{h}:{n}" for h, n in enumerate(doc["hour_of_day"])))


@cli.command()
@store_option
@period_options
@click.option("--style", type=click.Choice(["tsubame", "npa"]), default="npa", show_default=True,
              help="tsubame: quarterly top-5 report; npa: monthly report with the comparison tables, shares and"
              " the aggregation notes.")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, metavar="FILE.html|FILE.pdf",
              help="The report; its tables are also written as CSV to FILE_tables/.")
@click.option("--sensor-group", "group", metavar="GROUP", help="Only the sensors of this group (e.g. domestic).")
@click.option("--top", type=int, default=5, show_default=True, help="Rows of the top tables and lines of the charts.")
@click.option("--findings", "findings_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The output of `teiten detect --json` for the same period, for the notable phenomena (without"
              " it the detectors run here).")
@rules_option
@tz_option
@user_errors
def report(store: Path, period: str | None, first: str | None, last: str | None, style: str, lang: str, out: Path,
           group: str | None, top: int, findings_file: Path | None, rules: Path | None, tz: str) -> None:
    """Write an observation report for a period, in Japanese or English, as HTML (self-contained,
    works offline) or PDF, with every table also as CSV. Its notable phenomena are written from
    the findings of the detectors (see teiten detect); the npa style also has the signature
    alerts by class and by source region (NPA Tables 4-1 and 4-2)."""
    from teiten.engine import open_observation
    from teiten.report.build import write_report

    p = resolve_period(open_observation(store), period, first, last, tz)
    findings = None
    if findings_file is not None:
        try:
            doc = json.loads(findings_file.read_text("utf-8"))
            findings = list(doc["findings"])
        except (ValueError, KeyError, TypeError):
            raise SettingError(f"{findings_file}: not the JSON of teiten detect --json") from None
        if doc.get("period", {}).get("label") not in (None, p.label):
            raise SettingError(f"{findings_file}: findings of {doc['period'].get('label')}, not of {p.label}")
    paths = write_report(store, out, p, style=style, lang=lang, group=group, top=top, findings=findings, rules=rules)
    click.echo(f"{paths[0]} ({p.label}, {style}, {lang}); tables: {paths[0].with_name(paths[0].stem + '_tables')}/")


@cli.command()
@store_option
@period_options
@group_option
@click.option("--top", type=int, default=5, show_default=True, help="Top sources, keys and regions per finding.")
@click.option("--json", "as_json", is_flag=True, help="Print {\"findings\": [...]} as JSON.")
@rules_option
@tz_option
@user_errors
def detect(store: Path, period: str | None, first: str | None, last: str | None, group: str | None, top: int,
           as_json: bool, rules: Path | None, tz: str) -> None:
    """List what is notable in a period. Now: packets of known tools and malware by their
    fingerprints (Mirai, legacy ZMap, Masscan, Nmap SYN, Unicornscan; the table is
    teiten/detect/rules/fingerprints.toml), each with a score (1 - matches expected by chance /
    matches), its sources, ports, regions and daily counts; and DoS attacks on victims whose
    backscatter reached the sensors (corsaro RS-DoS rules: 300 s timeout, >= 25 packets,
    >= 60 s, >= 30 packets in a minute), with type, peak rate and estimated intensity; and
    scanners: IPv4 or IPv6 sources reaching a tenth of the monitored addresses (at least 10)
    on one port key with no gap over an hour; surges and drops of the daily packets of a port key or
    region against the 28 days before (robust z >= 6, >= 100 packets), keys new in the top 20,
    and keys that climbed 10 places into the top 20; tool names in User-Agent/Server headers
    of first payloads (SIP scanners), sent by at least 3 sources; signature alerts (the rules
    of teiten/detect/rules/teiten.rules or --rules); one source address (50 %),
    source port (80 %) or country (80 % and twice its overall share) dominating one of the 100
    busiest keys; and a 24-hour rhythm in the hourly packets of a busy region, key or key
    from one region that recurs in most weeks."""
    from teiten.detect.fingerprints import load_fingerprints
    from teiten.detect.run import detect as run_detect
    from teiten.engine import open_observation

    obs = open_observation(store)
    p = resolve_period(obs, period, first, last, tz)
    table = load_fingerprints()
    findings = run_detect(obs, p, group, top=top, rules=rules)
    if as_json:
        click.echo(json.dumps({"period": p.to_json(), "fingerprints_version": table.version, "findings": findings},
                              ensure_ascii=False, default=str))
        return
    rows = [{"kind": f["kind"], "title": f["title_en"], "start": (f["start"] or "")[:16], "end": (f["end"] or "")[:16],
             "packets": f["evidence"].get("packets", f["evidence"].get("alerts")), "sources": f["sources"],
             "score": f["score"]} for f in findings]
    emit_rows(rows, "table", ["kind", "title", "start", "end", "packets", "sources", "score"])


@cli.command()
@store_option
@period_options
@click.option("--by", type=click.Choice(["class", "region"]), default="class", show_default=True,
              help="Alerts per class (Worm, Scan, UDP spam, DoS, DNS, Others: NPA Table 4-1) or per source region"
              " (Table 4-2).")
@click.option("--compare", type=click.Choice(["previous", "year", "none"]), default="previous", show_default=True)
@rules_option
@click.option("--var", "rule_vars", multiple=True, metavar="NAME=VALUE",
              help="Set a rule variable, e.g. --var 'HOME_NET=[192.0.2.0/24]' (default HOME_NET: the sensor"
              " catalog's addresses, else any; EXTERNAL_NET: any). Repeatable.")
@click.option("--check", is_flag=True, help="Only load the rules and report accepted and skipped rules.")
@group_option
@tz_option
@format_options
@user_errors
def signatures(store: Path, period: str | None, first: str | None, last: str | None, by: str, compare: str,
               rules: Path | None, rule_vars: tuple[str, ...], check: bool, group: str | None, tz: str,
               fmt: str) -> None:
    """Signature alerts per day per sensor address by class or source region, against the
    compared period, with each class's top signatures.

    Every load reports its outcome: the accepted rules and the skipped ones per reason (on
    stderr; with --json under "rules": {"accepted": N, "skipped": [{"sid", "reason"}, ...]})."""
    from teiten.detect.rule_vars import parse_var, variables
    from teiten.detect.rules_compile import load_ruleset
    from teiten.detect.signatures import signature_ranking
    from teiten.engine import open_observation

    overrides = dict(parse_var(v) for v in rule_vars)
    obs = open_observation(store) if not check or (store / "manifest.sqlite").exists() else None
    home = [a for s in obs.sensors for a in s.addresses] if obs is not None else []
    loaded = load_ruleset(rules, variables(home), overrides)
    if check:
        if fmt == "json":
            click.echo(json.dumps(loaded.report(), ensure_ascii=False))
        else:
            click.echo(loaded.summary())
        return
    assert obs is not None
    p = resolve_period(obs, period, first, last, tz)
    doc = signature_ranking(obs, p, loaded.rules, by=by, group=group, compare=compare)
    if fmt == "json":
        click.echo(json.dumps({**doc, "rules": loaded.report()}, ensure_ascii=False, default=str))
        return
    click.echo(loaded.summary(), err=True)
    cols = ["key", "rank", "prev_rank", "packets", "per_ip_day", "prev_per_ip_day", "delta", "change_pct",
            "rise_rank", "fall_rank"]
    emit_rows(doc["rows"], fmt, cols)
