"""``teiten top``, ``series``, ``shares`` and ``drill``: the analyses of a period, as tables, CSV or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from teiten.cli.options import (
    compare_option,
    emit_rows,
    engine_options,
    format_options,
    group_option,
    kind_option,
    period_options,
    resolve_period,
    store_option,
    tz_option,
    user_errors,
)

if TYPE_CHECKING:
    from teiten.engine.choice import EngineChoice

__all__ = ["COMMANDS"]


@click.command()
@click.argument("what", type=click.Choice(["ports", "regions"]))
@store_option
@engine_options
@period_options
@compare_option
@group_option
@kind_option
@click.option("--limit", type=int, help="The top N rows and every rise/fall row (table default: 10; JSON and"
              " CSV default: every row).")
@click.option("--all", "show_all", is_flag=True, help="Every key of either period.")
@click.option("--lang", type=click.Choice(["en", "ja"]), default="en", show_default=True,
              help="Language of the table (not of JSON/CSV).")
@tz_option
@format_options
@user_errors
def top(what: str, store: Path, period: str | None, first: str | None, last: str | None, compare: str,
        engine: EngineChoice,
        group: str | None, kind: str | None, limit: int | None, show_all: bool, lang: str, tz: str,
        fmt: str) -> None:
    """Rank destination port keys (445/TCP, 8/ICMP, ...) or source regions in a period.

    Counts are per day per sensor address (packets / Σ days × addresses active, from the
    sensor catalog; without one, the distinct destinations seen each day), with the rank
    in the compared period, the change (delta, change_pct; no ratio when the previous
    value is below 0.1 or the current one is 0) and the five largest rises and falls,
    as in NPA Table 3-1. JSON numbers are unrounded.
    """
    from teiten.analyze.rankings import ranking
    from teiten.report.tables import table_rows

    obs = engine.open(store).of_kind(kind)
    p = resolve_period(obs, period, first, last, tz)
    r = ranking(obs, what, p, compare=compare, group=group).with_shares()
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


def _keys(text: str | None) -> list[str] | None:
    return [k.strip() for k in text.split(",") if k.strip()] if text else None


@click.command()
@click.argument("what", type=click.Choice(["ports", "regions"]))
@store_option
@engine_options
@period_options
@click.option("--keys", metavar="K,K", help="Keys to follow (445/TCP,23/TCP or CN,JP). Default: the period's top.")
@click.option("--top", type=int, default=5, show_default=True, help="How many top keys, without --keys.")
@click.option("--hourly", "step", flag_value="hourly", help="Packets per hour (and the hour-of-day profile).")
@click.option("--monthly", "step", flag_value="monthly", help="Per month across all data (long-term graph).")
@click.option("--daily", "step", flag_value="daily", default=True, help="Per day with 7-day averages (default).")
@click.option("--total", is_flag=True, help="Add the key * (all packets) to daily series.")
@group_option
@kind_option
@tz_option
@format_options
@user_errors
def series(what: str, store: Path, period: str | None, first: str | None, last: str | None, keys: str | None,
           engine: EngineChoice,
           top: int, step: str, total: bool, group: str | None, kind: str | None, tz: str, fmt: str) -> None:
    """Time series of port keys or regions: per day per sensor address with 7-day averages
    (ma7: the day and the six before), per hour, or per month."""
    from teiten.analyze.series import daily, hourly, monthly, top_keys

    obs = engine.open(store).of_kind(kind)
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


@click.command()
@click.argument("what", type=click.Choice(["ports", "regions"]))
@store_option
@engine_options
@period_options
@click.option("--within", metavar="KEY", help="Shares within one region (--within JP) or port (--within 445/TCP).")
@click.option("--by", "by", is_flag=True, help="The mix of each top key of the other dimension (stacked bars).")
@click.option("--groups", type=int, default=5, show_default=True, help="With --by: how many top keys to split.")
@click.option("--top", type=int, default=10, show_default=True, help="Keys shown; the rest is 'other'.")
@group_option
@kind_option
@tz_option
@format_options
@user_errors
def shares(what: str, store: Path, period: str | None, first: str | None, last: str | None, within: str | None,
           engine: EngineChoice,
           by: bool, groups: int, top: int, group: str | None, kind: str | None, tz: str, fmt: str) -> None:
    """Shares of port keys or regions: of all packets, within one key of the other
    dimension, or (--by) for each top region's ports / each top port's regions."""
    from teiten.analyze.shares import mix, mix_by

    obs = engine.open(store).of_kind(kind)
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


@click.command()
@click.argument("key")
@store_option
@engine_options
@period_options
@click.option("--top", type=int, default=10, show_default=True, help="Rows of each ranking.")
@click.option("--section", type=click.Choice(DRILL_SECTIONS), help="With --csv or a table: only this part.")
@group_option
@kind_option
@tz_option
@format_options
@user_errors
def drill(key: str, store: Path, period: str | None, first: str | None, last: str | None, top: int,
          engine: EngineChoice, section: str | None, group: str | None, kind: str | None, tz: str, fmt: str) -> None:
    """Drill into one port key (1521/TCP) or region (CN): source regions or ports, source
    ports, packets and distinct sources per day, top source addresses, hour-of-day profile."""
    from teiten.analyze.drilldown import drill as drill_down
    from teiten.analyze.drilldown import key_of

    obs = engine.open(store).of_kind(kind)
    p = resolve_period(obs, period, first, last, tz)
    stored, dimension = key_of(key)
    doc = drill_down(obs, stored, p, dimension=dimension, top=top, group=group)
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


@click.command()
@click.argument("key", required=False)
@store_option
@engine_options
@period_options
@click.option("--top", type=int, default=5, show_default=True, help="First payloads shown per port key.")
@group_option
@kind_option
@tz_option
@format_options
@user_errors
def payloads(key: str | None, store: Path, period: str | None, first: str | None, last: str | None, top: int,
             engine: EngineChoice, group: str | None, kind: str | None, tz: str, fmt: str) -> None:
    """The first payload of each TCP flow, per port key (or KEY, e.g. 23/TCP): flows with a
    SYN, flows that sent a payload (a responder's handshakes), the median seconds from SYN
    to payload, and the most common first payloads by flows and distinct sources, as
    escaped text (bytes outside printable ASCII as \\xNN)."""
    from teiten.analyze.handshakes import first_payloads

    obs = engine.open(store).of_kind(kind)
    p = resolve_period(obs, period, first, last, tz)
    doc = first_payloads(obs, p, group, key, top)
    if fmt == "json":
        click.echo(json.dumps(doc, ensure_ascii=False, default=str))
        return
    rows = [{"key": r["key"], "flows": r["flows"], "with_payload": r["with_payload"],
             "median_wait_s": r["median_wait_s"], "payload_flows": x["flows"], "sources": x["sources"],
             "payload": x["text"]} for r in doc["rows"] for x in r["payloads"] or [{"flows": 0, "sources": 0,
                                                                                 "text": ""}]]
    emit_rows(rows, fmt, ["key", "flows", "with_payload", "median_wait_s", "payload_flows", "sources", "payload"])


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [top, series, shares, drill, payloads]
