"""``teiten detect`` and ``teiten signatures``: what is notable in a period."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

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
    rules_option,
    store_option,
    tz_option,
    user_errors,
)
from teiten.detect.thresholds import describe

if TYPE_CHECKING:
    from teiten.engine.choice import EngineChoice

__all__ = ["COMMANDS"]


@click.command(help=describe())
@store_option
@engine_options
@period_options
@group_option
@kind_option
@click.option("--top", type=int, default=5, show_default=True, help="Top sources, keys and regions per finding.")
@click.option("--json", "as_json", is_flag=True, help="Print {\"findings\": [...]} as JSON.")
@rules_option
@tz_option
@user_errors
def detect(store: Path, period: str | None, first: str | None, last: str | None, group: str | None,
           engine: EngineChoice, kind: str | None, top: int, as_json: bool, rules: Path | None, tz: str) -> None:
    """List what is notable in a period (the text is teiten.detect.thresholds.describe)."""
    from teiten.detect.finding import findings_document
    from teiten.detect.fingerprints import load_fingerprints
    from teiten.detect.run import detect as run_detect

    obs = engine.open(store).of_kind(kind)
    p = resolve_period(obs, period, first, last, tz)
    findings = run_detect(obs, p, group, top=top, rules=rules)
    if as_json:
        doc = findings_document(p, findings, load_fingerprints().version)
        click.echo(json.dumps(doc, ensure_ascii=False, default=str))
        return
    rows = [{"kind": f.kind, "title": f.title_en, "start": (f.start or "")[:16], "end": (f.end or "")[:16],
             "packets": f.evidence.get("packets", f.evidence.get("alerts")), "sources": f.sources,
             "score": f.score} for f in findings]
    emit_rows(rows, "table", ["kind", "title", "start", "end", "packets", "sources", "score"])


@click.command()
@store_option
@engine_options
@period_options
@click.option("--by", type=click.Choice(["class", "region"]), default="class", show_default=True,
              help="Alerts per class (Worm, Scan, UDP spam, DoS, DNS, Others: NPA Table 4-1) or per source region"
              " (Table 4-2).")
@compare_option
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
               engine: EngineChoice,
               rules: Path | None, rule_vars: tuple[str, ...], check: bool, group: str | None, tz: str,
               fmt: str) -> None:
    """Signature alerts per day per sensor address by class or source region, against the
    compared period, with each class's top signatures.

    Every load reports its outcome: the accepted rules and the skipped ones per reason (on
    stderr; with --json under "rules": {"accepted": N, "skipped": [{"sid", "reason"}, ...]})."""
    from teiten.detect.signatures import load_ruleset, parse_var, signature_ranking, variables

    overrides = dict(parse_var(v) for v in rule_vars)
    obs = engine.open(store) if not check or (store / "manifest.sqlite").exists() else None
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


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [detect, signatures]
