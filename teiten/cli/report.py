"""``teiten report``: the observation report of a period."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from teiten.cli.options import (
    engine_options,
    group_option,
    kind_option,
    period_options,
    resolve_period,
    rules_option,
    store_option,
    tz_option,
    user_errors,
)

if TYPE_CHECKING:
    from teiten.engine.choice import EngineChoice

__all__ = ["COMMANDS"]


@click.command()
@store_option
@engine_options
@period_options
@click.option("--style", type=click.Choice(["tsubame", "npa"]), default="npa", show_default=True,
              help="tsubame: quarterly top-5 report; npa: monthly report with the comparison tables, shares and"
              " the aggregation notes.")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, metavar="FILE.html|FILE.pdf",
              help="The report; its tables are also written as CSV to FILE_tables/.")
@group_option
@kind_option
@click.option("--top", type=int, default=5, show_default=True, help="Rows of the top tables and lines of the charts.")
@click.option("--findings", "findings_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The output of `teiten detect --json` for the same period, for the notable phenomena (without"
              " it the detectors run here).")
@rules_option
@tz_option
@user_errors
def report(store: Path, period: str | None, first: str | None, last: str | None, style: str, lang: str, out: Path,
           engine: EngineChoice,
           group: str | None, kind: str | None, top: int, findings_file: Path | None, rules: Path | None,
           tz: str) -> None:
    """Write an observation report for a period, in Japanese or English, as HTML (self-contained,
    works offline) or PDF, with every table also as CSV. Its notable phenomena are written from
    the findings of the detectors (see teiten detect); the npa style also has the signature
    alerts by class and by source region (NPA Tables 4-1 and 4-2)."""
    from teiten.detect.finding import read_findings
    from teiten.report.build import write_report

    obs = engine.open(store).of_kind(kind)
    p = resolve_period(obs, period, first, last, tz)
    findings = None if findings_file is None else read_findings(findings_file, p)
    paths = write_report(obs, out, p, style=style, lang=lang, group=group, top=top, findings=findings, rules=rules)
    click.echo(f"{paths[0]} ({p.label}, {style}, {lang}); tables: {paths[0].with_name(paths[0].stem + '_tables')}/")


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [report]
